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
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/ipam"
	"github.com/kominfo/subdomain-operator/internal/naming"
	"github.com/kominfo/subdomain-operator/internal/window"
)

// SubdomainZoneReconciler keeps a zone while requests use it, holds a shared zone's
// address, and reports a zone's pool use and whether its settings are usable.
type SubdomainZoneReconciler struct {
	client.Client
	// APIReader reads the API server directly: who holds a claim the create of which
	// failed, when the cache does not show it yet.
	APIReader client.Reader
	// claims is the claims informer's indexer, with indexZoneAddresses and
	// indexSharedAddressOwners; set up by SetupWithManager.
	claims toolscache.Indexer
	// zones is the zones informer's indexer, with indexSharedAddress.
	zones toolscache.Indexer
}

// +kubebuilder:rbac:groups=subdomain.kominfo.go.id,resources=subdomainzones,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=subdomain.kominfo.go.id,resources=subdomainzones/status,verbs=patch
// +kubebuilder:rbac:groups=subdomain.kominfo.go.id,resources=subdomainzones/finalizers,verbs=update
// +kubebuilder:rbac:groups=subdomain.kominfo.go.id,resources=subdomainclaims,verbs=get;list;watch;create;patch;delete

// Reconcile keeps a zone while requests use it (protect), works out whether the zone
// serves (readiness) and writes its status once, when it changed: Ready, and kstatus's
// Stalled or Reconciling beside a Ready False (zoneConditions). Ready is False with
// the readiness reasons, ReconcileError when readiness could not be worked out (the
// error is returned: looked at again with backoff; a 409 from a cached copy that was
// behind returns at once, writing nothing), or DeletionWaitsForRequests while a zone
// being deleted has requests (quoting any other reason). Requeues after
// namespaceRecheck while a namespace is missing.
func (r *SubdomainZoneReconciler) Reconcile(ctx context.Context, key ctrl.Request) (ctrl.Result, error) {
	zone, err := cachedZone(r.zones, key.Name)
	if err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// A finalizer that could not be added (the role not yet updated, say) must not
	// stop the rest: its error is returned at the end.
	users, gone, protectErr := r.protect(ctx, zone)
	if gone || protectErr != nil && !zone.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, protectErr
	}
	base := zoneCopy(zone)
	ready, stalled, reason, msg, recheck, err := r.readiness(ctx, zone)
	if apierrors.IsConflict(err) {
		// A write from a cached copy that was behind (zones sharing an address take
		// turns on its claim): nothing is wrong with the zone; looked at again at once.
		return ctrl.Result{}, errors.Join(protectErr, err)
	}
	if err != nil {
		// What Ready said before is not known to hold any more: say why.
		ready, stalled, reason, msg = false, false, "ReconcileError", err.Error()
	}
	if len(users) > 0 {
		wait := fmt.Sprintf("deletion waits for %s naming the zone: %s; their sites stay served and kept up meanwhile, and no new one is provisioned; delete them first - their deletions follow the zone's change window - or remove the finalizer %s to leave them without a zone",
			plural(len(users), "SubdomainRequest"), listNames(users, 10), sdv1.ZoneFinalizer)
		if !ready {
			wait += fmt.Sprintf("; besides, %s: %s", reason, msg)
		}
		ready, reason, msg = false, "DeletionWaitsForRequests", wait
	}
	zoneConditions(zone, ready, stalled, reason, msg)
	zone.Status.ObservedGeneration = zone.Generation
	var result ctrl.Result
	if recheck {
		// No watch sees a namespace that is not the operator's come: look again.
		result.RequeueAfter = namespaceRecheck
	}
	if zoneStatusChanged(&base.Status, &zone.Status) {
		err = errors.Join(err, client.IgnoreNotFound(r.Status().Patch(ctx, zone, zoneStatusPatch{base: base})))
	}
	return result, errors.Join(protectErr, err)
}

