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

package controllers

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/approval"
	"github.com/kominfo/subdomain-operator/internal/naming"
	"github.com/kominfo/subdomain-operator/internal/reconcileerr"
	"github.com/kominfo/subdomain-operator/internal/window"
)

// setCondition sets a condition with the request's generation.
func (s *requestScope) setCondition(typ string, ok bool, reason, msg string) {
	st := metav1.ConditionFalse
	if ok {
		st = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&s.req.Status.Conditions, metav1.Condition{
		Type: typ, Status: st, Reason: reason, Message: msg, ObservedGeneration: s.req.Generation,
	})
}

// loadZone reads the request's zone from the cache (cachedZone: its claimedNames not
// copied).
// Ends with an Invalid error (Ready=False, reason ZoneNotFound) when the zone does not
// exist; the zone watch retries when it appears. Ends with an Invalid error (reason
// ZoneDomainChanged) when the request's name is not under the zone's domain: the zone
// was deleted and made again with another one (an edit cannot change it). Read
// against the new domain, the whole old name would pass for a label. Ends with an
// Invalid error (reason ZoneDeleting) when the zone is being deleted and the request
// never served.
func (r *SubdomainRequestReconciler) loadZone(ctx context.Context, s *requestScope) (bool, error) {
	zone, err := cachedZone(r.zones, s.req.Spec.Zone)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return true, reconcileerr.NewInvalid("", "ZoneNotFound",
				"SubdomainZone %q does not exist; create it or fix spec.zone", s.req.Spec.Zone)
		}
		return true, err
	}
	// Under the domain, one label: a zone made again with a domain above the old one
	// still ends the old name, and its part before it would pass for a rename.
	if fqdn := s.req.Status.FQDN; fqdn != "" && (!strings.HasSuffix(fqdn, "."+zone.Spec.Domain) ||
		strings.Contains(strings.TrimSuffix(fqdn, "."+zone.Spec.Domain), ".")) {
		return true, reconcileerr.NewInvalid(sdv1.ConditionNameAvailable, "ZoneDomainChanged",
			"%s is not under the domain of SubdomainZone %q, now %s (the zone was made again with another domain): the request's objects are left as they are; give the zone its domain back, or delete the request and request the name anew",
			fqdn, zone.Name, zone.Spec.Domain)
	}
	if !zone.DeletionTimestamp.IsZero() && s.req.Status.ReadyAt == nil {
		// A zone being deleted waits for its requests; one that never served (even
		// if it has claimed something) gets nothing new, or it would hold the zone
		// up; its deletion gives back what it holds.
		return true, reconcileerr.NewInvalid("", "ZoneDeleting",
			"SubdomainZone %q is being deleted: nothing new is provisioned in it; delete this request, or request the name in another zone", zone.Name)
	}
	s.zone = zone
	if s.req.Status.RequestedAt == nil {
		t := s.req.CreationTimestamp
		s.req.Status.RequestedAt = &t
	}
	return false, nil
}

