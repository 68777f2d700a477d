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
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	dnsv1 "sigs.k8s.io/external-dns/apis/v1alpha1"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/naming"
	"github.com/kominfo/subdomain-operator/internal/reconcileerr"
)

// finalize runs while the request is being deleted. With deletionPolicy Delete it
// removes the DNS records, the load balancer Service and the hosting namespace, waits
// until the namespace is gone, then releases the claims. With Retain it only removes
// the owner references, so that garbage collection leaves the site, records, Secret
// and claims in place. Then it removes the finalizer. The ledger records the deletion
// only of a request that held a name: one approved and deleted before it got one (the
// finalizer policy adds the finalizer on approval) is no event for the register. The
// approval of a request that never served is recorded all the same
// (recordUnservedApproval).
// A request that never became Ready is not held to the change window. A deletion that
// asked to orphan the request's objects is carried out as Retain (orphaned). Returns
// Waiting while the namespace is being deleted.
func (r *SubdomainRequestReconciler) finalize(ctx context.Context, s *requestScope) error {
	if !controllerutil.ContainsFinalizer(s.req, sdv1.Finalizer) {
		return nil
	}
	// The zone, when there is one, holds the window and the places of the DNSEndpoint
	// and the load balancer Service.
	if zone, err := cachedZone(r.zones, s.req.Spec.Zone); err == nil {
		s.zone = zone
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	children, left, err := r.children(ctx, s)
	if err != nil {
		return err
	}
	// The change window guards a served site; one that never became Ready (Pending,
	// Conflict, Rejected, Failed) goes at once, and so does one whose deletion has
	// begun - holding its claims past the window's end would keep nothing up.
	if s.req.Spec.DeletionPolicy != sdv1.DeletionPolicyRetain && s.req.Status.ReadyAt != nil && !deletionBegun(s.req, children) {
		next, err := r.nextWindow(s)
		if err != nil {
			return err
		}
		if !next.IsZero() {
			s.scheduled, s.scheduledWhat = next, "the deletion of "+s.req.Status.FQDN
			return nil
		}
	}
	// The policy is the one the deletion began with: a Delete deletion that has begun
	// taking the site down goes on as Delete when the spec says Retain since - keeping
	// the claims of a site whose namespace is going would hold its name and address for
	// nothing, and record it as left in place.
	retain := s.req.Spec.DeletionPolicy == sdv1.DeletionPolicyRetain && !takingDown(s.req, children)
	orphan := ""
	if !retain {
		// Under Retain, children without the request's owner reference are this
		// deletion's own work (an earlier pass disowned them, and its finalizer's
		// removal or ledger record failed): no orphaning asked for.
		orphan = r.orphaned(s.req, left)
	}
	if retain || orphan != "" {
		// Garbage collection follows owner references, not labels: what carries the
		// request's reference at its names and places is disowned too, read live - a
		// child made moments ago and not cached yet, or one whose label someone took
		// off, would go with the request.
		disowned, err := r.referencedLive(ctx, s)
		if err != nil {
			return err
		}
		// The cache's copies of those would patch each one a second time: add only
		// the children not among them (a DNSEndpoint or Service at an older place).
		for _, c := range children {
			if !slices.ContainsFunc(disowned, func(d client.Object) bool { return d.GetUID() == c.GetUID() }) {
				disowned = append(disowned, c)
			}
		}
		for _, c := range disowned {
			if err := r.disown(ctx, s.req, c); err != nil {
				return err
			}
		}
		if err := r.markRetained(ctx, s.req); err != nil {
			return err
		}
		if err := r.recordEnd(ctx, s, sdv1.LedgerRetained); err != nil {
			return err
		}
	} else {
		if s.req.Status.DeletionPolicy != sdv1.DeletionPolicyDelete {
			// The pass that begins the deletion records a never-served request's
			// approval (recordEnd does again, at no cost, if this pass's status is
			// lost): a finalizer removed by hand during the wait would lose it, and
			// the passes of the wait write nothing.
			if err := r.recordUnservedApproval(ctx, s); err != nil {
				return err
			}
			if err := r.beginDeletion(ctx, s); err != nil {
				return err
			}
		}
		if err := r.deleteChildren(ctx, s, children); err != nil {
			return err
		}
		if err := r.recordEnd(ctx, s, sdv1.LedgerDeleted); err != nil {
			return err
		}
		if err := r.releaseClaims(ctx, s.req); err != nil {
			return err
		}
		r.unsure.drop(s.req.Name)
		r.strays.set(s.req.Name, nil)
	}
	base := s.req.DeepCopy()
	controllerutil.RemoveFinalizer(s.req, sdv1.Finalizer)
	if err := r.Patch(ctx, s.req, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); !apierrors.IsNotFound(err) && err != nil {
		// Told by the retry that removes the finalizer, once. (Gone already - the
		// finalizer removed by hand meanwhile - is told now: no retry comes.)
		return err
	}
	switch {
	case !retain && orphan == "":
		r.Recorder.Eventf(s.req, nil, corev1.EventTypeNormal, "Deleted", "Delete",
			"the site, DNS records and claims were removed")
	case orphan != "":
		r.Recorder.Eventf(s.req, nil, corev1.EventTypeWarning, "Retained", "Delete",
			"the deletion asked to orphan the request's objects (%s): treated as deletionPolicy Retain, the site, DNS records, Secret and claims stay in place", orphan)
	default:
		r.Recorder.Eventf(s.req, nil, corev1.EventTypeNormal, "Retained", "Delete",
			"deletionPolicy Retain: the site, DNS records, Secret and claims stay in place")
	}
	return nil
}

// beginDeletion writes status.deletionPolicy Delete - the decision to take the site
// down - before anything is deleted, on its own: the pass's status is written at its
// end, and a pass that deleted the records, Service and namespace but lost that write
// (a conflict, the API server failing, the manager killed) would leave the next pass
// nothing that says the deletion began - it would hold the site's remains for the
// window, or switch to Retain and keep the claims of a site already gone. Refused, the
// pass deletes nothing and is retried.
func (r *SubdomainRequestReconciler) beginDeletion(ctx context.Context, s *requestScope) error {
	from := s.req.DeepCopy()
	s.req.Status.DeletionPolicy = sdv1.DeletionPolicyDelete
	if err := r.Status().Patch(ctx, s.req, client.MergeFromWithOptions(from, client.MergeFromWithOptimisticLock{})); err != nil {
		s.req.Status.DeletionPolicy = from.Status.DeletionPolicy
		return err
	}
	s.wrote = append(s.wrote, s.req.ResourceVersion)
	return nil
}

// deletionBegun tells whether an earlier pass, in the window, began to remove the
// site: status.deletionPolicy is Delete (beginDeletion), or the phase is Terminating
// and the hosting namespace is being deleted or gone (an operator that did not write
// the decision first). The phase alone does not tell it: a pass that an unusable
// change window held (InvalidChangeWindow) writes Terminating too, and its site is
// still up.
func deletionBegun(req *sdv1.SubdomainRequest, children []client.Object) bool {
	if req.Status.DeletionPolicy == sdv1.DeletionPolicyDelete {
		return true
	}
	if req.Status.Phase != sdv1.PhaseTerminating {
		return false
	}
	ns := namespaceIn(children)
	return ns == nil || !ns.DeletionTimestamp.IsZero()
}

// namespaceIn is the hosting namespace among children, if there (children reads one).
func namespaceIn(children []client.Object) *corev1.Namespace {
	for _, c := range children {
		if ns, ok := c.(*corev1.Namespace); ok {
			return ns
		}
	}
	return nil
}

// takingDown tells whether an earlier pass of a Delete deletion began to take the
// site down: status.deletionPolicy says so (beginDeletion, written before anything is
// deleted), or, for an operator that did not write it first, the
// phase is Terminating and the hosting namespace is being deleted or the last pass
// waited for that (reason DeletingNamespace). Unlike deletionBegun, a namespace that is
// simply not there does not count: a Retain deletion whose pass failed is Terminating too.
func takingDown(req *sdv1.SubdomainRequest, children []client.Object) bool {
	if req.Status.DeletionPolicy == sdv1.DeletionPolicyDelete {
		return true
	}
	if req.Status.Phase != sdv1.PhaseTerminating {
		return false
	}
	if ns := namespaceIn(children); ns != nil && !ns.DeletionTimestamp.IsZero() {
		return true
	}
	ready := meta.FindStatusCondition(req.Status.Conditions, sdv1.ConditionReady)
	return ready != nil && ready.Reason == reasonDeletingNamespace
}

// orphaned says why the request's deletion asked to leave its objects in place
// (propagationPolicy Orphan, kubectl delete --cascade=orphan), or "" when it did not:
// the API server put the orphan finalizer on the request, or garbage collection has
// already taken the request's owner reference off its namespace, load balancer
// Service or DNSEndpoint (left, see children). Such a deletion is carried out as
// deletionPolicy Retain: deleting what was to be left would be wrong, and releasing
// the claims would free an address a left Service still asks the load balancer for.
func (r *SubdomainRequestReconciler) orphaned(req *sdv1.SubdomainRequest, left []client.Object) string {
	if controllerutil.ContainsFinalizer(req, metav1.FinalizerOrphanDependents) {
		return "propagationPolicy Orphan"
	}
	if len(left) > 0 {
		return fmt.Sprintf("%s has lost its owner reference", describe(r, left[0]))
	}
	return ""
}

// recordUnservedApproval writes the Approved entry of a request deleted before it ever
// served, for its approval on record: a first approval is otherwise recorded only with
// the Ready entry it leads to, and a decision on record must not vanish with the
// request (the annual report's time-to-approval, describe of the gone request). The
// entry is dated when the approval that provisioning answered to was given
// (status.approvedAt) and carries its time-to-approval in seconds, as the Ready entry
// would have; nothing is written for a request never approved, or one that served
// (its Ready entry holds its approval).
func (r *SubdomainRequestReconciler) recordUnservedApproval(ctx context.Context, s *requestScope) error {
	st := s.req.Status
	a, at := st.Approval, st.ApprovedAt // set together (gateApproval)
	if st.ReadyAt != nil || a == nil || at == nil {
		return nil
	}
	fqdn := a.Name
	if s.zone != nil {
		fqdn = naming.FQDN(a.Name, s.zone.Spec.Domain)
	}
	e := sdv1.LedgerEntry{At: *at, FQDN: fqdn, ApprovedBy: a.ApprovedBy, Seconds: seconds(at.Sub(s.req.CreationTimestamp.Time))}
	if s.zone != nil {
		e.ApprovalStandardSeconds = standardSeconds(s.zone.Spec.ServiceLevel.Approval)
	}
	// Its own id: an approval given again before the deletion (an Approved entry of
	// that name) is a record of its own.
	return r.record(ctx, s, sdv1.LedgerApproved, "unserved/"+a.Name, e)
}

// recordEnd writes the ledger's Deleted or Retained entry of a request that held a name.
func (r *SubdomainRequestReconciler) recordEnd(ctx context.Context, s *requestScope, typ sdv1.LedgerEntryType) error {
	// First the approval of a request that never served, once the deletion has done
	// its waiting: a pass that waits for the namespace to go writes no ledger.
	if err := r.recordUnservedApproval(ctx, s); err != nil {
		return err
	}
	if s.req.Status.FQDN == "" {
		return nil
	}
	e := sdv1.LedgerEntry{FQDN: s.req.Status.FQDN, Address: s.req.Status.Address}
	if s.zone != nil {
		// The zone's shared address, unless the request holds its claim (from when
		// the zone had a pool): then it is released like any pool address.
		shared, err1 := netip.ParseAddr(s.zone.Spec.SharedAddress)
		addr, err2 := netip.ParseAddr(s.req.Status.Address)
		if err1 == nil && err2 == nil && shared == addr {
			held, err := r.heldAddresses(ctx, false, s.req)
			if err != nil {
				return err
			}
			e.SharedAddress = !slices.ContainsFunc(held, func(c sdv1.SubdomainClaim) bool { return c.Name == naming.AddressClaimName(addr) })
		}
	}
	return r.record(ctx, s, typ, "", e)
}

// children lists the objects the request created, found at the request's names and
// places and by its label, never by guess: an object the request (by UID) does not
// control is not its child, labelled or not. left are those of its namespace, its load balancer Service and its DNSEndpoint
// (at the places s.zone gives them) that garbage collection has orphaned: there with
// the request's label, made after the request, with no controller. Only the request's
// own names and places count: a labelled object elsewhere is anyone's, and one older
// than the request is an earlier request's of the same name (one deleted with
// deletionPolicy Retain).
func (r *SubdomainRequestReconciler) children(ctx context.Context, s *requestScope) (owned, left []client.Object, err error) {
	req := s.req
	ns := deletionNamespace(req)
	places := zonePlaces(req, s.zone)
	placed := func(o client.Object) bool {
		if _, ok := o.(*corev1.Namespace); ok {
			return o.GetName() == ns
		}
		return slices.ContainsFunc(places, func(p client.Object) bool {
			return reflect.TypeOf(p) == reflect.TypeOf(o) && client.ObjectKeyFromObject(p) == client.ObjectKeyFromObject(o)
		})
	}
	classify := func(o client.Object) {
		made := o.GetCreationTimestamp()
		switch {
		case mine(o, req):
			owned = append(owned, o)
		case placed(o) && o.GetLabels()[sdv1.LabelRequest] == req.Name && metav1.GetControllerOf(o) == nil && !made.Before(&req.CreationTimestamp):
			left = append(left, o)
		}
	}
	for _, c := range hostingChildren(ns, req.Name) {
		read := r.Get
		if _, ok := c.(*corev1.Namespace); ok {
			// The namespace decides when the claims are released: ask the API server,
			// not a cache that may not show one created moments ago.
			read = r.APIReader.Get
		}
		err := read(ctx, client.ObjectKeyFromObject(c), c)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		classify(c)
	}
	eps := &dnsv1.DNSEndpointList{}
	if err := r.List(ctx, eps, client.MatchingLabels{sdv1.LabelRequest: req.Name}); err != nil {
		return nil, nil, err
	}
	for i := range eps.Items {
		classify(&eps.Items[i])
	}
	svcs := &corev1.ServiceList{} // by the index dropStrayServices reads too, not a scan
	if err := r.List(ctx, svcs, client.MatchingFields{indexRequestLabel: req.Name}); err != nil {
		return nil, nil, err
	}
	for i := range svcs.Items {
		classify(&svcs.Items[i])
	}
	// The DNSEndpoint and load balancer Service at the zone's places are the request's
	// even when someone took its label off them (the lists above go by the label):
	// those not listed are read from the API server.
	listed := map[string]bool{}
	for _, o := range append(slices.Clone(owned), left...) {
		listed[fmt.Sprintf("%T %s", o, client.ObjectKeyFromObject(o))] = true
	}
	for _, p := range places {
		if listed[fmt.Sprintf("%T %s", p, client.ObjectKeyFromObject(p))] {
			continue
		}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(p), p); err == nil {
			classify(p)
		} else if !apierrors.IsNotFound(err) {
			return nil, nil, err
		}
	}
	return owned, left, nil
}