// readiness holds the shared address's claim of a shared zone, counts the zone's
// address claims and lists its claimed names (the status's figures) and checks its settings against what the CRD
// cannot see (unusableSettings). It says whether the zone serves, and if not why:
// InvalidAddressPool from the pool, AddressConflict while a request holds the shared
// address, InvalidTimeZone or NamespaceMissing from the settings, the later quoting
// the earlier; stalled when any of them stays until someone changes something
// (zoneStalled), quoted or not; recheck while a namespace is missing. Returns early
// on an error.
func (r *SubdomainZoneReconciler) readiness(ctx context.Context, zone *sdv1.SubdomainZone) (ready, stalled bool, reason, msg string, recheck bool, err error) {
	// First: an error below must not leave the names the policy guards behind.
	if zone.Status.ClaimedNames, err = r.claimedNames(zone); err != nil {
		return false, false, "", "", false, err
	}
	holder, holds, err := r.holdSharedAddress(ctx, zone)
	if err != nil {
		return false, false, "", "", false, err
	}
	// Read in place from the index: no copy of thousands of cached claims. A shared
	// address's claim, which no request holds, is not an allocation.
	indexed, err := r.claims.ByIndex(indexZoneAddresses, zone.Name)
	if err != nil {
		return false, false, "", "", false, err
	}
	held := slices.DeleteFunc(slices.Clone(indexed), func(o any) bool { return sharedAddressClaim(o) })
	if zone.Spec.SharedAddress != "" {
		ready, reason, msg = sharedStatus(zone, held, holder, holds)
	} else if ready, reason, msg, err = r.poolStatus(zone, held); err != nil {
		return false, false, "", "", false, err
	}
	stalled = !ready && zoneStalled[reason]
	unusable, why, badWindow, err := r.unusableSettings(ctx, zone)
	if err != nil {
		return false, false, "", "", false, err
	}
	if unusable != "" {
		if !ready {
			why += fmt.Sprintf("; besides, %s: %s", reason, msg)
		}
		ready, reason, msg = false, unusable, why
	}
	return ready, stalled || badWindow, reason, msg, unusable == reasonNamespaceMissing, nil
}

// claimedNames are the values of the zone's FQDN claims, each with its request
// (status.claimedNames), read in place from the cache's index; nil when there are none.
func (r *SubdomainZoneReconciler) claimedNames(zone *sdv1.SubdomainZone) (map[string]string, error) {
	indexed, err := r.claims.ByIndex(indexZoneNames, zone.Name)
	if err != nil || len(indexed) == 0 {
		return nil, err
	}
	names := make(map[string]string, len(indexed))
	for _, o := range indexed {
		if c, ok := o.(*sdv1.SubdomainClaim); ok {
			names[c.Spec.Value] = c.Spec.Request
		}
	}
	return names, nil
}

// zoneStalled are the pool's or shared address's Ready reasons of a zone that stays as
// it is until someone changes it (its spec, or another zone's request): kstatus's
// Stalled, as is an unusable window (unusableSettings' badWindow, InvalidTimeZone).
// Any other reason of a zone that is not Ready is Reconciling: a namespace to come,
// requests to go, an error to retry.
var zoneStalled = map[string]bool{"AddressConflict": true, "InvalidAddressPool": true}

// zoneConditions sets Ready, and beside a Ready False either Stalled (stalled) or
// Reconciling with the same reason and message (absent when False, as on requests),
// each with the zone's generation.
func zoneConditions(zone *sdv1.SubdomainZone, ready, stalled bool, reason, msg string) {
	set := func(typ string, on bool) {
		st := metav1.ConditionTrue
		if !on {
			st = metav1.ConditionFalse
		}
		meta.SetStatusCondition(&zone.Status.Conditions, metav1.Condition{
			Type: typ, Status: st, Reason: reason, Message: msg, ObservedGeneration: zone.Generation,
		})
	}
	set(sdv1.ConditionReady, ready)
	stalled = stalled && !ready
	for typ, on := range map[string]bool{sdv1.ConditionStalled: stalled, sdv1.ConditionReconciling: !ready && !stalled} {
		if on {
			set(typ, true)
		} else {
			meta.RemoveStatusCondition(&zone.Status.Conditions, typ)
		}
	}
}

