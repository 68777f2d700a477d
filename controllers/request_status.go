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

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/reconcileerr"
	"github.com/kominfo/subdomain-operator/internal/window"
)

// provisioningConditions must all be True for Ready. Approved is not among them: an
// approval withdrawn or made stale after provisioning does not take a site down.
var provisioningConditions = []string{
	sdv1.ConditionNameAvailable, sdv1.ConditionAddressAssigned, sdv1.ConditionHostingReady,
	sdv1.ConditionIngressReady, sdv1.ConditionDNSReady, sdv1.ConditionCredentialsReady,
}

// summarise computes the phase and the Ready/Reconciling/Stalled conditions from what
// the steps found, emits an Event when the phase changes, and writes status once, only
// if it changed. It also turns typed errors into the reconcile result.
func (r *SubdomainRequestReconciler) summarise(ctx context.Context, s *requestScope, base *sdv1.SubdomainRequest,
	res ctrl.Result, err error) (ctrl.Result, error) {
	logStepError(ctx, err)
	if apierrors.IsConflict(err) {
		// A step's write was computed from a copy older than the API server's (the
		// cache behind this process's own write): nothing is wrong with the request.
		// Look again from a newer copy (rate-limited) without reporting anything.
		return ctrl.Result{}, err
	}
	req := s.req
	e := reconcileerr.As(err)
	if e != nil && e.Condition != "" {
		// A step may have set this condition earlier in the pass (a refused rename's
		// served name is claimed: NameAvailable True). Start from the stored one, so
		// that an unchanged error keeps its lastTransitionTime and writes nothing.
		if c := meta.FindStatusCondition(base.Status.Conditions, e.Condition); c != nil {
			meta.SetStatusCondition(&req.Status.Conditions, *c)
		}
		s.setCondition(e.Condition, false, e.Reason, e.Message)
	}
	phase, reason, msg := r.phase(s, err, e)
	ready := phase == sdv1.PhaseReady
	// A name starts serving when Ready turns True, or when a rename puts a new name
	// in place of a served one. Not when the phase leaves Scheduled: a change waiting
	// for its window keeps Ready True, and its reconciles must write nothing.
	wasServing := meta.IsStatusConditionTrue(base.Status.Conditions, sdv1.ConditionReady)
	if ready && (!wasServing || base.Status.FQDN != req.Status.FQDN) {
		if lerr := r.recordServing(ctx, s); lerr != nil {
			// Without the record Ready is not reported: the transition is retried
			// (the next pass finds Ready not True), and the rest of the status says
			// where the request stands and why it is not Ready yet.
			phase, reason, msg = sdv1.PhaseProvisioning, "ReconcileError",
				fmt.Sprintf("%s is served, but its entry in the ledger is not written yet: %v", req.Status.FQDN, lerr)
			ready, err = false, lerr
		}
	}
	if !s.scheduled.IsZero() && (phase == sdv1.PhaseReady || phase == sdv1.PhaseTerminating) {
		// Ready keeps saying whether the current name is served; the phase and
		// Reconciling say that a change waits for the window.
		phase = sdv1.PhaseScheduled
		setAbnormal(s, sdv1.ConditionReconciling, true, "WaitingForChangeWindow", s.scheduledMessage())
	}
	if phase != sdv1.PhaseScheduled || ready {
		s.setCondition(sdv1.ConditionReady, ready, reason, msg)
	}
	stalled := phase == sdv1.PhaseConflict || phase == sdv1.PhaseFailed || phase == sdv1.PhaseRejected
	setAbnormal(s, sdv1.ConditionStalled, stalled, reason, msg)
	if phase != sdv1.PhaseScheduled {
		// Also when a change waits for the window but the pass ended otherwise (the
		// served name's upkeep refused: Failed, Conflict): the wait's Reconciling of
		// an earlier pass must not stay beside Stalled.
		setAbnormal(s, sdv1.ConditionReconciling, !ready && !stalled, reason, msg)
	}
	req.Status.Phase = phase
	req.Status.ObservedGeneration = req.Generation
	if !req.DeletionTimestamp.IsZero() && !s.scheduled.IsZero() {
		// The deletion raised the generation, and a deletion waiting for the window
		// runs no provisioning step while the site stays up as it was: the conditions
		// those steps set still hold, as of this generation (Ready too). Not once the
		// site is being taken down, when they no longer hold; nor outside a deletion,
		// where a condition of an older generation tells phase that its step has not
		// looked yet.
		for i := range req.Status.Conditions {
			req.Status.Conditions[i].ObservedGeneration = req.Generation
		}
	}
	if req.DeletionTimestamp.IsZero() {
		r.serviceLevel(s)
		// serviceLevel may ask to look again when a deadline passes.
		if d := s.requeueAfter; d > 0 && (res.RequeueAfter == 0 || d < res.RequeueAfter) {
			res.RequeueAfter = d
		}
	}
	written := true
	if !equality.Semantic.DeepEqual(base.Status, req.Status) && (req.DeletionTimestamp.IsZero() || controllerutil.ContainsFinalizer(req, sdv1.Finalizer)) {
		// Diff status only: metadata edits of this reconcile were written already.
		// Optimistic lock: a merge patch computed from a copy that misses our own last
		// status write (the cache showed someone's edit made before it) would leave out
		// fields that copy has already "right", and lose them; it is refused and
		// retried from a fresh copy instead.
		from := base.DeepCopy()
		from.ObjectMeta = *req.ObjectMeta.DeepCopy()
		if perr := r.Status().Patch(ctx, req, client.MergeFromWithOptions(from, client.MergeFromWithOptimisticLock{})); client.IgnoreNotFound(perr) != nil {
			// Not written: retry soon (backoff) whatever the steps said, and tell
			// nothing yet - the retry finds the same change and tells it.
			written, err = false, perr
		}
	}
	// Events and metrics only for a change that is written. One Event per change: an
	// approval that reaches Ready in the same reconcile is told in the Ready event (an
	// Event is an API write; a batch makes thousands).
	if written {
		if s.approvedNow != "" && (phase == base.Status.Phase || !ready) {
			r.Recorder.Eventf(req, nil, corev1.EventTypeNormal, "Approved", "Approve", "%s", s.approvedNow)
		}
		for _, f := range s.told {
			f()
		}
		if phase != base.Status.Phase {
			kind := corev1.EventTypeNormal
			if stalled {
				kind = corev1.EventTypeWarning
			}
			note := msg
			if s.approvedNow != "" && ready {
				note = s.approvedNow + "; " + msg
			}
			r.Recorder.Eventf(req, nil, kind, string(phase), "Reconcile", "%s", note)
		}
	}
	if req.ResourceVersion != base.ResourceVersion && r.InFlight != nil {
		// This reconcile wrote the request; until the cache shows the last write, a
		// copy at base's version or at one of our intermediate ones is stale.
		for _, rv := range append(s.wrote, base.ResourceVersion) {
			if rv != req.ResourceVersion {
				r.InFlight.Add(staleKey(req.UID, rv))
			}
		}
	}
	if written && r.waitsForRelease(s, e, base.Status.Phase) {
		return ctrl.Result{RequeueAfter: earliest(releasedRetry, res.RequeueAfter)}, nil
	}
	return resultFor(err, res)
}