// gateApproval runs the approval policy chain and records a new approval (a first
// one, a rename's, or one given again after a withdrawal or by another approver) and a
// rejection (of a request, or of a served site's rename).
// Sets Approved; emits a Warning Event when a served site's approval is withdrawn or
// rejected (the site stays, so no phase change tells it). Stops the chain when
// nothing may be provisioned (no approval yet, rejected - decided and recorded before
// the zone's name rules -, or an approval stale or withdrawn on a request that serves
// nothing: never approved, or approved but never Ready).
// Ends with an Invalid error (NameAvailable=False) when spec.subdomain breaks a zone
// rule the API server cannot check (reserved name, FQDN too long), unless it is the
// name the request already serves (reserved since: it stays the request's); on a
// request that serves another name, the chain goes on with that name instead and the
// error waits in s.refused. A rename of a served name waits for the change window (s.scheduled),
// or, when the window cannot be read, is refused the same way (s.refused).
func (r *SubdomainRequestReconciler) gateApproval(ctx context.Context, s *requestScope) (bool, error) {
	// A copy: setCondition below changes the condition in place.
	var prev *metav1.Condition
	if c := meta.FindStatusCondition(s.req.Status.Conditions, sdv1.ConditionApproved); c != nil {
		cp := *c
		prev = &cp
	}
	d := approval.Evaluate(approval.Input{
		Annotations: s.req.Annotations,
		Subdomain:   s.req.Spec.Subdomain,
		Recorded:    s.req.Status.Approval,
		Served:      served(s),
		// The annotation of the approval on record was removed: ApprovalWithdrawn
		// on a served request, AwaitingApproval (with a record) on one never served.
		Withdrawn: prev != nil && prev.Status == metav1.ConditionFalse && s.req.Status.Approval != nil &&
			(prev.Reason == approval.ReasonApprovalWithdrawn || prev.Reason == approval.ReasonAwaitingApproval),
	})
	s.decision = d
	if kept := d.Target != "" && (d.Reason == approval.ReasonApprovalWithdrawn || d.Reason == approval.ReasonRejected); kept {
		if d.Reason == approval.ReasonRejected && d.Target != s.req.Spec.Subdomain && (prev == nil || prev.Message != d.Message) {
			// A served site's rename rejected: the site stays, and the decision goes
			// on record as a rejection does - before the condition that says it, so
			// that a failed write is tried again.
			if err := r.recordRejection(ctx, s, s.req.Status.FQDN); err != nil {
				return true, err
			}
		}
		if prev == nil || prev.Reason != d.Reason {
			r.tell(s, corev1.EventTypeWarning, d.Reason, "Approve", "%s", d.Message)
		}
	}
	if d.Rejected && (s.req.Status.Phase != sdv1.PhaseRejected || prev == nil || prev.Message != d.Message) {
		// Rejected before the zone's name rules are applied: a rejection of a
		// reserved or too long name is a rejection on record all the same. A new
		// reason is a new rejection, also without a spec change. On record before
		// the condition and the phase that say it: a failed write leaves neither
		// (phase says the rejection waits to be recorded), and is tried again.
		if err := r.recordRejection(ctx, s, ""); err != nil {
			return true, err
		}
	}
	s.setCondition(sdv1.ConditionApproved, d.Approved, d.Reason, d.Message)
	if d.Rejected {
		return true, nil
	}
	// The zone's name rules are for names to take: a name already served keeps serving
	// when the zone reserves it later (claimFQDN notes it).
	if reason, msg := naming.CheckName(s.req.Spec.Subdomain, s.zone); reason != "" && served(s) != s.req.Spec.Subdomain {
		cur := served(s)
		if cur == "" {
			return true, reconcileerr.NewInvalid(sdv1.ConditionNameAvailable, reason, "%s", msg)
		}
		// A served site keeps its name and its upkeep - drift repair, old names
		// released when their grace period ends - while the new name is refused;
		// the request still ends Failed, saying so.
		s.refuse(reconcileerr.NewInvalid(sdv1.ConditionNameAvailable, reason, "%s", msg))
		s.label, s.fqdn, s.namespace = cur, s.req.Status.FQDN, naming.HostingNamespace(s.req)
		return false, nil
	}
	if d.Record != nil {
		now := metav1.NewTime(s.now)
		d.Record.ApprovedAt = &now
		if d.Renewed && s.req.Status.ReadyAt == nil {
			// Approved again after a withdrawal, never served: the withdrawn approval
			// led to nothing, this one is what provisioning answers to (approvedAt,
			// the service level, the Ready entry).
			s.req.Status.ApprovedAt = nil
		} else if s.req.Status.ApprovedAt == nil {
			// The first approval is recorded with the Ready entry it leads to.
			zone, took := s.zone.Name, now.Sub(s.req.CreationTimestamp.Time).Seconds()
			s.told = append(s.told, func() { timeToApproval.WithLabelValues(zone).Observe(took) })
		} else {
			e := sdv1.LedgerEntry{At: now, FQDN: naming.FQDN(d.Record.Name, s.zone.Spec.Domain), ApprovedBy: d.Record.ApprovedBy}
			what := d.Record.Name
			rec := s.req.Status.Approval
			if rec != nil && rec.Name == d.Record.Name {
				// The same name approved again (after a withdrawal, or by another
				// approver) at the same generation: the approver tells it apart.
				what += "/" + textKey(d.Record.ApprovedBy)
			}
			if s.req.Status.ReadyAt != nil && (rec == nil || rec.Name != d.Record.Name) && prev != nil {
				// A served site's rename: its time to approval, from when the rename
				// was asked - the approval on record turned stale then (Approved
				// False, ApprovalStale) - or none if it was asked and approved in one
				// write (Approved still True). Approved False for another reason
				// (withdrawn, rejected) turned False before the rename was asked: its
				// time is not known, and none is recorded.
				var took *int64
				switch {
				case prev.Status == metav1.ConditionTrue:
					took = seconds(0)
				case prev.Reason == approval.ReasonApprovalStale:
					took = seconds(now.Sub(prev.LastTransitionTime.Time))
				}
				if took != nil {
					e.Seconds = took
					e.ApprovalStandardSeconds = standardSeconds(s.zone.Spec.ServiceLevel.Approval)
				}
			}
			if err := r.record(ctx, s, sdv1.LedgerApproved, what, e); err != nil {
				return true, err
			}
			if s.req.Status.ReadyAt == nil && (rec == nil || rec.Name != d.Record.Name) {
				// Never served, approved for another name (the first led to nothing:
				// a conflict, a refused name): as with an approval given again, this
				// is the one provisioning answers to, in approvedAt, the service level
				// and the Ready entry alike. Another approver's stamp on the same
				// name is no new start.
				s.req.Status.ApprovedAt = nil
			}
		}
		s.req.Status.Approval = d.Record
		if s.req.Status.ApprovedAt == nil {
			s.req.Status.ApprovedAt = &now
		}
		s.approvedNow = d.Message // summarise emits the event
	}
	if d.Target == "" {
		return true, nil
	}
	// The window guards a served name only: renaming a request that never became
	// Ready is no rename (its earlier name never served), and goes ahead at once.
	if cur := served(s); cur != "" && cur != d.Target {
		next, err := r.nextWindow(s)
		switch e := reconcileerr.As(err); {
		case e != nil:
			// A window that cannot be read holds the rename until it is fixed; the
			// served name keeps its upkeep meanwhile, and the request ends Failed.
			s.refuse(e)
			d.Target = cur
		case err != nil:
			return true, err
		case !next.IsZero():
			// The rename waits for the window; the current name keeps serving.
			s.scheduled = next
			s.scheduledWhat = fmt.Sprintf("the rename to %s", naming.FQDN(d.Target, s.zone.Spec.Domain))
			d.Target = cur
		}
	}
	s.label = d.Target
	s.fqdn = naming.FQDN(d.Target, s.zone.Spec.Domain)
	s.namespace = naming.HostingNamespace(s.req)
	return false, nil
}