// unusableSettings checks what the API server cannot and returns a Ready reason and
// message, or "" when the settings serve: the change window as the requests read it
// (window.Parse: a time zone the CRD refuses now may be stored from before the rule,
// or missing from the operator's time zone database), which holds every rename and
// deletion (InvalidTimeZone, and badWindow); then the namespaces the zone names
// (missingNamespaces: NamespaceMissing, quoting an InvalidTimeZone besides).
func (r *SubdomainZoneReconciler) unusableSettings(ctx context.Context, zone *sdv1.SubdomainZone) (reason, msg string, badWindow bool, err error) {
	if cw := zone.Spec.ChangeWindow; cw != nil {
		if _, err := window.Parse(cw); err != nil {
			reason, msg, badWindow = "InvalidTimeZone", fmt.Sprintf("changeWindow: %v; renames and deletions wait until it is fixed", err), true
		}
	}
	missing, err := r.missingNamespaces(ctx, zone)
	if err != nil || len(missing) == 0 {
		return reason, msg, badWindow, err
	}
	m := strings.Join(missing, "; ")
	if reason != "" {
		m += fmt.Sprintf("; besides, %s: %s", reason, msg)
	}
	return reasonNamespaceMissing, m, badWindow, nil
}

// reasonNamespaceMissing is a zone's Ready reason while a namespace it names does not
// exist; its requests are looked at again when it clears (namespacesCame).
const reasonNamespaceMissing = "NamespaceMissing"

// namespaceRecheck is how often a zone naming a namespace that does not exist looks
// again.
const namespaceRecheck = 10 * time.Second

// missingNamespaces says which of the namespaces the zone's sites depend on do not
// exist: spec.ingress.controllerNamespace (the hosting NetworkPolicies admit the
// ingress controller only from there; the load balancer Services go there) and
// spec.dns.namespace (where the DNSEndpoints go), read by namespaceExists.
func (r *SubdomainZoneReconciler) missingNamespaces(ctx context.Context, zone *sdv1.SubdomainZone) ([]string, error) {
	var out []string
	for _, f := range []struct{ ns, field, why string }{
		{zone.Spec.Ingress.ControllerNamespace, "spec.ingress.controllerNamespace",
			"the sites' NetworkPolicies admit the ingress controller only from it: no site of the zone is reachable through it"},
		{zone.Spec.DNS.Namespace, "spec.dns.namespace",
			"no DNSEndpoint can be written there: no new name of the zone is published"},
	} {
		if f.ns == "" {
			continue
		}
		exists, err := namespaceExists(ctx, r.APIReader, f.ns)
		if err != nil {
			return nil, err
		}
		if !exists {
			out = append(out, fmt.Sprintf("namespace %s (%s) does not exist; %s; create it, or correct the field", f.ns, f.field, f.why))
		}
	}
	return out, nil
}

// sharedStatus sets the allocation figures of a zone with a sharedAddress and says
// whether it is ready: not while holder (a request of another zone) holds the
// address. held are the address claims of the zone's requests; holds says the zone
// holds the address's claim.
func sharedStatus(zone *sdv1.SubdomainZone, held []any, holder string, holds bool) (ready bool, reason, msg string) {
	shared := zone.Spec.SharedAddress
	// Any other address a request of a shared zone holds is of a former addressPool,
	// given back as its site moves (releaseFormerAddresses). The zone's one address
	// counts as allocated while the zone holds its claim.
	zone.Status.Allocated, zone.Status.Capacity = 0, 1
	if holds {
		zone.Status.Allocated = 1
	}
	if holder != "" {
		return false, "AddressConflict", fmt.Sprintf("sharedAddress %s is held by %s: no name of %s points at it until it is released; choose another sharedAddress, or delete that request",
			shared, holder, zone.Spec.Domain)
	}
	msg = fmt.Sprintf("every name of %s points at %s", zone.Spec.Domain, shared)
	own := "" // the claim of the shared address itself, a request's from the pool days
	if a, err := netip.ParseAddr(shared); err == nil {
		own = naming.AddressClaimName(a)
	}
	former := len(held)
	for _, o := range held {
		if o.(*sdv1.SubdomainClaim).Name == own {
			former--
		}
	}
	if former > 0 {
		msg += fmt.Sprintf("; addresses of a former addressPool still held by their requests: %d", former)
	}
	return true, "Ready", msg
}

