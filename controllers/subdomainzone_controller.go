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
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/ipam"
)

// SubdomainZoneReconciler reports a zone's pool use and whether its settings are usable.
type SubdomainZoneReconciler struct {
	client.Client
	// claims is the claims informer's indexer, with indexZoneAddresses; set up by
	// SetupWithManager.
	claims toolscache.Indexer
}

// +kubebuilder:rbac:groups=subdomain.kominfo.go.id,resources=subdomainzones/status,verbs=patch

// Reconcile counts the zone's address claims and checks what the API server cannot
// (the change window's time zone). Sets Ready. Writes status only when it changed.
func (r *SubdomainZoneReconciler) Reconcile(ctx context.Context, key ctrl.Request) (ctrl.Result, error) {
	zone := &sdv1.SubdomainZone{}
	if err := r.Get(ctx, key.NamespacedName, zone); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	base := zone.DeepCopy()
	// Read in place from the index: no copy of thousands of cached claims.
	held, err := r.claims.ByIndex(indexZoneAddresses, zone.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	zone.Status.Allocated = int64(len(held))
	zone.Status.Capacity = 0
	outside := 0
	ready, reason, msg := true, "Ready", fmt.Sprintf("zone %s is ready", zone.Spec.Domain)
	if shared := zone.Spec.SharedAddress; shared != "" {
		// A shared zone claims no address: any held are of a former addressPool.
		zone.Status.Allocated, zone.Status.Capacity = 0, 1
		msg = fmt.Sprintf("every name of %s points at %s", zone.Spec.Domain, shared)
		if len(held) > 0 {
			msg += fmt.Sprintf("; %d addresses of a former addressPool are still held by their requests", len(held))
		}
	} else if pool, err := ipam.Parse(zone.Spec.AddressPool); err != nil {
		ready, reason, msg = false, "InvalidAddressPool", err.Error()
	} else {
		// Allocated counts the pool's addresses in use. A pool narrowed under its
		// requests leaves some holding addresses outside it: they keep them (a site's
		// address does not change under it) and the message says how many.
		for _, o := range held {
			if c, ok := o.(*sdv1.SubdomainClaim); ok {
				if a, err := netip.ParseAddr(c.Spec.Value); err != nil || !pool.Contains(a) {
					outside++
				}
			}
		}
		zone.Status.Allocated -= int64(outside)
		zone.Status.Capacity = pool.Capacity()
		msg = fmt.Sprintf("%d of %d addresses allocated", zone.Status.Allocated, zone.Status.Capacity)
		if outside > 0 {
			msg += fmt.Sprintf("; %d more held outside spec.addressPool (it was narrowed): their requests keep them until released", outside)
		}
	}
	if cw := zone.Spec.ChangeWindow; cw != nil {
		if _, err := time.LoadLocation(cw.TimeZone); err != nil {
			ready, reason, msg = false, "InvalidTimeZone", fmt.Sprintf("changeWindow.timeZone %q is not an IANA time zone", cw.TimeZone)
		}
	}
	st := metav1.ConditionTrue
	if !ready {
		st = metav1.ConditionFalse
	}
	meta.SetStatusCondition(&zone.Status.Conditions, metav1.Condition{
		Type: sdv1.ConditionReady, Status: st, Reason: reason, Message: msg, ObservedGeneration: zone.Generation,
	})
	zone.Status.ObservedGeneration = zone.Generation
	if equality.Semantic.DeepEqual(base.Status, zone.Status) {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, client.IgnoreNotFound(r.Status().Patch(ctx, zone, client.MergeFrom(base)))
}

// statusCoalesce is how long claim events wait before the zone counts them: a batch
// of N allocations then costs about one zone status write per interval, not N.
const statusCoalesce = time.Second

// SetupWithManager watches zones and address claims.
func (r *SubdomainZoneReconciler) SetupWithManager(mgr ctrl.Manager) error {
	enqueueZone := func(o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		c, ok := o.(*sdv1.SubdomainClaim)
		if !ok || c.Spec.Type != sdv1.ClaimTypeAddress {
			return
		}
		// AddAfter keeps one pending item per zone however many claims arrive.
		q.AddAfter(reconcile.Request{NamespacedName: client.ObjectKey{Name: c.Spec.Zone}}, statusCoalesce)
	}
	var err error
	if r.claims, err = addZoneAddressIndex(context.Background(), mgr.GetCache()); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("subdomainzone").
		For(&sdv1.SubdomainZone{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&sdv1.SubdomainClaim{}, handler.Funcs{
			CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				enqueueZone(e.Object, q)
			},
			DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				enqueueZone(e.Object, q)
			},
		}).
		Complete(r)
}
