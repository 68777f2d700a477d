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
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SubdomainZoneSpec describes one parent domain and how its subdomains are hosted.
// +kubebuilder:validation:XValidation:rule="(has(self.addressPool) && size(self.addressPool) > 0) != (has(self.sharedAddress) && size(self.sharedAddress) > 0)",message="set exactly one of addressPool (an address per request) or sharedAddress (every name points at one address)"
type SubdomainZoneSpec struct {
	// Domain is the parent domain, for example pontianak.go.id.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == self.lowerAscii()",message="domain must be lowercase"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="domain cannot change: the zone's names are claimed, served and recorded under it; make a new zone, and new requests in it"
	// +kubebuilder:validation:XValidation:rule="self.matches('^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\\\.)*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')",message="domain must be dot-separated RFC 1123 labels (a-z, 0-9, '-', no leading or trailing hyphen, at most 63 characters each; write internationalized names as punycode xn--...)"
	// +kubebuilder:validation:XValidation:rule="!self.matches('(^|[.])[0-9]+$')",message="domain's last label must not be all digits: a top-level domain never is, and names under it would read as IP addresses (an Ingress refuses them as hosts)"
	Domain string `json:"domain"`

	// AddressPool lists CIDRs; each request gets its own address from them.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=43
	// +kubebuilder:validation:items:XValidation:rule="isCIDR(self)",message="each addressPool entry must be a CIDR such as 10.20.0.0/24"
	// +kubebuilder:validation:items:XValidation:rule="!isCIDR(self) || cidr(self) == cidr(self).masked()",message="each addressPool entry must be a network address (host bits zero), such as 10.20.0.0/24"
	AddressPool []string `json:"addressPool,omitempty"`

	// SharedAddress, if set instead of AddressPool, is the one address every name points at.
	// +optional
	// +kubebuilder:validation:MaxLength=39
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || isIP(self)",message="sharedAddress must be an IP address such as 10.20.0.10"
	SharedAddress string `json:"sharedAddress,omitempty"`

	// Ingress says how sites are served.
	// +optional
	// +kubebuilder:default={}
	Ingress ZoneIngress `json:"ingress,omitempty"`

	// DNS says where DNS records are written for external-dns.
	// +optional
	// +kubebuilder:default={}
	DNS ZoneDNS `json:"dns,omitempty"`

	// ReservedNames are labels no request may take.
	// +optional
	// +listType=set
	// +kubebuilder:default={www,mail,ftp,ns1,ns2,api,admin,webmail,cpanel}
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.all(n, n.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'))",message="reservedNames must be lowercase DNS labels (a-z, 0-9, '-'), as spec.subdomain is: an entry in capitals would reserve nothing"
	ReservedNames []string `json:"reservedNames,omitempty"`

	// Hosting holds defaults for each hosting namespace.
	// +optional
	// +kubebuilder:default={}
	Hosting ZoneHosting `json:"hosting,omitempty"`

	// RenameGracePeriod is how long the old name keeps working after a rename.
	// +optional
	// +kubebuilder:default="720h"
	// +kubebuilder:validation:XValidation:rule="(oldSelf.hasValue() && oldSelf.value() == self) || (duration(self) >= duration('0s'))",message="renameGracePeriod must be a duration of zero or more, written as hours, minutes and seconds (720h, 90m, 1h30m; there is no unit for days)",optionalOldSelf=true
	RenameGracePeriod *metav1.Duration `json:"renameGracePeriod,omitempty"`

	// ChangeWindow, if set, holds renames and deletions until a window opens.
	// +optional
	ChangeWindow *ChangeWindow `json:"changeWindow,omitempty"`

	// ServiceLevel holds the SOP's time standards; breaches are reported.
	// +optional
	ServiceLevel ServiceLevel `json:"serviceLevel,omitempty"`
}

// ZoneIngress says how the zone's sites are served.
type ZoneIngress struct {
	// ClassName is the IngressClass of every request's Ingress.
	// +optional
	// +kubebuilder:default=nginx
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="ingress.className must name an IngressClass: a lowercase DNS subdomain such as nginx"
	ClassName string `json:"className,omitempty"`

	// ControllerNamespace is where the ingress controller runs; the hosting
	// NetworkPolicy admits traffic from it.
	// +optional
	// +kubebuilder:default=ingress-nginx
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	ControllerNamespace string `json:"controllerNamespace,omitempty"`

	// ControllerSelector, when set on a pool zone, selects the ingress controller's pods;
	// each assigned address is then announced by a LoadBalancer Service in front of them.
	// Keys and values follow the rules of a Service's selector (label keys and values).
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="self.all(k, !format.qualifiedName().validate(k).hasValue())",message="ingress.controllerSelector keys must be label keys, such as app.kubernetes.io/name"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !format.labelValue().validate(self[k]).hasValue())",message="ingress.controllerSelector values must be label values: at most 63 characters of a-z, A-Z, 0-9, '-', '_' and '.', starting and ending with a letter or digit"
	ControllerSelector map[string]LabelValue `json:"controllerSelector,omitempty"`

	// ClusterIssuer, when set, is the cert-manager ClusterIssuer for the Ingress's TLS.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="ingress.clusterIssuer must name a cert-manager ClusterIssuer: a lowercase DNS subdomain such as letsencrypt-prod"
	ClusterIssuer string `json:"clusterIssuer,omitempty"`
}