// poolStatus sets the allocation figures of a zone with an addressPool and says
// whether it is ready: not when the pool cannot be parsed. held are the address
// claims of the zone's requests.
func (r *SubdomainZoneReconciler) poolStatus(zone *sdv1.SubdomainZone, held []any) (ready bool, reason, msg string, err error) {
	zone.Status.Allocated, zone.Status.Capacity = int64(len(held)), 0
	pool, err := ipam.Parse(zone.Spec.AddressPool)
	if err != nil {
		return false, "InvalidAddressPool", err.Error(), nil
	}
	// Allocated counts the pool's addresses in use. A pool narrowed under its requests
	// leaves some holding addresses outside it: they keep them (a site's address does
	// not change under it) and the message says how many.
	outside := 0
	for _, o := range held {
		if c, ok := o.(*sdv1.SubdomainClaim); ok {
			if a, err := netip.ParseAddr(c.Spec.Value); err != nil || !pool.Contains(a) {
				outside++
			}
		}
	}
	zone.Status.Allocated = int64(len(held) - outside)
	zone.Status.Capacity = pool.Capacity()
	msg = fmt.Sprintf("%d of %d addresses allocated", zone.Status.Allocated, zone.Status.Capacity)
	if outside > 0 {
		msg += fmt.Sprintf("; %d more held outside spec.addressPool (it was narrowed): their requests keep them until released", outside)
	}
	n, err := r.sharedInPool(pool)
	if err != nil {
		return false, "", "", err
	}
	if n > 0 {
		msg += fmt.Sprintf("; %d more are other zones' sharedAddress, which the pool does not give", n)
	}
	return true, "Ready", msg, nil
}

// statusCoalesce is how long claim events wait before the zone counts them: a batch
// of N allocations then costs about one zone status write per interval, not N. The
// interval is a second for each started 1,000 names the zone lists, up to 10 s: each
// write carries the whole claimedNames map, and its cost to the API server grows with
// it (62 ms of CPU at 1,000-2,000 names by make apicost on a slow day), so a write a
// second would keep a core busy in a long batch of a zone of 20,000 names. So long do
// new names wait to be in the map, for the claimed-hostnames policy.
func statusCoalesce(names int) time.Duration {
	return time.Duration(min(max(1, (names+999)/1000), 10)) * time.Second
}

// SetupWithManager watches zones, claims, and requests (for zones being deleted).
func (r *SubdomainZoneReconciler) SetupWithManager(mgr ctrl.Manager) error {
	enqueueZone := func(o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		c, ok := o.(*sdv1.SubdomainClaim)
		if !ok || c.Spec.Zone == "" {
			return
		}
		// AddAfter keeps one pending item per zone however many claims arrive.
		names := 0
		if z := zoneInCache(r.zones, c.Spec.Zone); z != nil {
			names = len(z.Status.ClaimedNames)
		}
		q.AddAfter(reconcile.Request{NamespacedName: client.ObjectKey{Name: c.Spec.Zone}}, statusCoalesce(names))
	}
	// A released address may be a shared zone's: the zones that share it take it, and
	// those that held a shared address's claim make it again if it went (GC deletes it
	// when its last owner zone goes, and might have as one was added). A shared
	// address's claim made or gone also changes what the pools covering it can give.
	enqueueSharers := func(ctx context.Context, o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		c, ok := o.(*sdv1.SubdomainClaim)
		if !ok || c.Spec.Type != sdv1.ClaimTypeAddress {
			return
		}
		for _, z := range r.zonesAt(ctx, c, sharedAddressClaim(c)) {
			q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Name: z}})
		}
	}
	var err error
	if r.claims, err = addZoneClaimIndexes(context.Background(), mgr.GetCache()); err != nil {
		return err
	}
	if _, err = addIndex(context.Background(), mgr.GetCache(), &sdv1.SubdomainClaim{}, indexSharedAddressOwners, sharedAddressOwners); err != nil {
		return err
	}
	if r.zones, err = addSharedAddressIndex(context.Background(), mgr.GetCache()); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("subdomainzone").
		// The finalizer taken off a live zone (a replace without it) is put back.
		For(&sdv1.SubdomainZone{}, builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, deletionPredicate(),
			predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
				return controllerutil.ContainsFinalizer(e.ObjectOld, sdv1.ZoneFinalizer) && !controllerutil.ContainsFinalizer(e.ObjectNew, sdv1.ZoneFinalizer)
			}}))).
		// A zone being deleted names its requests, and goes when its last one does.
		Watches(&sdv1.SubdomainRequest{}, handler.Funcs{
			CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				if req, ok := e.Object.(*sdv1.SubdomainRequest); ok {
					r.enqueueIfDeleting(req.Spec.Zone, q)
				}
			},
			UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				if old, ok := e.ObjectOld.(*sdv1.SubdomainRequest); ok && old.Spec.Zone != e.ObjectNew.(*sdv1.SubdomainRequest).Spec.Zone {
					r.enqueueIfDeleting(old.Spec.Zone, q)
					r.enqueueIfDeleting(e.ObjectNew.(*sdv1.SubdomainRequest).Spec.Zone, q)
				}
			},
			DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				if req, ok := e.Object.(*sdv1.SubdomainRequest); ok {
					r.enqueueIfDeleting(req.Spec.Zone, q)
				}
			},
		}).
		Watches(&sdv1.SubdomainClaim{}, handler.Funcs{
			CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				enqueueZone(e.Object, q)
				if sharedAddressClaim(e.Object) {
					enqueueSharers(ctx, e.Object, q)
				}
			},
			DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				enqueueZone(e.Object, q)
				enqueueSharers(ctx, e.Object, q)
			},
		}).
		Complete(r)
}

