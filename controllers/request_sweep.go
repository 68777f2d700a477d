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
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	dnsv1 "sigs.k8s.io/external-dns/apis/v1alpha1"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/naming"
)

// markRetained marks the claims req holds as a Retain deletion's (annotation and label
// LabelRetained, which subdomain-retained-hostnames selects): they stay after the
// request is gone, and sweepClaims leaves them. It finds them as sweepClaims does, by
// spec.request (from the API server: the cache may lag), not by a label someone may
// have taken off.
func (r *SubdomainRequestReconciler) markRetained(ctx context.Context, req *sdv1.SubdomainRequest) error {
	list := &sdv1.SubdomainClaimList{}
	if err := r.APIReader.List(ctx, list, client.MatchingFields{indexClaimRequest: req.Name}); err != nil {
		return err
	}
	for i := range list.Items {
		c := &list.Items[i]
		if !claimOf(c, req) || c.Annotations[sdv1.AnnotationRetained] != "" && c.Labels[sdv1.LabelRetained] != "" {
			continue
		}
		base := c.DeepCopy()
		metav1.SetMetaDataAnnotation(&c.ObjectMeta, sdv1.AnnotationRetained, "true")
		metav1.SetMetaDataLabel(&c.ObjectMeta, sdv1.LabelRetained, "true")
		if err := r.Patch(ctx, c, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return r.markSharedRetained(ctx, req)
}

// markSharedRetained marks the claim of a shared zone's address that a retained site
// publishes (it holds no claim of its own on it) and takes it from its zones: no zone
// deletes it when it stops sharing the address or goes, nor does garbage collection
// (a foreground deletion takes its dependents), so no pool gives the address to
// another request while the retained records point at it. The zone counts it as held.
func (r *SubdomainRequestReconciler) markSharedRetained(ctx context.Context, req *sdv1.SubdomainRequest) error {
	a, err := netip.ParseAddr(req.Status.Address)
	if err != nil || req.Status.ReadyAt == nil {
		return nil // a site that never served published nothing
	}
	c := &sdv1.SubdomainClaim{}
	err = r.APIReader.Get(ctx, client.ObjectKey{Name: naming.AddressClaimName(a)}, c)
	if apierrors.IsNotFound(err) {
		// Gone with its zone (a foreground deletion's garbage collection takes a
		// zone's dependents while the zone waits for its requests): held again for
		// the retained site, as the zone held it. A pool may have taken the address
		// meanwhile: then it is that request's, and the site's record is stale.
		c = newSharedAddressClaim(naming.AddressClaimName(a), a.String(), req.Spec.Zone)
		c.Annotations = map[string]string{sdv1.AnnotationRetained: "true"}
		return client.IgnoreAlreadyExists(r.Create(ctx, c))
	}
	if err != nil {
		return err
	}
	if !sharedAddressClaim(c) || c.Annotations[sdv1.AnnotationRetained] != "" {
		return nil
	}
	base := c.DeepCopy()
	metav1.SetMetaDataAnnotation(&c.ObjectMeta, sdv1.AnnotationRetained, "true")
	c.OwnerReferences = nil
	return client.IgnoreNotFound(r.Patch(ctx, c, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})))
}

// sweepClaims runs for a request that is gone. Its claims went with its deletion
// (Delete releases them before the finalizer goes) or stay marked (Retain), unless the
// deletion never ran: someone removed the finalizer by hand. Such a request's claims
// are released here, all at once, when nothing it made serves the name or asks for
// the address any more - garbage collection deletes those after the request (its
// hosting namespace with all in it), and their deletions bring the request's name
// back here; sweepBackstop looks again in case - and the deletion is recorded in the
// ledger. While anything else serves its name or uses its address (a foreign object,
// a site left by a Retain deletion of an older operator that did not mark its claims),
// nothing is released. A request made since under the same name holds its own claims
// (another UID); claims made before claims carried the UID are left alone.
func (r *SubdomainRequestReconciler) sweepClaims(ctx context.Context, name string) (ctrl.Result, error) {
	list := &sdv1.SubdomainClaimList{}
	if err := r.List(ctx, list, client.MatchingFields{indexClaimRequest: name}); err != nil {
		return ctrl.Result{}, err
	}
	groups := map[types.UID][]*sdv1.SubdomainClaim{}
	for i := range list.Items {
		c := &list.Items[i]
		if uid := types.UID(c.Labels[sdv1.LabelRequestUID]); uid != "" && c.Annotations[sdv1.AnnotationRetained] == "" {
			groups[uid] = append(groups[uid], c)
		}
	}
	if len(groups) == 0 {
		return ctrl.Result{}, nil
	}
	var now types.UID // the UID of a request of that name made since, if any
	live := &sdv1.SubdomainRequest{}
	if err := r.APIReader.Get(ctx, types.NamespacedName{Name: name}, live); err == nil {
		now = live.UID
	} else if !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	res := ctrl.Result{}
	for uid, claims := range groups {
		if uid == now {
			continue
		}
		again, err := r.sweepGone(ctx, name, uid, claims)
		if err != nil {
			return ctrl.Result{}, err
		}
		if again {
			res.RequeueAfter = sweepBackstop
		}
	}
	return res, nil
}

