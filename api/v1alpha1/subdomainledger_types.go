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

// LedgerEntryType is what happened.
// +kubebuilder:validation:Enum=Requested;Approved;Rejected;Ready;Renamed;Deleted;Retained
type LedgerEntryType string

const (
	// LedgerRequested was written by earlier versions; the first Ready entry now
	// carries the request's times.
	LedgerRequested LedgerEntryType = "Requested"
	LedgerApproved  LedgerEntryType = "Approved"
	LedgerRejected  LedgerEntryType = "Rejected"
	LedgerReady     LedgerEntryType = "Ready"
	LedgerRenamed   LedgerEntryType = "Renamed"
	LedgerDeleted   LedgerEntryType = "Deleted"
	LedgerRetained  LedgerEntryType = "Retained"
)

// LedgerEntry is one event in a subdomain's life. Entries never change once written.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="ledger entries are append-only: an entry never changes"
type LedgerEntry struct {
	// ID makes appends idempotent: <request UID>/<type>/<what>@<request generation>
	// (a deletion without @<generation>; earlier versions wrote none).
	// +kubebuilder:validation:MaxLength=320
	ID string `json:"id"`
	// +required
	Type LedgerEntryType `json:"type"`
	// At is when it happened, an RFC 3339 date-time as Go writes and reads it
	// (2026-01-05T08:00:00Z, 2026-01-05T16:00:00+08:00). The API server's date-time
	// format alone also takes a lowercase t or z, which no typed client decodes: one
	// such entry would stop every reader of the page, the operator's ledger writer and
	// the annual report among them.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Format=date-time
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`
	At metav1.Time `json:"at"`
	// +kubebuilder:validation:MaxLength=253
	Request string `json:"request"`
	// +optional
	// +kubebuilder:validation:MaxLength=256
	OPD string `json:"opd,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=320
	FQDN string `json:"fqdn,omitempty"`
	// PreviousFQDN is the old name of a rename.
	// +optional
	// +kubebuilder:validation:MaxLength=320
	PreviousFQDN string `json:"previousFQDN,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=39
	Address string `json:"address,omitempty"`
	// SharedAddress, on Deleted entries, says Address was the zone's sharedAddress:
	// it stays with the zone, nothing of it is released.
	// +optional
	SharedAddress bool `json:"sharedAddress,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=256
	ApprovedBy string `json:"approvedBy,omitempty"`
	// Letter is the request letter's number.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Letter string `json:"letter,omitempty"`
	// Reason of a rejection.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason,omitempty"`
	// Seconds is approval-to-ready on Ready entries, and time-to-approval on the
	// Approved entry of a request deleted before it served, on that of a served
	// site's rename (from when the rename was asked), and on Approved entries written
	// by earlier versions.
	// +optional
	Seconds *int64 `json:"seconds,omitempty"`
	// ApprovalSeconds is time-to-approval (request to first approval) on the first
	// Ready entry of a request, which stands for its approval too: one entry per new
	// subdomain keeps the ledger small. Approved entries are written for later
	// approvals (renames), and for the approval of a request deleted before it
	// served (it has no Ready entry).
	// +optional
	ApprovalSeconds *int64 `json:"approvalSeconds,omitempty"`
	// ApprovalStandardSeconds and ProvisioningStandardSeconds are the zone's service
	// level (serviceLevel.approval, .provisioning) when the entry was written, on the
	// entries that carry times (0: the zone set none): the annual report and describe
	// judge a time against the standard in force then, not the zone's of today, nor
	// none once the zone is gone. Entries of earlier versions have neither.
	// +optional
	ApprovalStandardSeconds *int64 `json:"approvalStandardSeconds,omitempty"`
	// +optional
	ProvisioningStandardSeconds *int64 `json:"provisioningStandardSeconds,omitempty"`
}

// LedgerPageSize is how many entries one SubdomainLedger holds; a month with more goes
// on in further pages. The API server decodes, diffs and re-validates a whole page on
// every append, so an append costs it CPU in proportion to the page: measured on the
// test control plane, an entry appended in batches of 3 cost it 15 ms with pages of
// 100, 8 ms with pages of 25 and 4.7 ms with pages of 10 (a CRD create is about 2 ms).
const LedgerPageSize = 10

// SubdomainLedgerSpec holds one page of one zone's events of one month.
// +kubebuilder:validation:XValidation:rule="self.zone == oldSelf.zone && self.year == oldSelf.year && self.month == oldSelf.month && self.page == oldSelf.page",message="a ledger's zone, year, month and page never change"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.entries) || has(self.entries)",message="ledger entries are append-only: none may be removed"
type SubdomainLedgerSpec struct {
	// +kubebuilder:validation:MaxLength=253
	Zone string `json:"zone"`
	Year int32  `json:"year"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=12
	Month int32 `json:"month"`
	// Page numbers the month's ledgers from 1 (named <zone>-<yyyy>-<mm>, then
	// <zone>-<yyyy>-<mm>-p2, ...), each holding at most 10 entries.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +optional
	Page int32 `json:"page,omitempty"`
	// Entries in the order they were written. An entry's id is unique within a page;
	// readers take the first of equal ids across pages.
	// +optional
	// +listType=map
	// +listMapKey=id
	// +kubebuilder:validation:MaxItems=10
	// +kubebuilder:validation:XValidation:rule="oldSelf.all(o, self.exists(e, e.id == o.id))",message="ledger entries are append-only: none may be removed or replaced"
	Entries []LedgerEntry `json:"entries,omitempty"`
}

// SubdomainLedger is the append-only record of one zone's subdomain events in one month
// (named <zone>-<yyyy>-<mm>, further pages <zone>-<yyyy>-<mm>-p<n>): the basis of the
// annual report. It outlives the requests.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="Zone",type=string,JSONPath=`.spec.zone`
// +kubebuilder:printcolumn:name="Year",type=integer,JSONPath=`.spec.year`
// +kubebuilder:printcolumn:name="Month",type=integer,JSONPath=`.spec.month`
// +kubebuilder:printcolumn:name="Page",type=integer,JSONPath=`.spec.page`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SubdomainLedger struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec SubdomainLedgerSpec `json:"spec"`
}

// SubdomainLedgerList contains a list of SubdomainLedger.
// +kubebuilder:object:root=true
type SubdomainLedgerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SubdomainLedger `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SubdomainLedger{}, &SubdomainLedgerList{})
}