// enqueueIfDeleting enqueues zone name when the cache shows it being deleted: a
// request that stopped naming it may have been the last one holding it, and one that
// started to is one more its message names. It reads the zones informer in place:
// it runs for every request created.
func (r *SubdomainZoneReconciler) enqueueIfDeleting(name string, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if z := zoneInCache(r.zones, name); z != nil && !z.DeletionTimestamp.IsZero() {
		q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Name: name}})
	}
}

// sharedInPool counts the addresses of pool that zones hold as their sharedAddress.
// The zones index's keys are the shared addresses' claim names, each once; a claim
// of one that no request holds is the zones'.
func (r *SubdomainZoneReconciler) sharedInPool(pool *ipam.Pool) (int, error) {
	n := 0
	for _, name := range r.zones.ListIndexFuncValues(indexSharedAddress) {
		o, exists, err := r.claims.GetByKey(name)
		if err != nil {
			return 0, err
		}
		if c, ok := o.(*sdv1.SubdomainClaim); exists && ok && sharedAddressClaim(c) {
			if a, err := netip.ParseAddr(c.Spec.Value); err == nil && pool.Contains(a) {
				n++
			}
		}
	}
	return n, nil
}

// zonesAt names the cached zones whose sharedAddress is the address of claim (by
// the claim's name: one address has one), and, with pools, those whose addressPool
// covers it.
func (r *SubdomainZoneReconciler) zonesAt(ctx context.Context, claim *sdv1.SubdomainClaim, pools bool) []string {
	out, err := sharers(r.zones, claim.Name)
	a, aerr := netip.ParseAddr(claim.Spec.Value)
	if err != nil || !pools || aerr != nil {
		return out
	}
	zones := &sdv1.SubdomainZoneList{}
	if err := r.List(ctx, zones, client.UnsafeDisableDeepCopy); err != nil {
		return out
	}
	for i := range zones.Items {
		if z := &zones.Items[i]; len(z.Spec.AddressPool) > 0 {
			if pool, err := ipam.Parse(z.Spec.AddressPool); err == nil && pool.Contains(a) {
				out = append(out, z.Name)
			}
		}
	}
	return out
}

// indexSharedAddressOwners indexes the claims of shared addresses (address claims
// that no request holds) by the names of the zones that own them.
const indexSharedAddressOwners = "subdomain.kominfo.go.id/shared-address-owners"

func sharedAddressOwners(o any) ([]string, error) {
	if !sharedAddressClaim(o) {
		return nil, nil
	}
	var zones []string
	for _, ref := range o.(*sdv1.SubdomainClaim).OwnerReferences {
		if ref.Kind == "SubdomainZone" && ref.APIVersion == sdv1.GroupVersion.String() {
			zones = append(zones, ref.Name)
		}
	}
	return zones, nil
}

// sharedAddressClaim tells whether o is the claim of a zone's sharedAddress: an
// address claim that no request holds, owned by the zones pointing at it.
func sharedAddressClaim(o any) bool {
	c, ok := o.(*sdv1.SubdomainClaim)
	return ok && c.Spec.Type == sdv1.ClaimTypeAddress && c.Spec.Request == ""
}

// newSharedAddressClaim is the claim, named name, on a zone's shared address value
// (an address claim of no request): the zone's, or one held for a retained site.
func newSharedAddressClaim(name, value, zone string) *sdv1.SubdomainClaim {
	return &sdv1.SubdomainClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			sdv1.LabelZone: zone, sdv1.LabelClaimType: string(sdv1.ClaimTypeAddress),
		}},
		Spec: sdv1.SubdomainClaimSpec{Type: sdv1.ClaimTypeAddress, Value: value, Zone: zone},
	}
}