// staleKey is the in-flight key that marks version rv of a request as outdated by
// this process's own write.
func staleKey(uid types.UID, rv string) string { return "SubdomainRequest/" + string(uid) + "@" + rv }

// staleCopy tells whether req, read from the cache, is a version this process has
// already replaced by a write the cache does not show yet. Reconciling it would
// redo the write (and a Ready record) from outdated status.
func (r *SubdomainRequestReconciler) staleCopy(req *sdv1.SubdomainRequest) bool {
	return r.InFlight != nil && r.InFlight.Pending(staleKey(req.UID, req.ResourceVersion)) > 0
}

// phase derives the phase and the Ready condition's reason and message.
func (r *SubdomainRequestReconciler) phase(s *requestScope, err error, e *reconcileerr.Error) (sdv1.Phase, string, string) {
	switch {
	case !s.req.DeletionTimestamp.IsZero():
		switch {
		case e != nil:
			return sdv1.PhaseTerminating, e.Reason, e.Message
		case err != nil:
			// The deletion cannot go on (a policy refuses the namespace's deletion,
			// the API server fails): say why, as outside a deletion.
			return sdv1.PhaseTerminating, "ReconcileError", err.Error()
		}
		return sdv1.PhaseTerminating, "Terminating", "the request is being deleted"
	case e != nil && e.Kind == reconcileerr.Conflict:
		return sdv1.PhaseConflict, e.Reason, e.Message
	case e != nil && e.Kind == reconcileerr.Invalid:
		return sdv1.PhaseFailed, e.Reason, e.Message
	case s.decision.Rejected && err != nil:
		// Not on record yet (gateApproval): not Rejected either, or the next pass
		// would take the rejection as recorded.
		return sdv1.PhasePending, "ReconcileError", "the rejection is not on record yet: " + err.Error()
	case s.decision.Rejected:
		return sdv1.PhaseRejected, s.decision.Reason, s.decision.Message
	case err == nil && s.label == "" && s.decision.Reason != "":
		return sdv1.PhasePending, s.decision.Reason, s.decision.Message
	case e != nil:
		return sdv1.PhaseProvisioning, e.Reason, e.Message
	case err != nil:
		return sdv1.PhaseProvisioning, "ReconcileError", err.Error()
	}
	for _, t := range provisioningConditions {
		c := meta.FindStatusCondition(s.req.Status.Conditions, t)
		if c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != s.req.Generation {
			if c == nil {
				return sdv1.PhaseProvisioning, "Provisioning", fmt.Sprintf("%s is not known yet", t)
			}
			return sdv1.PhaseProvisioning, c.Reason, c.Message
		}
	}
	return sdv1.PhaseReady, "Ready", fmt.Sprintf("%s is served at %s from namespace %s",
		s.req.Status.FQDN, s.req.Status.Address, s.req.Status.Namespace)
}

