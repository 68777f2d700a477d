/*
Copyright 2026 The subdomain-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SubdomainRequestSpec is one OPD's request for a subdomain of a zone.
type SubdomainRequestSpec struct {
	// Zone is the name of the SubdomainZone.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')",message="zone must be the name of a SubdomainZone (lowercase a-z, 0-9, '-', '.')"
	Zone string `json:"zone"`

	// Subdomain is the DNS label wanted under the zone's domain, e.g. dinkes.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self == self.lowerAscii()",message="subdomain must be lowercase"
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9-]*$')",message="subdomain may contain only a-z, 0-9 and '-'; write an internationalized name as punycode (xn--...)"
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('-') && !self.endsWith('-')",message="subdomain must not start or end with a hyphen"
	Subdomain string `json:"subdomain"`

	// OPD is the requesting agency.
	// +required
	OPD OPD `json:"opd"`

	// Letter is the request letter (surat permohonan).
	// +optional
	Letter Letter `json:"letter,omitempty"`

	// Hosting says where the OPD's site runs.
	// +optional
	// +kubebuilder:default={}
	Hosting RequestHosting `json:"hosting,omitempty"`

	// DeletionPolicy says what deleting the request does: Delete removes the site,
	// records and claims; Retain leaves them in place.
	// +optional
	// +kubebuilder:default=Delete
	// +kubebuilder:validation:Enum=Delete;Retain
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// DeletionPolicy is Delete or Retain.
type DeletionPolicy string

const (
	DeletionPolicyDelete DeletionPolicy = "Delete"
	DeletionPolicyRetain DeletionPolicy = "Retain"
)

// OPD is the requesting agency (Organisasi Perangkat Daerah).
type OPD struct {
	// Name is the agency's full name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="!self.matches('\\\\p{Cc}')",message="opd.name may not contain control characters (line breaks, tabs, escape sequences): it is printed in change reports"
	Name string `json:"name"`

	// Code is the agency's short code, a DNS label; the default hosting namespace is opd-<code>.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=59
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="opd.code must be a lowercase RFC 1123 label (a-z, 0-9, '-', no leading or trailing hyphen)"
	Code string `json:"code"`

	// AdminGroup gets ClusterRole admin in the hosting namespace: the OPD's own group,
	// never a system: group (system:authenticated would hand the site and its
	// credentials to every user of the cluster).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('system:')",message="opd.adminGroup may not be a system: group (system:authenticated, system:serviceaccounts, ...): name the OPD's own group"
	// +kubebuilder:validation:XValidation:rule="!self.matches('\\\\p{Cc}')",message="opd.adminGroup may not contain control characters (line breaks, tabs, escape sequences): it is printed in change reports"
	AdminGroup string `json:"adminGroup"`

	// Contact is who the office talks to at the OPD.
	// +optional
	Contact Contact `json:"contact,omitempty"`
}

// Contact is a person at the OPD.
type Contact struct {
	// +optional
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="!self.matches('\\\\p{Cc}')",message="contact.name may not contain control characters (line breaks, tabs, escape sequences): it is printed in change reports"
	Name string `json:"name,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || self.matches('^[^@\\\\s]+@[^@\\\\s]+$')",message="contact.email must look like name@example.go.id"
	// +kubebuilder:validation:XValidation:rule="!self.matches('\\\\p{Cc}')",message="contact.email may not contain control characters (line breaks, tabs, escape sequences): it is printed in change reports"
	Email string `json:"email,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="!self.matches('\\\\p{Cc}')",message="contact.phone may not contain control characters (line breaks, tabs, escape sequences): it is printed in change reports"
	Phone string `json:"phone,omitempty"`
}

// Letter is the OPD's request letter.
type Letter struct {
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="!self.matches('\\\\p{Cc}')",message="letter.number may not contain control characters (line breaks, tabs, escape sequences): it is printed in change reports"
	Number string `json:"number,omitempty"`
	// Date is YYYY-MM-DD.
	// +optional
	// +kubebuilder:validation:MaxLength=10
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`
	// +kubebuilder:validation:XValidation:rule="(oldSelf.hasValue() && oldSelf.value() == self) || (timestamp(self + 'T00:00:00Z').getFullYear() > 0)",message="letter.date must be a date of the calendar (YYYY-MM-DD), e.g. 2026-11-20",optionalOldSelf=true
	Date string `json:"date,omitempty"`
}

// RequestHosting says where the OPD's site runs.
type RequestHosting struct {
	// Namespace is the hosting namespace; default opd-<opd.code>.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="hosting.namespace must be a lowercase RFC 1123 label"
	// +kubebuilder:validation:XValidation:rule="!(self in ['default', 'subdomain-system']) && !self.startsWith('kube-')",message="hosting.namespace may not be default, subdomain-system or a kube-* namespace"
	Namespace string `json:"namespace,omitempty"`

	// Service is the OPD app behind the Ingress.
	// +optional
	// +kubebuilder:default={name: web, port: 80}
	Service ServiceRef `json:"service,omitempty"`
}

// ServiceRef names a Service port in the hosting namespace.
type ServiceRef struct {
	// +optional
	// +kubebuilder:default=web
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name,omitempty"`
	// +optional
	// +kubebuilder:default=80
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
}

// Approval is the approval on record.
type Approval struct {
	// Name is the label that was approved.
	Name string `json:"name"`
	// ApprovedBy is the approver's username, from the approved-by annotation.
	// +optional
	ApprovedBy string `json:"approvedBy,omitempty"`
	// ApprovedAt is when the operator first saw this approval.
	// +optional
	ApprovedAt *metav1.Time `json:"approvedAt,omitempty"`
}

// PreviousName is a name the request served before a rename.
type PreviousName struct {
	FQDN string `json:"fqdn"`
	// RetiredAt is when the rename took effect.
	RetiredAt metav1.Time `json:"retiredAt"`
	// ExpiresAt is when the old name stops resolving and serving.
	ExpiresAt metav1.Time `json:"expiresAt"`
	// Released is true once the old name's record, host and claim are gone.
	// +optional
	Released bool `json:"released,omitempty"`
}

// SecretReference names the credentials Secret.
type SecretReference struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// SubdomainRequestStatus is the observed state of a request.
type SubdomainRequestStatus struct {
	// Phase summarises the conditions.
	// +optional
	Phase Phase `json:"phase,omitempty"`
	// FQDN is the name being served.
	// +optional
	FQDN string `json:"fqdn,omitempty"`
	// Address is the assigned address.
	// +optional
	Address string `json:"address,omitempty"`
	// Namespace is the hosting namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// CredentialsSecret names the credentials Secret (never its data).
	// +optional
	CredentialsSecret *SecretReference `json:"credentialsSecret,omitempty"`
	// DeletionPolicy is the policy a deletion is carried out with, set when a Delete
	// deletion begins to take the site down: switching spec.deletionPolicy to Retain
	// after that changes nothing.
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
	// CredentialsRotation is the value of the rotate-credentials annotation that the
	// current password was made for: each value rotates the password once, whatever
	// becomes of the Secret's own copy of it (annotation rotated-for), which an OPD
	// admin may edit.
	// +optional
	CredentialsRotation string `json:"credentialsRotation,omitempty"`
	// Approval is the approval on record.
	// +optional
	Approval *Approval `json:"approval,omitempty"`
	// RequestedAt is when the request was created.
	// +optional
	RequestedAt *metav1.Time `json:"requestedAt,omitempty"`
	// ApprovedAt is when a valid approval was first seen; until the request first
	// becomes Ready, when the latest was (an approval given again, or of another name,
	// is the one provisioning answers to).
	// +optional
	ApprovedAt *metav1.Time `json:"approvedAt,omitempty"`
	// ReadyAt is when the request first became Ready (as ApprovedAt is the first
	// approval); each later name's time is in the zone's ledger.
	// +optional
	ReadyAt *metav1.Time `json:"readyAt,omitempty"`
	// PreviousNames is the rename history.
	// +optional
	// +listType=atomic
	PreviousNames []PreviousName `json:"previousNames,omitempty"`
	// ObservedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Approved, NameAvailable, AddressAssigned, HostingReady, IngressReady,
	// DNSReady, CredentialsReady, Ready, and kstatus' Reconciling and Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// SubdomainRequest is one OPD's subdomain: approved, it becomes a hosting namespace,
// an Ingress, DNS records and a credentials Secret.
// Its name is a label value on every child and names its Service sdr-<name>, hence a
// lowercase RFC 1123 label of at most 59 characters. The zone is fixed once a name is
// claimed in it, and the hosting namespace once it is created: moving a site is a new
// request.
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (size(self.metadata.name) <= 59 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'))",message="metadata.name must be a lowercase RFC 1123 label (a-z, 0-9, '-') of at most 59 characters: it is a label value on every child and names the Service sdr-<name>",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.fqdn) || self.spec.zone == oldSelf.spec.zone",message="spec.zone cannot change once a name is claimed in it (status.fqdn): to move the site to another zone, create a new request"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.__namespace__) || (has(self.spec.hosting) && has(self.spec.hosting.__namespace__) && size(self.spec.hosting.__namespace__) > 0 ? self.spec.hosting.__namespace__ : 'opd-' + self.spec.opd.code) == oldSelf.status.__namespace__",message="the hosting namespace (spec.hosting.namespace, default opd-<opd.code>) cannot change once it is created (status.namespace): the site, its Secret and password live there; to move the site, create a new request"
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=sdr,categories=subdomain
// +kubebuilder:printcolumn:name="OPD",type=string,JSONPath=`.spec.opd.code`
// +kubebuilder:printcolumn:name="FQDN",type=string,JSONPath=`.status.fqdn`
// +kubebuilder:printcolumn:name="Address",type=string,JSONPath=`.status.address`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SubdomainRequest struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec SubdomainRequestSpec `json:"spec"`
	// +optional
	Status SubdomainRequestStatus `json:"status,omitempty"`
}

// SubdomainRequestList contains a list of SubdomainRequest.
// +kubebuilder:object:root=true
type SubdomainRequestList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SubdomainRequest `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SubdomainRequest{}, &SubdomainRequestList{})
}