// protect keeps a zone while requests use it. A live zone gets ZoneFinalizer. A
// zone being deleted returns the requests (by the cache) that still name it; with
// none, its finalizer is removed and gone says the zone goes (nothing more to do).
// A request created in the moment before that removal may miss it: it then finds no
// zone (ZoneNotFound), as after a forced removal.
func (r *SubdomainZoneReconciler) protect(ctx context.Context, zone *sdv1.SubdomainZone) (users []string, gone bool, err error) {
	has := controllerutil.ContainsFinalizer(zone, sdv1.ZoneFinalizer)
	if zone.DeletionTimestamp.IsZero() {
		if has {
			return nil, false, nil
		}
		base := zone.DeepCopy()
		controllerutil.AddFinalizer(zone, sdv1.ZoneFinalizer)
		return nil, false, r.Patch(ctx, zone, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	}
	if !has {
		return nil, true, nil // removed by someone else: nothing holds the zone
	}
	reqs := &sdv1.SubdomainRequestList{}
	if err := r.List(ctx, reqs, client.MatchingFields{indexRequestZone: zone.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, false, err
	}
	for i := range reqs.Items {
		users = append(users, reqs.Items[i].Name)
	}
	if len(users) > 0 {
		slices.Sort(users)
		return users, false, nil
	}
	// Give the shared address back first, whatever garbage collection will do: an
	// orphaning deletion would leave its claim with no owner, held for good.
	if err := r.releaseSharedAddress(ctx, zone); err != nil {
		return nil, false, err
	}
	base := zone.DeepCopy()
	controllerutil.RemoveFinalizer(zone, sdv1.ZoneFinalizer)
	return nil, true, client.IgnoreNotFound(r.Patch(ctx, zone, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})))
}

// releaseSharedAddress takes a zone off the owners of its sharedAddress's claim, and
// deletes the claim if no other zone owns it (also when an orphaning deletion has
// already taken the zone's reference off).
func (r *SubdomainZoneReconciler) releaseSharedAddress(ctx context.Context, zone *sdv1.SubdomainZone) error {
	a, err := netip.ParseAddr(zone.Spec.SharedAddress)
	if err != nil {
		return nil
	}
	c := &sdv1.SubdomainClaim{}
	if err := r.Get(ctx, client.ObjectKey{Name: naming.AddressClaimName(a)}, c); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !sharedAddressClaim(c) {
		return nil // a request's
	}
	return r.disownSharedClaim(ctx, zone, c)
}