// refuse keeps e, a change refused, as the error the reconcile ends with once the
// steps have kept up the name the request serves (s.refused): its kind, condition and
// reason, its message saying that name keeps serving.
func (s *requestScope) refuse(e *reconcileerr.Error) {
	kept := *e
	kept.Message = fmt.Sprintf("%s; %s keeps serving", e.Message, s.req.Status.FQDN)
	s.refused = &kept
}

// textKey tells entries of one request apart in their ledger IDs by free text - a
// rejection's reason, an approver's name - too long for an ID: a hash of it.
func textKey(text string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(text))
	return fmt.Sprintf("%08x", h.Sum32())
}

// served is the label the request serves now, if it ever became Ready: the only name
// a rejected or withdrawn approval keeps.
func served(s *requestScope) string {
	st := s.req.Status
	if st.ReadyAt == nil || st.FQDN == "" {
		return ""
	}
	return naming.LabelOf(st.FQDN, s.zone.Spec.Domain)
}

// recordRejection records the rejection of spec.subdomain with the rejected
// annotation's reason; previous is the served name a rejected rename leaves in place
// ("" for a request that never served).
func (r *SubdomainRequestReconciler) recordRejection(ctx context.Context, s *requestScope, previous string) error {
	reason := s.req.Annotations[sdv1.AnnotationRejected]
	return r.record(ctx, s, sdv1.LedgerRejected, textKey(reason), sdv1.LedgerEntry{
		FQDN: naming.FQDN(s.req.Spec.Subdomain, s.zone.Spec.Domain), PreviousFQDN: previous, Reason: reason,
	})
}

