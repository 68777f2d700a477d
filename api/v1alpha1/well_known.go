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

// Annotations, labels and names fixed by the API contract (docs/design.md).
const (
	// AnnotationApproved is set by an approver; its value must equal spec.subdomain.
	AnnotationApproved = "subdomain.kominfo.go.id/approved"
	// AnnotationRejected is set by an approver; its value is the reason.
	AnnotationRejected = "subdomain.kominfo.go.id/rejected"
	// AnnotationApprovedBy is stamped by the MutatingAdmissionPolicy with the approver's username.
	AnnotationApprovedBy = "subdomain.kominfo.go.id/approved-by"
	// AnnotationRotateCredentials: a new value makes a new password.
	AnnotationRotateCredentials = "subdomain.kominfo.go.id/rotate-credentials"

	// LabelRequest is carried by every child and claim: the owning request's name.
	LabelRequest = "subdomain.kominfo.go.id/request"
	// LabelZone is carried by claims and hosting namespaces: the zone's name.
	LabelZone = "subdomain.kominfo.go.id/zone"
	// AnnotationHostingFQDN is carried by a hosting namespace: the FQDN its Ingresses
	// may serve (an annotation, since an FQDN can be longer than a label value).
	AnnotationHostingFQDN = "subdomain.kominfo.go.id/fqdn"
	// LabelClaimType tells FQDN claims from address claims.
	LabelClaimType = "subdomain.kominfo.go.id/claim-type"
	// LabelRequestUID is carried by claims: the UID of the request that made them, so
	// that a later request of the same name (after one deleted with Retain) does not
	// take them for its own.
	LabelRequestUID = "subdomain.kominfo.go.id/request-uid"

	// AnnotationRotatedFor records, on the credentials Secret, which rotate-credentials
	// value the current password answers.
	AnnotationRotatedFor = "subdomain.kominfo.go.id/rotated-for"

	// AnnotationRetained marks, on a claim, that its request was deleted with Retain:
	// the claim stays until someone deletes it.
	AnnotationRetained = "subdomain.kominfo.go.id/retained"

	// LabelRetained is AnnotationRetained as a label, on a retained FQDN claim: the
	// admission policy subdomain-retained-hostnames selects those claims as its
	// params, which guard the name when no zone lists it any more.
	LabelRetained = "subdomain.kominfo.go.id/retained"

	// Finalizer holds a request until its children and claims are released or retained.
	Finalizer = "subdomain.kominfo.go.id/finalizer"
	// ZoneFinalizer holds a zone being deleted until no request names it: its sites
	// keep their upkeep, change window and records meanwhile.
	ZoneFinalizer = "subdomain.kominfo.go.id/zone-protection"

	// CredentialsSecretName is the credentials Secret in the hosting namespace.
	CredentialsSecretName = "subdomain-credentials"
	// HostingObjectName names the ResourceQuota, LimitRange and NetworkPolicy.
	HostingObjectName = "subdomain-hosting"
	// AdminRoleBindingName binds opd.adminGroup to ClusterRole admin.
	AdminRoleBindingName = "opd-admin"
	// LoadBalancerServicePrefix prefixes the per-request Service in the controller namespace.
	LoadBalancerServicePrefix = "sdr-"
	// HostingNamespacePrefix is the default hosting namespace prefix: opd-<opd.code>.
	HostingNamespacePrefix = "opd-"
)

// Credentials Secret keys.
const (
	SecretKeyFQDN      = "fqdn"
	SecretKeySubdomain = "subdomain"
	SecretKeyZone      = "zone"
	SecretKeyAddress   = "address"
	SecretKeyUsername  = "username"
	SecretKeyPassword  = "password"
	SecretKeyURL       = "url"
)

// Condition types of a SubdomainRequest.
const (
	ConditionApproved         = "Approved"
	ConditionNameAvailable    = "NameAvailable"
	ConditionAddressAssigned  = "AddressAssigned"
	ConditionHostingReady     = "HostingReady"
	ConditionIngressReady     = "IngressReady"
	ConditionDNSReady         = "DNSReady"
	ConditionCredentialsReady = "CredentialsReady"
	ConditionReady            = "Ready"
	// ConditionReconciling and ConditionStalled follow kstatus.
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
)

// Phase is the one-word summary of a request shown by kubectl get.
// +kubebuilder:validation:Enum=Pending;Approved;Provisioning;Scheduled;Ready;Rejected;Conflict;Failed;Terminating
type Phase string

const (
	PhasePending      Phase = "Pending"
	PhaseApproved     Phase = "Approved" // in the API; not reached (README: Phase Approved)
	PhaseProvisioning Phase = "Provisioning"
	PhaseScheduled    Phase = "Scheduled"
	PhaseReady        Phase = "Ready"
	PhaseRejected     Phase = "Rejected"
	PhaseConflict     Phase = "Conflict"
	PhaseFailed       Phase = "Failed"
	PhaseTerminating  Phase = "Terminating"
)
