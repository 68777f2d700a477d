// Package approval decides, from a request's annotations and its recorded approval,
// what the operator may provision. The rules are an ordered policy chain: the first
// policy that decides wins, the way cert-manager's certificate policies work.
package approval

import (
	"fmt"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// Condition reasons of the Approved condition.
const (
	ReasonApproved          = "Approved"
	ReasonAwaitingApproval  = "AwaitingApproval"
	ReasonApprovalStale     = "ApprovalStale"
	ReasonApprovalWithdrawn = "ApprovalWithdrawn"
	ReasonRejected          = "Rejected"
)

// Input is what the gate looks at.
type Input struct {
	// Annotations of the request.
	Annotations map[string]string
	// Subdomain is spec.subdomain.
	Subdomain string
	// Recorded is status.approval: the decision on record, if any.
	Recorded *sdv1.Approval
	// Served is the label the site serves now (status.fqdn's) if it ever became
	// Ready; "" for a request that never served, whatever approval is on record.
	Served string
	// Withdrawn is true when the approval on record was taken back: the Approved
	// condition last written says its annotation was removed.
	Withdrawn bool
}

// Decision is the gate's verdict.
type Decision struct {
	// Approved is the Approved condition's status.
	Approved bool
	Reason   string
	Message  string
	// Target is the label the operator provisions or keeps serving; "" means nothing
	// may be provisioned.
	Target string
	// Record, when set, is a new approval to put on record (status.approval).
	Record *sdv1.Approval
	// Rejected is true when the request is rejected and serves nothing under an
	// earlier approval (never approved, or approved but never served: keep).
	Rejected bool
	// Renewed is true when Record approves again the name of a withdrawn approval.
	Renewed bool
}

// Policy decides or passes (ok=false) to the next policy.
type Policy func(in Input) (d Decision, ok bool)

// Chain is the ordered list of policies; approved, which always decides, ends it.
var Chain = []Policy{rejected, notApproved, stale}

// Evaluate runs the chain.
func Evaluate(in Input) Decision {
	for _, p := range Chain {
		if d, ok := p(in); ok {
			return d
		}
	}
	d, _ := approved(in)
	return d
}

// maxQuoted bounds, in characters, the annotation text a message quotes (a rejection's
// reason, an approved value, an approver's name): annotations may hold 256 KiB, a
// condition message 32 KiB, and a status write over that would be refused every time.
const maxQuoted = 1024

// keep is the label a request keeps serving under its earlier approval: the one it
// serves, if it ever served. A request approved but never Ready (in Conflict, out of
// addresses, still provisioning) keeps nothing: rejecting or withdrawing its approval
// stops it, so that it is not provisioned later when the name or an address frees up.
func keep(in Input) string {
	if in.Recorded == nil {
		return ""
	}
	return in.Served
}

// rejected: the rejected annotation wins over approved. A request that serves nothing
// (never approved, or approved but never Ready: keep) provisions nothing; one already approved keeps serving its recorded name
// (deleting the request is how a site is removed), and any pending change is refused.
func rejected(in Input) (Decision, bool) {
	reason, ok := in.Annotations[sdv1.AnnotationRejected]
	if !ok {
		return Decision{}, false
	}
	msg := fmt.Sprintf("rejected: %.*s", maxQuoted, reason)
	if reason == "" {
		msg = "rejected (no reason given)"
	}
	if t := keep(in); t != "" {
		msg += fmt.Sprintf("; %q stays served under its earlier approval", t)
	}
	return Decision{Reason: ReasonRejected, Message: msg, Target: keep(in), Rejected: keep(in) == ""}, true
}

// notApproved: no approved annotation. Before any approval this is waiting; after one it
// is a withdrawal, which does not take the site down.
func notApproved(in Input) (Decision, bool) {
	if _, ok := in.Annotations[sdv1.AnnotationApproved]; ok {
		return Decision{}, false
	}
	if t := keep(in); t != "" {
		return Decision{Reason: ReasonApprovalWithdrawn, Target: t, Message: fmt.Sprintf(
			"the %s annotation was removed; %q stays served under its approval on record (delete the request to remove the site)",
			sdv1.AnnotationApproved, t)}, true
	}
	return Decision{Reason: ReasonAwaitingApproval, Message: fmt.Sprintf(
		"waiting for an approver to set %s: %s", sdv1.AnnotationApproved, in.Subdomain)}, true
}

// stale: the annotation approves some other label than spec.subdomain (a typo, or a
// spec change after approval). Not an approval of what is asked now.
func stale(in Input) (Decision, bool) {
	v := in.Annotations[sdv1.AnnotationApproved]
	if v == in.Subdomain {
		return Decision{}, false
	}
	msg := fmt.Sprintf("the approval is for %.*q but spec.subdomain is %q: %q waits for approval",
		maxQuoted, v, in.Subdomain, in.Subdomain)
	if t := keep(in); t != "" && t != in.Subdomain {
		msg += fmt.Sprintf("; %q stays served", t)
	}
	return Decision{Reason: ReasonApprovalStale, Message: msg, Target: keep(in)}, true
}

// approved: the annotation equals spec.subdomain. A new decision is recorded when it
// differs from the one on record: a first approval, a rename, an approval given
// again after it was withdrawn, or another approver (approved-by is stamped only
// when the approved annotation is set or changed, so a new stamp is a new approval).
func approved(in Input) (Decision, bool) {
	by := in.Annotations[sdv1.AnnotationApprovedBy]
	d := Decision{Approved: true, Reason: ReasonApproved, Target: in.Subdomain}
	who := by
	if who == "" {
		who = "an approver (approved-by not stamped)"
	}
	d.Message = fmt.Sprintf("%q approved by %.*s", in.Subdomain, maxQuoted, who)
	switch {
	case in.Recorded == nil || in.Recorded.Name != in.Subdomain:
		d.Record = &sdv1.Approval{Name: in.Subdomain, ApprovedBy: by}
	case in.Withdrawn || by != "" && by != in.Recorded.ApprovedBy:
		d.Record = &sdv1.Approval{Name: in.Subdomain, ApprovedBy: by}
		d.Renewed = in.Withdrawn
	case in.Recorded.ApprovedBy != "":
		// A GitOps apply may drop approved-by later: the record keeps who approved.
		d.Message = fmt.Sprintf("%q approved by %.*s", in.Subdomain, maxQuoted, in.Recorded.ApprovedBy)
	}
	return d, true
}