// deletionNamespace is the hosting namespace a deletion looks in: the one status
// names, else the one the spec gives.
func deletionNamespace(req *sdv1.SubdomainRequest) string {
	if ns := req.Status.Namespace; ns != "" {
		return ns
	}
	return naming.HostingNamespace(req)
}

// zonePlaces are empty objects at the names the request's DNSEndpoint and load
// balancer Service have at the places zone z gives them; none without the zone.
func zonePlaces(req *sdv1.SubdomainRequest, z *sdv1.SubdomainZone) []client.Object {
	if z == nil {
		return nil
	}
	out := []client.Object{&dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: z.Spec.DNS.Namespace, Name: req.Name}}}
	if z.Spec.Ingress.ControllerNamespace != "" {
		out = append(out, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: z.Spec.Ingress.ControllerNamespace, Name: sdv1.LoadBalancerServicePrefix + req.Name}})
	}
	return out
}

// hostingChildren are empty objects at the names a request's children have in its
// hosting namespace ns, and the namespace.
func hostingChildren(ns, request string) []client.Object {
	return []client.Object{
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: request}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sdv1.CredentialsSecretName}},
		&corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sdv1.HostingObjectName}},
		&corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sdv1.HostingObjectName}},
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sdv1.HostingObjectName}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sdv1.AdminRoleBindingName}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
	}
}