// LabelValue is a label's value, as a selector holds it (at most 63 characters: the
// bound keeps the selector's rule within the CRD's cost budget).
// +kubebuilder:validation:MaxLength=63
type LabelValue string

// Selector returns sel as a Service's selector.
func Selector(sel map[string]LabelValue) map[string]string {
	if sel == nil {
		return nil
	}
	out := make(map[string]string, len(sel))
	for k, v := range sel {
		out[k] = string(v)
	}
	return out
}

// ZoneDNS says where DNSEndpoint objects are written.
type ZoneDNS struct {
	// Namespace is where DNSEndpoint objects are written.
	// +optional
	// +kubebuilder:default=subdomain-system
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`

	// TTL of the records in seconds.
	// +optional
	// +kubebuilder:default=300
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=604800
	TTL int64 `json:"ttl,omitempty"`
}

// ZoneHosting holds defaults for each hosting namespace.
type ZoneHosting struct {
	// Quota is the ResourceQuota of each hosting namespace.
	// +optional
	// +kubebuilder:default={}
	Quota HostingQuota `json:"quota,omitempty"`
}

// HostingQuota is the ResourceQuota of a hosting namespace.
type HostingQuota struct {
	// +optional
	// +kubebuilder:default="2"
	// +kubebuilder:validation:XValidation:rule="type(self) == string ? isQuantity(self) && !quantity(self).isLessThan(quantity('0')) : self >= 0",message="hosting.quota.cpu must be a quantity of zero or more, such as 2 or 500m"
	CPU *resource.Quantity `json:"cpu,omitempty"`
	// +optional
	// +kubebuilder:default="4Gi"
	// +kubebuilder:validation:XValidation:rule="type(self) == string ? isQuantity(self) && !quantity(self).isLessThan(quantity('0')) : self >= 0",message="hosting.quota.memory must be a quantity of zero or more, such as 4Gi or 512Mi"
	Memory *resource.Quantity `json:"memory,omitempty"`
	// +optional
	// +kubebuilder:default="20Gi"
	// +kubebuilder:validation:XValidation:rule="type(self) == string ? isQuantity(self) && !quantity(self).isLessThan(quantity('0')) : self >= 0",message="hosting.quota.storage must be a quantity of zero or more, such as 20Gi"
	Storage *resource.Quantity `json:"storage,omitempty"`
	// +optional
	// +kubebuilder:default="20"
	// +kubebuilder:validation:XValidation:rule="type(self) == string ? isQuantity(self) && quantity(self).isInteger() && !quantity(self).isLessThan(quantity('0')) : self >= 0",message="hosting.quota.pods must be a whole number of zero or more, such as 20"
	Pods *resource.Quantity `json:"pods,omitempty"`
}

// ChangeWindow holds renames and deletions until one of its windows is open.
type ChangeWindow struct {
	// TimeZone is an IANA time zone such as Asia/Makassar.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self != 'Local'",message="changeWindow.timeZone must be an IANA time zone name such as Asia/Makassar: 'Local' would be the clock of whatever machine reads it"
	// +kubebuilder:validation:XValidation:rule="(oldSelf.hasValue() && oldSelf.value() == self) || (!self.contains(':') && timestamp('2026-01-01T00:00:00Z').getHours(self) >= 0)",message="changeWindow.timeZone must be an IANA time zone name such as Asia/Makassar (the API server's time zone database does not know it)",optionalOldSelf=true
	TimeZone string `json:"timeZone"`

	// Windows are the weekly opening hours.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Windows []Window `json:"windows"`
}

// Weekday is a three-letter English day name.
// +kubebuilder:validation:Enum=Mon;Tue;Wed;Thu;Fri;Sat;Sun
type Weekday string

// Window is one weekly opening: on each of Days, from Start to End local time.
// +kubebuilder:validation:XValidation:rule="self.end > self.start",message="window end must be after start (HH:MM, same day)"
type Window struct {
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=7
	Days []Weekday `json:"days"`
	// Start is HH:MM, 24-hour local time.
	// +required
	// +kubebuilder:validation:MaxLength=5
	// +kubebuilder:validation:Pattern=`^([01][0-9]|2[0-3]):[0-5][0-9]$`
	Start string `json:"start"`
	// End is HH:MM, 24-hour local time, after Start; 24:00 means midnight.
	// +required
	// +kubebuilder:validation:MaxLength=5
	// +kubebuilder:validation:Pattern=`^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$`
	End string `json:"end"`
}

// ServiceLevel holds the SOP's time standards.
type ServiceLevel struct {
	// Approval is the standard from request to approval.
	// +optional
	// +kubebuilder:validation:XValidation:rule="(oldSelf.hasValue() && oldSelf.value() == self) || (duration(self) > duration('0s'))",message="serviceLevel.approval must be a duration above zero, written as hours, minutes and seconds (24h, 90m, 1h30m; there is no unit for days)",optionalOldSelf=true
	Approval *metav1.Duration `json:"approval,omitempty"`
	// Provisioning is the standard from approval to Ready.
	// +optional
	// +kubebuilder:validation:XValidation:rule="(oldSelf.hasValue() && oldSelf.value() == self) || (duration(self) > duration('0s'))",message="serviceLevel.provisioning must be a duration above zero, written as hours, minutes and seconds (4h, 90m, 1h30m; there is no unit for days)",optionalOldSelf=true
	Provisioning *metav1.Duration `json:"provisioning,omitempty"`
}

// SubdomainZoneStatus is the observed state of a zone.
type SubdomainZoneStatus struct {
	// ObservedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Allocated is the number of addresses claimed from the pool; in a zone with a
	// sharedAddress, 1 while the zone holds that address's claim (0 while a request
	// holds it, or while the zone is being deleted and the claim is gone). Defaulted
	// to 0 by the API server: the status write is a merge patch of what changed, so a
	// 0 is never sent, and kubectl would show an empty column for a zone with no
	// address given.
	// +optional
	// +kubebuilder:default=0
	Allocated int64 `json:"allocated"`
	// Capacity is the number of usable addresses in the pool; 1 in a zone with a
	// sharedAddress. Defaulted to 0 as allocated is.
	// +optional
	// +kubebuilder:default=0
	Capacity int64 `json:"capacity"`
	// ClaimedNames are the names the zone's requests hold - the values of their FQDN
	// SubdomainClaims: served names, old names in their rename grace period, names
	// of sites retained on deletion - each with the request that holds it. The
	// admission policy subdomain-claimed-hostnames takes the zones as its params and
	// looks each added host up here (one map lookup per host, whatever the number of
	// names: a string searched instead ran past CEL's cost limit on an Ingress of a
	// few dozen hosts, and the policy, failing open, let it in; a policy whose params
	// were the claims themselves was evaluated once per claim on every write). An
	// atomic map: managedFields name the field, not each of its keys. Counted with the
	// claims, a second after a claim is made or gone, or as many seconds as the zone
	// lists started thousands of names, up to 10 (each write carries the whole map).
	// About 50 bytes a name: a zone holds up to about 25,000 before its object
	// reaches etcd's 1.5 MiB.
	// +optional
	// +mapType=atomic
	ClaimedNames map[string]string `json:"claimedNames,omitempty"`
}

// SubdomainZone is one parent domain whose subdomains the operator manages.
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || size(self.metadata.name) <= 63",message="metadata.name may have at most 63 characters: it is a label value on the zone's claims and hosting namespaces",optionalOldSelf=true
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=sdz,categories=subdomain
// +kubebuilder:printcolumn:name="Domain",type=string,JSONPath=`.spec.domain`
// +kubebuilder:printcolumn:name="Allocated",type=integer,JSONPath=`.status.allocated`
// +kubebuilder:printcolumn:name="Capacity",type=integer,JSONPath=`.status.capacity`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SubdomainZone struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec SubdomainZoneSpec `json:"spec"`
	// +optional
	Status SubdomainZoneStatus `json:"status,omitempty"`
}

// SubdomainZoneList contains a list of SubdomainZone.
// +kubebuilder:object:root=true
type SubdomainZoneList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SubdomainZone `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SubdomainZone{}, &SubdomainZoneList{})
}