// sweepBackstop is how soon sweepClaims looks again at a gone request's claims while
// its objects still go: their deletions wake it earlier.
const sweepBackstop = 30 * time.Second

// sweepGone releases the claims of the gone request uid (name), read again from the API
// server (the cache may not show a Retain deletion's mark yet), when none is in use;
// again says its objects are still going.
func (r *SubdomainRequestReconciler) sweepGone(ctx context.Context, name string, uid types.UID, cached []*sdv1.SubdomainClaim) (again bool, err error) {
	gone := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: name, UID: uid}}
	// Namespaces it controls (its hosting namespace, with all in it) are the gone
	// request's until garbage collection has deleted them.
	namespaces := &corev1.NamespaceList{}
	if err := r.List(ctx, namespaces, client.MatchingLabels{sdv1.LabelRequest: name}); err != nil {
		return false, err
	}
	doomed := map[string]bool{}
	for i := range namespaces.Items {
		if ns := &namespaces.Items[i]; metav1.IsControlledBy(ns, gone) {
			doomed[ns.Name] = true
		}
	}
	var release []*sdv1.SubdomainClaim
	for _, c := range cached {
		fresh := &sdv1.SubdomainClaim{}
		if err := r.APIReader.Get(ctx, types.NamespacedName{Name: c.Name}, fresh); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return false, err
		}
		if fresh.UID != c.UID || fresh.Annotations[sdv1.AnnotationRetained] != "" {
			return false, nil // retained after all: leave them all
		}
		switch r.claimInUse(ctx, fresh, gone, doomed) {
		case usedByGone:
			return true, nil
		case usedByOthers:
			return false, nil
		}
		release = append(release, fresh)
	}
	if len(release) == 0 {
		return false, nil
	}
	e := sdv1.LedgerEntry{Reason: "the request was deleted without the operator's deletion (its finalizer removed by hand): its claims were released once nothing of it served"}
	var named *sdv1.SubdomainClaim // the name it served: its newest name claim (a rename's old name was claimed before)
	for _, c := range release {
		gone.Spec.Zone = c.Spec.Zone
		switch {
		case c.Spec.Type != sdv1.ClaimTypeFQDN:
			e.Address = c.Spec.Value
		case named == nil || named.CreationTimestamp.Before(&c.CreationTimestamp):
			named = c
		}
	}
	if named != nil {
		e.FQDN = named.Spec.Value
		if err := r.record(ctx, &requestScope{req: gone}, sdv1.LedgerDeleted, "", e); err != nil {
			return false, err
		}
	}
	for _, c := range release {
		// Deleted with its UID as precondition: one replaced meanwhile is not this one.
		if err := r.deleteClaim(ctx, c, gone); err != nil && !apierrors.IsConflict(err) {
			return false, err
		}
	}
	return false, nil
}

// claimUse says who still serves a claim's name or uses its address.
type claimUse int

const (
	unused       claimUse = iota
	usedByGone            // objects of the gone request, which garbage collection will delete
	usedByOthers          // anything else
)

// claimInUse tells whether anything in the cache serves claim c's name (an Ingress or
// DNSEndpoint, the gone request's hosting namespace: one of doomed) or uses its address
// (a request's status, a DNSEndpoint or load balancer Service labelled for the gone
// request). What the gone request controls, or what stands in a namespace it controls,
// is usedByGone: garbage collection deletes it.
func (r *SubdomainRequestReconciler) claimInUse(ctx context.Context, c *sdv1.SubdomainClaim, gone *sdv1.SubdomainRequest, doomed map[string]bool) claimUse {
	use := unused
	if len(doomed) > 0 {
		use = usedByGone // the hosting namespace (its admins may serve the name) still stands
	}
	note := func(o metav1.Object) {
		if metav1.IsControlledBy(o, gone) || doomed[o.GetNamespace()] {
			use = max(use, usedByGone)
		} else {
			use = usedByOthers
		}
	}
	if c.Spec.Type == sdv1.ClaimTypeFQDN {
		ingresses, records, err := r.servers(c.Spec.Value)
		if err != nil {
			return usedByOthers
		}
		for _, o := range append(ingresses, records...) {
			note(o)
		}
		return use
	}
	addr, err := netip.ParseAddr(c.Spec.Value)
	if err != nil {
		return usedByOthers
	}
	if published, err := r.published.ByIndex(publishedAddresses, naming.AddressClaimName(addr)); err != nil || len(published) > 0 {
		return usedByOthers
	}
	svcs := &corev1.ServiceList{}
	if err := r.List(ctx, svcs, client.MatchingFields{indexRequestLabel: gone.Name}); err != nil {
		return usedByOthers
	}
	for i := range svcs.Items {
		note(&svcs.Items[i])
	}
	records := &dnsv1.DNSEndpointList{}
	if err := r.List(ctx, records, client.MatchingLabels{sdv1.LabelRequest: gone.Name}); err != nil {
		return usedByOthers
	}
	for i := range records.Items {
		note(&records.Items[i])
	}
	return use
}