// ensureFinalizer adds the finalizer before anything is claimed, so that nothing the
// request holds can outlive it unnoticed. Never returns early.
func (r *SubdomainRequestReconciler) ensureFinalizer(ctx context.Context, s *requestScope) (bool, error) {
	if controllerutil.ContainsFinalizer(s.req, sdv1.Finalizer) {
		return false, nil
	}
	// Patch a copy: the response must not overwrite the status this reconcile computed.
	base := s.req.DeepCopy()
	patched := base.DeepCopy()
	controllerutil.AddFinalizer(patched, sdv1.Finalizer)
	// Optimistic lock: a GitOps tool may be writing its own finalizers.
	if err := r.Patch(ctx, patched, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return true, err
	}
	s.req.Finalizers, s.req.ResourceVersion = patched.Finalizers, patched.ResourceVersion
	s.wrote = append(s.wrote, patched.ResourceVersion)
	return false, nil
}

// claimName claims the FQDN with a create that fails if the name is taken, unless an
// Ingress or DNSEndpoint that is not this request's already serves it. On a rename the old
// name goes to status.previousNames and keeps serving until its grace period ends;
// renaming back to a name still in its grace period takes it back. The old name of a
// request that never became Ready gets no grace period: its claim is released as soon
// as no Ingress or DNSEndpoint of the request carries it (releaseStrayNames).
// Sets NameAvailable. Ends with a Conflict naming the holder when the name is taken
// (a served name untouched; the old name of a request that never served given back,
// as above), and when a foreign object serves the name before this request does holds no
// claim on it: a claim would lock the holder out of its own Ingress (policy
// subdomain-claimed-hostnames). One that appears after is named in NameAvailable's
// message and a Warning Event, and the request, the holder, keeps its name. A served
// request whose new name is taken goes on with the name it serves, and the Conflict
// waits in s.refused. A name that is another zone's domain or above it is taken by
// that zone (a Conflict naming it) unless the request serves it already. Ends first
// with an Invalid error (reason ZoneDomainOverlap) for a request that never served
// when another zone that came first has its zone's domain, or a request of another
// zone holds a name at or above it (domainOverlap; a change of either wakes it).
func (r *SubdomainRequestReconciler) claimName(ctx context.Context, s *requestScope) (bool, error) {
	if s.req.Status.ReadyAt == nil {
		// A site that serves keeps serving; nothing new is given in a zone whose
		// domain another zone gives, or a site of another zone holds (after the
		// approval step: a decision on such a request is recorded all the same).
		why, err := r.domainOverlap(ctx, s.zone)
		if err != nil {
			return true, err
		}
		if why != "" {
			return true, reconcileerr.NewInvalid("", "ZoneDomainOverlap",
				"nothing is provisioned in SubdomainZone %s: %s", s.zone.Name, why)
		}
	}
	stop, err := r.claimFQDN(ctx, s)
	cur := served(s)
	e := reconcileerr.As(err)
	if e == nil || e.Kind != reconcileerr.Conflict || s.fqdn == s.req.Status.FQDN {
		return stop, err
	}
	if cur == "" {
		// Never served: the name claimed before (renamed before the first Ready) is
		// given back while the new one is held by another, not kept for a request
		// that no longer asks for it.
		if old := s.req.Status.FQDN; old != "" {
			s.req.Status.FQDN = ""
			if rerr := r.releaseStrayNames(ctx, s, old); rerr != nil {
				return true, rerr
			}
		}
		return stop, err
	}
	s.refuse(e)
	s.label, s.fqdn = cur, s.req.Status.FQDN
	return r.claimFQDN(ctx, s)
}