// listNames joins the first n names, with how many more there are.
func listNames(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// plural is "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// holdSharedAddress makes a shared zone an owner of its sharedAddress's claim (an
// address claim with no request, named as a request's would be), so that no pool -
// pools may overlap it - gives the address to a request, and gives up the claims of
// addresses the zone no longer shares: the last zone to leave one deletes it, as
// garbage collection does when the last owner zone is deleted. Zones sharing one
// address share its claim. It returns who holds the sharedAddress instead ("" if
// the zone holds it, or is not shared): then the zone's requests are in Conflict;
// and whether the zone holds the claim now (an owner of it).
func (r *SubdomainZoneReconciler) holdSharedAddress(ctx context.Context, zone *sdv1.SubdomainZone) (holder string, holds bool, err error) {
	want, value := "", ""
	// A zone being deleted keeps holding it: its sites still point at it until their
	// requests go; then the zone gives it back (releaseSharedAddress) and goes.
	if a, err := netip.ParseAddr(zone.Spec.SharedAddress); err == nil {
		want, value = naming.AddressClaimName(a), a.String()
	}
	owned, err := r.claims.ByIndex(indexSharedAddressOwners, zone.Name)
	if err != nil {
		return "", false, err
	}
	for _, o := range owned {
		if c := o.(*sdv1.SubdomainClaim); c.Name != want {
			if err := r.disownSharedClaim(ctx, zone, c); err != nil {
				return "", false, err
			}
		}
	}
	if want == "" {
		return "", false, nil
	}
	deleting := !zone.DeletionTimestamp.IsZero()
	c := &sdv1.SubdomainClaim{}
	err = r.Get(ctx, client.ObjectKey{Name: want}, c)
	if apierrors.IsNotFound(err) && deleting {
		// Being deleted: it keeps the claim it holds and makes none (a foreground
		// deletion's garbage collection may take it; made again, it would be taken
		// again). Its sites keep the address in their status, which no pool
		// gives, and so does its sharedAddress while the zone is cached.
		return "", false, nil
	}
	if apierrors.IsNotFound(err) {
		// The cache may show the claim gone before the zone's deletion - a foreground
		// deletion's collector took the claim, and the claims informer heard of it
		// first -: ask the API server (the zone's metadata only) before making it again.
		if deleting, err = r.zoneDeleting(ctx, zone.Name); err != nil || deleting {
			return "", false, client.IgnoreNotFound(err)
		}
		c = newSharedAddressClaim(want, value, zone.Name)
		c.OwnerReferences = []metav1.OwnerReference{zoneOwner(zone)}
		if err = r.Create(ctx, c); err == nil || !apierrors.IsAlreadyExists(err) {
			return "", err == nil, err
		}
		// Taken between our read and our create, or the cache lags: ask the API server
		// (into an empty object: a decode keeps what the answer lacks).
		c = &sdv1.SubdomainClaim{}
		err = r.APIReader.Get(ctx, client.ObjectKey{Name: want}, c)
	}
	if err != nil {
		return "", false, err
	}
	if !sharedAddressClaim(c) {
		// A request of another zone holds it; or one of this zone, from when it had a
		// pool: its site points at the address with the zone's other names, and the
		// zone takes the claim when the request releases it.
		return sharedAddressTaker(c, zone), false, nil
	}
	if slices.ContainsFunc(c.OwnerReferences, func(ref metav1.OwnerReference) bool { return ref.UID == zone.UID }) ||
		c.Annotations[sdv1.AnnotationRetained] != "" { // held for a retained site (markSharedRetained): no zone owns it
		return "", true, nil
	}
	if deleting {
		return "", false, nil // another zone's too, which a zone being deleted does not join
	}
	// Another zone's shared address too: own it with them. The optimistic lock keeps
	// two zones joining at once from dropping each other's reference.
	base := c.DeepCopy()
	c.OwnerReferences = append(c.OwnerReferences, zoneOwner(zone))
	err = r.Patch(ctx, c, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	return "", err == nil, err
}

// zoneDeleting reads the live zone's metadata: whether its deletion has begun. A
// NotFound error when it is gone.
func (r *SubdomainZoneReconciler) zoneDeleting(ctx context.Context, name string) (bool, error) {
	live := &metav1.PartialObjectMetadata{}
	live.SetGroupVersionKind(sdv1.GroupVersion.WithKind("SubdomainZone"))
	if err := r.APIReader.Get(ctx, client.ObjectKey{Name: name}, live); err != nil {
		return false, err
	}
	return !live.DeletionTimestamp.IsZero(), nil
}

// disownSharedClaim takes zone off the owners of a shared address's claim, and
// deletes the claim if no other zone owns it and no retained site publishes it.
func (r *SubdomainZoneReconciler) disownSharedClaim(ctx context.Context, zone *sdv1.SubdomainZone, c *sdv1.SubdomainClaim) error {
	others := slices.DeleteFunc(slices.Clone(c.OwnerReferences), func(ref metav1.OwnerReference) bool {
		return ref.Kind == "SubdomainZone" && ref.Name == zone.Name
	})
	if len(others) == 0 && c.Annotations[sdv1.AnnotationRetained] == "" {
		err := r.Delete(ctx, c, client.Preconditions{UID: &c.UID, ResourceVersion: &c.ResourceVersion})
		return client.IgnoreNotFound(err)
	}
	// A site deleted with Retain still publishes the address (markSharedRetained):
	// the claim stays, owned by no zone, as a retained site's own claims do.
	patched := c.DeepCopy()
	patched.OwnerReferences = others
	return client.IgnoreNotFound(r.Patch(ctx, patched, client.MergeFromWithOptions(c, client.MergeFromWithOptimisticLock{})))
}

// zoneOwner is zone as an owner of its shared address's claim: not its controller
// (zones sharing an address own it together), and not blocking the zone's deletion.
func zoneOwner(zone *sdv1.SubdomainZone) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: sdv1.GroupVersion.String(), Kind: "SubdomainZone", Name: zone.Name, UID: zone.UID}
}
