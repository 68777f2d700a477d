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

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/naming"
)

// markRetained marks the claims req holds as a Retain deletion's: they stay after the
// request is gone, and sweepClaims leaves them.
func (r *SubdomainRequestReconciler) markRetained(ctx context.Context, req *sdv1.SubdomainRequest) error {
	list := &sdv1.SubdomainClaimList{}
	if err := r.APIReader.List(ctx, list, client.MatchingLabels{sdv1.LabelRequest: req.Name}); err != nil {
		return err
	}
	for i := range list.Items {
		c := &list.Items[i]
		if !claimOf(c, req) || c.Annotations[sdv1.AnnotationRetained] != "" {
			continue
		}
		base := c.DeepCopy()
		metav1.SetMetaDataAnnotation(&c.ObjectMeta, sdv1.AnnotationRetained, "true")
		if err := r.Patch(ctx, c, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}

// sweepClaims runs for a request that is gone. Its claims went with its deletion
// (Delete releases them before the finalizer goes) or stay marked (Retain), unless the
// deletion never ran: someone removed the finalizer by hand. Such a request's claims
// are released here once nothing it made serves the name or asks for the address any
// more - garbage collection deletes those after the request, so it looks again every
// cacheLagRetry until then - and the deletion is recorded in the ledger. A claim whose
// name or address something else still serves (a foreign object, a site left by an
// earlier request) stays. A request made since under the same name holds its own
// claims (another UID); claims made before claims carried the UID are left alone.
func (r *SubdomainRequestReconciler) sweepClaims(ctx context.Context, name string) (ctrl.Result, error) {
	list := &sdv1.SubdomainClaimList{}
	if err := r.List(ctx, list, client.MatchingFields{indexClaimRequest: name}); err != nil || len(list.Items) == 0 {
		return ctrl.Result{}, err
	}
	var now types.UID // the UID of a request of that name made since, if any
	live := &sdv1.SubdomainRequest{}
	if err := r.APIReader.Get(ctx, types.NamespacedName{Name: name}, live); err == nil {
		now = live.UID
	} else if !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	var release []*sdv1.SubdomainClaim
	for i := range list.Items {
		c := &list.Items[i]
		uid := types.UID(c.Labels[sdv1.LabelRequestUID])
		if uid == "" || uid == now || c.Annotations[sdv1.AnnotationRetained] != "" {
			continue
		}
		// The cache may not show a Retain deletion's mark yet: ask the API server.
		fresh := &sdv1.SubdomainClaim{}
		if err := r.APIReader.Get(ctx, types.NamespacedName{Name: c.Name}, fresh); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return ctrl.Result{}, err
		}
		if fresh.UID != c.UID || fresh.Annotations[sdv1.AnnotationRetained] != "" {
			continue
		}
		switch r.claimInUse(ctx, fresh, uid) {
		case usedByGone:
			return ctrl.Result{RequeueAfter: cacheLagRetry}, nil
		case usedByOthers:
			continue
		}
		release = append(release, fresh)
	}
	if len(release) == 0 {
		return ctrl.Result{}, nil
	}
	gone := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(release[0].Labels[sdv1.LabelRequestUID])}}
	e := sdv1.LedgerEntry{Reason: "the request was deleted without the operator's deletion (its finalizer removed by hand): its claims were released once nothing of it served"}
	for _, c := range release {
		gone.Spec.Zone = c.Spec.Zone
		if c.Spec.Type == sdv1.ClaimTypeFQDN {
			e.FQDN = c.Spec.Value
		} else {
			e.Address = c.Spec.Value
		}
	}
	if e.FQDN != "" {
		if err := r.record(ctx, &requestScope{req: gone}, sdv1.LedgerDeleted, "", e); err != nil {
			return ctrl.Result{}, err
		}
	}
	for _, c := range release {
		if err := r.deleteClaim(ctx, c, gone); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, nil
}

// claimUse says who still serves a claim's name or asks for its address.
type claimUse int

const (
	unused       claimUse = iota
	usedByGone            // objects of the gone request, which garbage collection will delete
	usedByOthers          // anything else
)

// claimInUse tells whether anything in the cache serves claim c's name (Ingress,
// DNSEndpoint) or publishes or asks for its address (a request's status, a load
// balancer Service of the gone request, uid).
func (r *SubdomainRequestReconciler) claimInUse(ctx context.Context, c *sdv1.SubdomainClaim, uid types.UID) claimUse {
	use := unused
	note := func(o metav1.Object) {
		if owner := metav1.GetControllerOf(o); owner != nil && owner.UID == uid {
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
	if err := r.List(ctx, svcs, client.MatchingFields{indexServiceRequest: c.Spec.Request}); err != nil {
		return usedByOthers
	}
	for i := range svcs.Items {
		note(&svcs.Items[i])
	}
	return use
}