// claimFQDN claims s.fqdn for claimName.
func (r *SubdomainRequestReconciler) claimFQDN(ctx context.Context, s *requestScope) (bool, error) {
	st := &s.req.Status
	// The request already holds the name when it claimed it before (and served it, or
	// still says so), or when it is an old name in its grace period (a rename back).
	serving := st.FQDN == s.fqdn && (st.ReadyAt != nil || meta.IsStatusConditionTrue(st.Conditions, sdv1.ConditionNameAvailable)) ||
		slices.Contains(activePreviousNames(st.PreviousNames, s.now), s.fqdn)
	holder, err := r.foreignHolder(s)
	if err != nil {
		return true, err
	}
	if holder == "" && !serving {
		zone, err := r.zoneAtOrUnder(ctx, s, s.fqdn)
		if err != nil {
			return true, err
		}
		if zone != "" {
			if err := r.giveBackClaim(ctx, s.req, s.fqdn); err != nil {
				return true, err
			}
			return true, reconcileerr.NewConflict(sdv1.ConditionNameAvailable, reasonNameConflict,
				"%s is the domain of SubdomainZone %s or above it: its hosting namespace could serve every name of that zone", s.fqdn, zone)
		}
	}
	if holder != "" && !serving {
		if err := r.giveBackClaim(ctx, s.req, s.fqdn); err != nil {
			return true, err
		}
		return true, reconcileerr.NewConflict(sdv1.ConditionNameAvailable, reasonNameConflict,
			"%s is already served by %s", s.fqdn, holder)
	}
	if err := r.claim(ctx, s, sdv1.ClaimTypeFQDN, s.fqdn, naming.FQDNClaimName(s.fqdn)); err != nil {
		return true, err
	}
	msg := fmt.Sprintf("%s is claimed for this request", s.fqdn)
	if reason, _ := naming.CheckName(s.label, s.zone); reason == "ReservedName" {
		msg += fmt.Sprintf(" (SubdomainZone %s has reserved %q since: it stays this request's, and no other request may take it)", s.zone.Name, s.label)
	}
	if holder != "" {
		msg = fmt.Sprintf("%s is claimed for this request; %s serves it too and is left alone (it came after this request)", s.fqdn, holder)
		if prev := meta.FindStatusCondition(st.Conditions, sdv1.ConditionNameAvailable); prev == nil || prev.Message != msg {
			r.tell(s, corev1.EventTypeWarning, "ForeignHolder", "Claim", "%s", msg)
		}
	}
	dropped := ""
	if old := st.FQDN; old != "" && old != s.fqdn && st.ReadyAt == nil {
		// Never Ready (a Conflict on the namespace, say): no rename, no grace period.
		// Its claim is a stray now, which releaseStrayNames gives back.
		dropped, st.FQDN = old, ""
	}
	if old := st.FQDN; old != "" && old != s.fqdn {
		now := s.now
		grace := 720 * time.Hour
		if g := s.zone.Spec.RenameGracePeriod; g != nil {
			grace = g.Duration
		}
		e := sdv1.LedgerEntry{At: metav1.NewTime(now), FQDN: s.fqdn, PreviousFQDN: old, Address: st.Address}
		if a := st.Approval; a != nil && naming.FQDN(a.Name, s.zone.Spec.Domain) == s.fqdn {
			e.ApprovedBy = a.ApprovedBy // the report's approver of the rename
		}
		if err := r.record(ctx, s, sdv1.LedgerRenamed, s.fqdn, e); err != nil {
			return true, err
		}
		st.PreviousNames = slices.DeleteFunc(st.PreviousNames, func(p sdv1.PreviousName) bool {
			return p.FQDN == s.fqdn || p.FQDN == old
		})
		st.PreviousNames = append(st.PreviousNames, sdv1.PreviousName{
			FQDN: old, RetiredAt: metav1.NewTime(now), ExpiresAt: metav1.NewTime(now.Add(grace)),
		})
		if n := len(st.PreviousNames); n > maxPreviousNames {
			st.PreviousNames = st.PreviousNames[n-maxPreviousNames:]
		}
		r.tell(s, corev1.EventTypeNormal, "Renamed", "Rename",
			"renamed %s to %s; %s keeps working until %s", old, s.fqdn, old, now.Add(grace).UTC().Format(time.RFC3339))
	}
	s.setCondition(sdv1.ConditionNameAvailable, true, "Claimed", msg)
	st.FQDN = s.fqdn
	s.retiring = activePreviousNames(st.PreviousNames, s.now)
	if err := r.releaseStrayNames(ctx, s, dropped); err != nil {
		return true, err
	}
	return false, nil
}

// maxPreviousNames bounds the rename history kept in status.
const maxPreviousNames = 20

// activePreviousNames are the old names still in their grace period.
func activePreviousNames(prev []sdv1.PreviousName, now time.Time) []string {
	var out []string
	for _, p := range prev {
		if !p.Released && now.Before(p.ExpiresAt.Time) {
			out = append(out, p.FQDN)
		}
	}
	return out
}