// referencedLive reads from the API server the objects at the request's children's
// names (and, with its zone, its DNSEndpoint and load balancer Service) and returns
// those that carry an owner reference to it, whatever their labels.
func (r *SubdomainRequestReconciler) referencedLive(ctx context.Context, s *requestScope) ([]client.Object, error) {
	req := s.req
	candidates := append(hostingChildren(deletionNamespace(req), req.Name), zonePlaces(req, s.zone)...)
	var out []client.Object
	for _, c := range candidates {
		err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(c), c)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(c.GetOwnerReferences(), func(o metav1.OwnerReference) bool { return o.UID == req.UID }) {
			out = append(out, c)
		}
	}
	return out, nil
}

// deleteChildren deletes the DNS records and Service first (the name stops resolving
// soonest), then the namespace, and waits until the namespace is gone (namespaceWait).
func (r *SubdomainRequestReconciler) deleteChildren(ctx context.Context, s *requestScope, children []client.Object) error {
	var nsLeft *corev1.Namespace
	for _, c := range children {
		switch o := c.(type) {
		case *corev1.Namespace:
			nsLeft = o
		case *dnsv1.DNSEndpoint, *corev1.Service:
			if err := r.Delete(ctx, c); client.IgnoreNotFound(err) != nil {
				return err
			}
		}
	}
	if nsLeft == nil {
		return nil
	}
	if nsLeft.DeletionTimestamp.IsZero() {
		if err := r.Delete(ctx, nsLeft); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	wait, why := namespaceWait(nsLeft, s.now)
	return reconcileerr.NewWaiting("", reasonDeletingNamespace, wait,
		"waiting for namespace %s to be deleted before releasing the name and address%s", nsLeft.Name, why)
}

// namespaceWait says how long a pass waiting for namespace ns to go looks again after,
// and why it is still there. The namespace's watch event brings the pass that finds
// it gone; the look is a backstop (for a namespace whose label someone took off,
// which the cache does not show): soon at first, as a namespace usually goes in
// seconds, then half the time it has been terminating, up to maxNamespaceWait - a
// namespace stuck for hours (a finalizer whose controller is gone, an API group that
// cannot be listed) is not read from the API server every two seconds. why quotes
// the namespace controller's conditions that hold (what is left, which finalizers),
// which name what holds it; empty when there are none.
func namespaceWait(ns *corev1.Namespace, now time.Time) (wait time.Duration, why string) {
	wait = cacheLagRetry
	if t := ns.DeletionTimestamp; t != nil {
		wait = min(max(now.Sub(t.Time)/2, cacheLagRetry), maxNamespaceWait)
	}
	var held []string
	for _, c := range ns.Status.Conditions {
		if c.Status == corev1.ConditionTrue && c.Message != "" {
			held = append(held, fmt.Sprintf("%s: %s", c.Type, c.Message))
		}
	}
	if len(held) == 0 {
		return wait, ""
	}
	return wait, "; " + clip(strings.Join(held, "; "), maxRefusal)
}

// maxNamespaceWait bounds the backstop of a pass waiting for a namespace to go.
const maxNamespaceWait = 5 * time.Minute

// reasonDeletingNamespace is the reason of a Delete deletion waiting for its namespace.
const reasonDeletingNamespace = "DeletingNamespace"

// disown removes the request's owner reference from c, so that garbage collection
// leaves it when the request is gone.
func (r *SubdomainRequestReconciler) disown(ctx context.Context, req *sdv1.SubdomainRequest, c client.Object) error {
	refs := c.GetOwnerReferences()
	kept := slices.DeleteFunc(slices.Clone(refs), func(o metav1.OwnerReference) bool { return o.UID == req.UID })
	if len(kept) == len(refs) {
		return nil
	}
	base := c.DeepCopyObject().(client.Object)
	c.SetOwnerReferences(kept)
	return quiet(r, c, client.IgnoreNotFound(r.Patch(ctx, c, client.MergeFrom(base))))
}