// setAbnormal sets a kstatus abnormal-true condition when on, and removes it when off
// (kstatus reads a missing Reconciling or Stalled as False).
func setAbnormal(s *requestScope, typ string, on bool, reason, msg string) {
	if !on {
		meta.RemoveStatusCondition(&s.req.Status.Conditions, typ)
		return
	}
	s.setCondition(typ, true, reason, msg)
}

// recordServing records in the ledger that the request's name starts serving (its
// first Ready, or a rename's new name), with its times and the zone's standards then,
// and sets readyAt at the first. On an error nothing is set or told: the next pass
// records it again.
func (r *SubdomainRequestReconciler) recordServing(ctx context.Context, s *requestScope) error {
	req := s.req
	now := metav1.NewTime(s.now)
	e := sdv1.LedgerEntry{At: now, FQDN: req.Status.FQDN, Address: req.Status.Address, Namespace: req.Status.Namespace}
	var tell func()
	if a := req.Status.Approval; a != nil {
		e.ApprovedBy = a.ApprovedBy
		if a.ApprovedAt != nil {
			from := a.ApprovedAt.Time
			if req.Status.ReadyAt != nil && s.zone != nil {
				// A rename waits for the change window: its time counts from when
				// it could first be made (creation is not held).
				from = window.ChangeFrom(s.zone.Spec.ChangeWindow, from)
			}
			took := now.Sub(from)
			e.Seconds = seconds(took)
			if req.Status.ReadyAt == nil {
				zone := req.Spec.Zone
				tell = func() { approvalToReady.WithLabelValues(zone).Observe(took.Seconds()) }
			}
		}
	}
	if req.Status.ReadyAt == nil && req.Status.ApprovedAt != nil {
		// The first Ready stands for the approval too.
		e.ApprovalSeconds = seconds(req.Status.ApprovedAt.Sub(req.CreationTimestamp.Time))
	}
	if s.zone != nil { // the standards in force, for the report of this year and later ones
		if e.ApprovalSeconds != nil {
			e.ApprovalStandardSeconds = standardSeconds(s.zone.Spec.ServiceLevel.Approval)
		}
		if e.Seconds != nil {
			e.ProvisioningStandardSeconds = standardSeconds(s.zone.Spec.ServiceLevel.Provisioning)
		}
	}
	if err := r.record(ctx, s, sdv1.LedgerReady, req.Status.FQDN, e); err != nil {
		return err
	}
	if tell != nil {
		s.told = append(s.told, tell)
	}
	if req.Status.ReadyAt == nil {
		// The first Ready, as approvedAt is the first approval: the service level
		// measures the first provisioning; each later name's time is in its
		// ledger entry.
		req.Status.ReadyAt = &now
	}
	return nil
}