// releaseRetiredNames, once the Ingress and DNS records no longer carry them, releases
// the claims of old names whose grace period ended and marks them released, except a
// name an Ingress of the hosting namespace still serves (hostingServer): its claim is
// kept and NameAvailable's message says so. Asks for a
// reconcile when the next grace period ends (no polling), and soon again for a name
// still carried: the Ingress or DNSEndpoint this pass rewrote (and the cache shows
// before the write), or one made moments ago that the cache does not show yet (ensure
// left it as it was). Never returns early.
func (r *SubdomainRequestReconciler) releaseRetiredNames(ctx context.Context, s *requestScope) (bool, error) {
	now := s.now
	prev := s.req.Status.PreviousNames
	var kept []string // old names an Ingress of the hosting namespace still serves
	defer func() {
		if c := meta.FindStatusCondition(s.req.Status.Conditions, sdv1.ConditionNameAvailable); c != nil && len(kept) > 0 {
			s.setCondition(sdv1.ConditionNameAvailable, true, c.Reason, fmt.Sprintf(
				"%s; grace period over, claim kept while an Ingress of the hosting namespace %s still serves it: %s",
				c.Message, s.namespace, strings.Join(kept, ", ")))
		}
	}()
	for i := range prev {
		p := &prev[i]
		if p.Released {
			continue
		}
		if now.Before(p.ExpiresAt.Time) {
			s.requeueAt(p.ExpiresAt.Sub(now))
			continue
		}
		served, err := r.stillServed(ctx, s, p.FQDN)
		if err != nil {
			return true, err
		}
		if served {
			// Released while served, another request could claim and serve it too.
			s.requeueAt(cacheLagRetry)
			continue
		}
		if holder, err := r.hostingServer(s, p.FQDN); err != nil {
			return true, err
		} else if holder != "" {
			kept = append(kept, fmt.Sprintf("%s (served by %s)", p.FQDN, holder))
			continue
		}
		if err := r.giveBackClaim(ctx, s.req, p.FQDN); err != nil {
			return true, err
		}
		p.Released = true
		r.tell(s, corev1.EventTypeNormal, "NameReleased", "Rename",
			"the grace period of %s ended: its host, record and claim are released", p.FQDN)
	}
	return false, nil
}

// hostingServer names an Ingress (or a Gateway API route) of the request's hosting
// namespace, not the request's own, that serves name (an OPD admin's, made while the old name was in its
// grace period and the namespace might serve it), from the cache; "" if none. Such a
// name stays claimed: released, another request could claim it while the OPD still
// serves it. That Ingress's change or deletion brings the request back
// (foreignHandler).
func (r *SubdomainRequestReconciler) hostingServer(s *requestScope, name string) (string, error) {
	ingresses, _, err := r.servers(name)
	if err != nil {
		return "", err
	}
	holder := "" // the first: the message stays the same from pass to pass
	for _, o := range ingresses {
		if o.GetNamespace() != s.namespace || mine(o, s.req) {
			continue
		}
		if h := describe(r, o); holder == "" || h < holder {
			holder = h
		}
	}
	return holder, nil
}

// nextWindow returns the zone change window's next opening, or zero when changes may
// happen now (or the zone has no window). An unusable window holds changes (Invalid).
func (r *SubdomainRequestReconciler) nextWindow(s *requestScope) (time.Time, error) {
	if s.zone == nil || s.zone.Spec.ChangeWindow == nil {
		return time.Time{}, nil
	}
	sched, err := window.Parse(s.zone.Spec.ChangeWindow)
	if err != nil {
		return time.Time{}, reconcileerr.NewInvalid("", "InvalidChangeWindow",
			"zone %s: changeWindow: %v; renames and deletions wait until it is fixed", s.zone.Name, err)
	}
	if open, next := sched.Open(s.now); !open {
		if next.IsZero() { // Parse refuses a window with no day: not reached
			return time.Time{}, reconcileerr.NewInvalid("", "InvalidChangeWindow",
				"zone %s: changeWindow never opens; renames and deletions wait until it is fixed", s.zone.Name)
		}
		s.requeueAt(next.Sub(s.now))
		return next, nil
	}
	return time.Time{}, nil
}

