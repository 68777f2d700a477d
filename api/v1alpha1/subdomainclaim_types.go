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

// ClaimType is what a claim makes exclusive.
// +kubebuilder:validation:Enum=FQDN;Address
type ClaimType string

const (
	ClaimTypeFQDN    ClaimType = "FQDN"
	ClaimTypeAddress ClaimType = "Address"
)

// SubdomainClaimSpec says who holds a name or an address. It never changes.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a claim never changes hands: delete it to release the name or address"
type SubdomainClaimSpec struct {
	// Type is FQDN or Address.
	// +required
	Type ClaimType `json:"type"`
	// Value is the FQDN or the address.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Value string `json:"value"`
	// Zone is the SubdomainZone the value belongs to.
	// +required
	Zone string `json:"zone"`
	// Request is the name of the SubdomainRequest that holds it; empty for the claim
	// of a zone's sharedAddress, which the zones pointing at it hold (as its owners)
	// so that no addressPool gives it to a request.
	// +required
	Request string `json:"request"`
}

// SubdomainClaim makes one FQDN or one address exclusive to one request. It is named
// after what it claims (the FQDN itself, or ip-<address with '.' and ':' as '-'>) and
// created with a plain create, so the API server lets exactly one request win.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=subdomain
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Value",type=string,JSONPath=`.spec.value`
// +kubebuilder:printcolumn:name="Request",type=string,JSONPath=`.spec.request`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:selectablefield:JSONPath=`.spec.request`
type SubdomainClaim struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec SubdomainClaimSpec `json:"spec"`
}

// SubdomainClaimList contains a list of SubdomainClaim.
// +kubebuilder:object:root=true
type SubdomainClaimList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SubdomainClaim `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SubdomainClaim{}, &SubdomainClaimList{})
}