// scheduledMessage says what waits and when the window opens, in the zone's time zone.
func (s *requestScope) scheduledMessage() string {
	loc, err := time.LoadLocation(s.zone.Spec.ChangeWindow.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	return fmt.Sprintf("%s waits for the zone's change window: next opening %s (%s)",
		s.scheduledWhat, s.scheduled.In(loc).Format("Mon 2006-01-02 15:04 MST"), s.zone.Spec.ChangeWindow.TimeZone)
}

// requeueAt asks for a reconcile after d at the latest.
func (s *requestScope) requeueAt(d time.Duration) {
	if d <= 0 {
		d = time.Second
	}
	if s.requeueAfter == 0 || d < s.requeueAfter {
		s.requeueAfter = d
	}
}

// assignAddress gives the request its address: the zone's shared address, or an
// address of the pool claimed with a create that fails if it is taken. The address a
// request holds never changes (a rename keeps it).
// Sets AddressAssigned for zones that do not announce addresses (announceAddress sets
// it otherwise). Ends with Invalid (PoolExhausted) when the pool is full, and with a
// Conflict (AddressConflict) when a request of another zone holds the zone's shared
// address - at once for a request that serves nothing; a served site keeps its
// address and the chain goes on, the Conflict kept for the end (refuse).
func (r *SubdomainRequestReconciler) assignAddress(ctx context.Context, s *requestScope) (bool, error) {
	if shared := s.zone.Spec.SharedAddress; shared != "" {
		a, err := netip.ParseAddr(shared)
		if err != nil {
			return true, reconcileerr.NewInvalid(sdv1.ConditionAddressAssigned, "InvalidZone", "zone sharedAddress %q: %v", shared, err)
		}
		// The zone holds the address's claim (SubdomainZoneReconciler), so no pool
		// gives it to a request; one of another zone that got it first keeps it.
		holder, err := r.sharedAddressHolder(ctx, s.zone, a)
		if err != nil {
			return true, err
		}
		if holder != "" {
			conflict := reconcileerr.NewConflict(sdv1.ConditionAddressAssigned, reasonAddressConflict,
				"the zone's shared address %s is held by %s: no name of zone %s points at it until that request releases it", a, holder, s.zone.Name)
			if served(s) == "" {
				return true, conflict
			}
			// A served site keeps its address and its upkeep (drift repair, old
			// names released) and ends in Conflict, saying so.
			s.refuse(conflict)
			if s.addr, err = netip.ParseAddr(s.req.Status.Address); err != nil {
				s.addr = a
				s.req.Status.Address = a.String()
			}
			return false, nil
		}
		s.addr = a
		s.req.Status.Address = a.String()
		s.setCondition(sdv1.ConditionAddressAssigned, true, "SharedAddress",
			fmt.Sprintf("the zone points every name at its shared address %s", a))
		return false, nil
	}
	a, err := r.allocate(ctx, s)
	if err != nil {
		return true, err
	}
	s.addr = a
	s.req.Status.Address = a.String()
	if !announces(s.zone) {
		s.setCondition(sdv1.ConditionAddressAssigned, true, "Reserved", fmt.Sprintf(
			"%s is reserved for this request and published in DNS; the zone has no ingress.controllerSelector, so no load balancer announces it: the network team routes the pool", a))
	}
	return false, nil
}

// releaseFormerAddresses gives back, in a zone switched from an addressPool to a
// sharedAddress, the pool address the request still holds, once its site has moved:
// the steps before have pointed the DNSEndpoint at the shared address and removed the
// load balancer Service. A claim of the shared address itself stays (the zone takes it
// over when it is released), and so does the old address of a served site that keeps
// it because another request holds the shared one (AddressConflict). Never returns
// early.
func (r *SubdomainRequestReconciler) releaseFormerAddresses(ctx context.Context, s *requestScope) (bool, error) {
	shared, err := netip.ParseAddr(s.zone.Spec.SharedAddress)
	if err != nil || s.addr != shared {
		return false, nil
	}
	held, err := r.heldAddresses(ctx, false, s.req)
	if err != nil {
		return false, err
	}
	for i := range held {
		c := &held[i]
		if c.Name == naming.AddressClaimName(shared) {
			continue
		}
		// Told only by the pass that deleted it: the cache may show it a moment longer.
		deleted, err := r.removeClaim(ctx, c, s.req)
		if err != nil {
			return false, err
		}
		if deleted {
			r.tell(s, corev1.EventTypeNormal, "AddressReleased", "Release",
				"%s released: the zone points every name at its shared address %s", c.Spec.Value, shared)
		}
	}
	return false, nil
}

// announces reports whether a zone announces each address with a LoadBalancer Service.
func announces(z *sdv1.SubdomainZone) bool {
	return z.Spec.SharedAddress == "" && len(z.Spec.Ingress.ControllerSelector) > 0
}
