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
	"slices"
	"strings"
	"sync"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	dnsv1 "sigs.k8s.io/external-dns/apis/v1alpha1"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/ipam"
	"github.com/kominfo/subdomain-operator/internal/naming"
	"github.com/kominfo/subdomain-operator/internal/reconcileerr"
)

// Field indexes.
const (
	indexRequestZone = "spec.zone"
	// indexClaimRequest indexes claims by the request holding them in the cache; it is
	// the claims' selectable field too, for lists from the API server.
	indexClaimRequest = "spec.request"
	// indexRequestLabel indexes the (labelled) Services and namespaces by their
	// request label (requestLabel).
	indexRequestLabel = "metadata.labels.request"
	// indexRequestName indexes requests by the names they serve: status.fqdn and the
	// old names still in their grace period.
	indexRequestName = "status.names"
)

// maxAllocationWalk bounds how many pool addresses one allocation looks at.
const maxAllocationWalk = 1 << 16

// claim makes value exclusive to the request. The API server arbitrates: exactly one
// create of the claim object succeeds; everyone else learns the holder from it.
func (r *SubdomainRequestReconciler) claim(ctx context.Context, s *requestScope, typ sdv1.ClaimType, value, name string) error {
	c := &sdv1.SubdomainClaim{}
	mine := claimKey(name, s.req.Name)
	err := r.Get(ctx, types.NamespacedName{Name: name}, c)
	if apierrors.IsNotFound(err) && r.pending(s, mine) {
		return nil // made by this request moments ago; the cache lags
	}
	if err == nil && !claimOf(c, s.req) {
		// Someone else's, by the cache: it may have been released a moment ago (the
		// cache lags the deletion, and the release's wake-up may have come before
		// this request's Conflict was cached). Ask the API server before reporting
		// one, into an empty object: a decode keeps what the answer lacks.
		c = &sdv1.SubdomainClaim{}
		err = r.APIReader.Get(ctx, types.NamespacedName{Name: name}, c)
	}
	if apierrors.IsNotFound(err) {
		c = newClaim(s, typ, value, name)
		err = r.Create(ctx, c)
		if err == nil {
			r.created(mine)
			return nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return err
		}
		// Taken between our read and our create, or the cache lags: ask the API server,
		// into an empty object (a decode into the claim we made would keep its labels
		// where the answer has none: an older claim without the request-UID label
		// would pass for ours).
		c = &sdv1.SubdomainClaim{}
		err = r.APIReader.Get(ctx, types.NamespacedName{Name: name}, c)
	}
	if err != nil {
		return err
	}
	r.observed(mine)
	if !claimOf(c, s.req) {
		cond, reason := sdv1.ConditionNameAvailable, reasonNameConflict
		if typ == sdv1.ClaimTypeAddress {
			cond, reason = sdv1.ConditionAddressAssigned, reasonAddressConflict
		}
		if c.Spec.Request == "" {
			zones, _ := sharedAddressOwners(c)
			return reconcileerr.NewConflict(cond, reason, "%s is the shared address of SubdomainZone %s (SubdomainClaim %s)", value, strings.Join(zones, ", "), c.Name)
		}
		if c.Spec.Request == s.req.Name {
			return reconcileerr.NewConflict(cond, reason,
				"%s is held by an earlier SubdomainRequest %q (deleted with deletionPolicy Retain: its site stays; delete SubdomainClaim %s to release it)",
				value, c.Spec.Request, c.Name)
		}
		return reconcileerr.NewConflict(cond, reason, "%s is held by SubdomainRequest %q", value, c.Spec.Request)
	}
	return nil
}

// claimOf tells whether req holds claim c: c names req and carries req's UID. A claim
// without the UID label (made before claims carried it) is req's if it names req and
// is not older than req (a retained site's claims are older than a later request of
// the same name; timestamps are to the second, so a claim made in req's first second
// counts as req's).
func claimOf(c *sdv1.SubdomainClaim, req *sdv1.SubdomainRequest) bool {
	if c.Spec.Request != req.Name {
		return false
	}
	if uid, ok := c.Labels[sdv1.LabelRequestUID]; ok {
		return uid == string(req.UID)
	}
	return !c.CreationTimestamp.Before(&req.CreationTimestamp)
}

// claimKey is the in-flight key of claim name made for request.
func claimKey(name, request string) string { return "SubdomainClaim/" + name + "@" + request }

// reservationKey is the in-flight key of an address claim a worker is taking.
func reservationKey(name string) string { return "SubdomainClaim/" + name }

func newClaim(s *requestScope, typ sdv1.ClaimType, value, name string) *sdv1.SubdomainClaim {
	return &sdv1.SubdomainClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			sdv1.LabelRequest:    s.req.Name,
			sdv1.LabelRequestUID: string(s.req.UID),
			sdv1.LabelZone:       s.zone.Name,
			sdv1.LabelClaimType:  string(typ),
		}},
		Spec: sdv1.SubdomainClaimSpec{Type: typ, Value: value, Zone: s.zone.Name, Request: s.req.Name},
	}
}

// heldAddresses lists the address claims the request holds. live reads the API
// server instead of the cache (by index: a list from the API server scans every claim
// of the cluster, so it is only for when the cache may miss one).
func (r *SubdomainRequestReconciler) heldAddresses(ctx context.Context, live bool, req *sdv1.SubdomainRequest) ([]sdv1.SubdomainClaim, error) {
	list := &sdv1.SubdomainClaimList{}
	reader := client.Reader(r.Client)
	if live {
		reader = r.APIReader
	}
	if err := reader.List(ctx, list, client.MatchingFields{indexClaimRequest: req.Name}); err != nil {
		return nil, err
	}
	held := list.Items[:0]
	for i := range list.Items {
		if c := &list.Items[i]; c.Spec.Type == sdv1.ClaimTypeAddress && claimOf(c, req) {
			held = append(held, *c)
		}
	}
	return held, nil
}

// sharedAddressHolder names the request of another zone holding shared zone z's
// address a as a pool address; "" if none does: zones hold it, or nobody yet, or a
// request of z itself from when z had a pool (it points at a with the zone's other
// names now; z takes the claim when the request releases it). It reads the cache.
func (r *SubdomainRequestReconciler) sharedAddressHolder(ctx context.Context, z *sdv1.SubdomainZone, a netip.Addr) (string, error) {
	c := &sdv1.SubdomainClaim{}
	err := r.Get(ctx, types.NamespacedName{Name: naming.AddressClaimName(a)}, c, client.UnsafeDisableDeepCopy)
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return sharedAddressTaker(c, z), nil
}

// sharedAddressTaker names the request of another zone than z that holds claim c
// (of z's sharedAddress), for messages; "" if c is zones' or a request's of z.
func sharedAddressTaker(c *sdv1.SubdomainClaim, z *sdv1.SubdomainZone) string {
	if c.Spec.Request == "" || c.Spec.Zone == z.Name {
		return ""
	}
	return fmt.Sprintf("SubdomainRequest %q of zone %s (SubdomainClaim %s; if that request was deleted with deletionPolicy Retain, deleting the claim releases it)",
		c.Spec.Request, c.Spec.Zone, c.Name)
}

// dropForeignAddresses gives back, for a request that never served, the address claims
// it holds outside its zone's pool (an approver moved it to another zone before it
// served: spec.zone is fixed only once a name is claimed), and returns the rest. A
// site that served keeps its address when its zone's pool narrows (no renumbering of
// a live site); one that never served has nothing to keep.
func (r *SubdomainRequestReconciler) dropForeignAddresses(ctx context.Context, s *requestScope, pool *ipam.Pool, held []sdv1.SubdomainClaim) ([]sdv1.SubdomainClaim, error) {
	if s.req.Status.ReadyAt != nil {
		return held, nil
	}
	kept := held[:0]
	for i := range held {
		c := held[i]
		if a, err := netip.ParseAddr(c.Spec.Value); err == nil && pool.Contains(a) {
			kept = append(kept, c)
			continue
		}
		if err := r.deleteClaim(ctx, &c, s.req); err != nil {
			return nil, err
		}
	}
	return kept, nil
}

// allocate returns the request's pool address, claiming a free one if it holds none.
func (r *SubdomainRequestReconciler) allocate(ctx context.Context, s *requestScope) (netip.Addr, error) {
	pool, err := ipam.Parse(s.zone.Spec.AddressPool)
	if err != nil {
		return netip.Addr{}, reconcileerr.NewInvalid(sdv1.ConditionAddressAssigned, "InvalidZone", "%v", err)
	}
	held, err := r.heldAddresses(ctx, false, s.req)
	if err != nil {
		return netip.Addr{}, err
	}
	if held, err = r.dropForeignAddresses(ctx, s, pool, held); err != nil {
		return netip.Addr{}, err
	}
	if len(held) > 0 {
		r.unsure.drop(s.req.Name)
	} else if r.unsure.has(s.req.Name) {
		// This process has tried to create an address claim for the request that its
		// cache does not show: made moments ago, or made although the create's
		// response was lost (test/faults caught a request holding two addresses after
		// an API server crash when this read was skipped). Ask the API server before
		// taking a second address.
		if held, err = r.heldAddresses(ctx, true, s.req); err != nil {
			return netip.Addr{}, err
		}
		if len(held) == 0 {
			r.unsure.drop(s.req.Name) // the API server's answer: it holds none
		}
	}
	if len(held) > 0 {
		return keptAddress(held, s.req.Status.Address)
	}
	// usedElsewhere tells whether an address is in use without a claim: a zone shares
	// it (its claim may lag, or be gone while the zone is being deleted) or another
	// live request still publishes it (a site of a zone that moved its sharedAddress,
	// or whose claim was released moments before its shared zone took it over).
	usedElsewhere := func(name string) (bool, error) {
		if zones, err := sharers(r.zones, name); err != nil || len(zones) > 0 {
			return err == nil, err
		}
		users, err := r.published.ByIndex(publishedAddresses, name)
		if err != nil {
			return false, err
		}
		// A request being deleted releases its claims last, when its site is gone.
		return slices.ContainsFunc(users, func(o any) bool {
			u := o.(*sdv1.SubdomainRequest)
			return u.UID != s.req.UID && u.DeletionTimestamp.IsZero()
		}), nil
	}
	// Keep a previously reported address if it is still free.
	if prev, err := netip.ParseAddr(s.req.Status.Address); err == nil && pool.Contains(prev) {
		if busy, err := usedElsewhere(naming.AddressClaimName(prev)); err != nil {
			return netip.Addr{}, err
		} else if !busy {
			r.unsure.add(s.req.Name)
			if err := r.claim(ctx, s, sdv1.ClaimTypeAddress, prev.String(), naming.AddressClaimName(prev)); err == nil {
				return prev, nil
			} else if reconcileerr.As(err) == nil {
				return netip.Addr{}, err
			}
		}
	}
	// taken looks a claim up in the cache by name: no list (a batch of N would copy
	// N² claims), no copy of the object; an address with no claim may be used
	// elsewhere all the same.
	probe := &sdv1.SubdomainClaim{}
	taken := func(name string) (bool, error) {
		if busy, err := usedElsewhere(name); err != nil || busy {
			return busy, err
		}
		err := r.Get(ctx, types.NamespacedName{Name: name}, probe, client.UnsafeDisableDeepCopy)
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	}
	var got netip.Addr
	var gotAt int64
	var walkErr error
	walk := func(off int64, a netip.Addr) bool {
		name := naming.AddressClaimName(a)
		// Skip addresses taken, and those a concurrent worker of this process is
		// claiming or has just claimed (the cache may not show them yet).
		if held, err := taken(name); err != nil || held {
			walkErr = err
			return err == nil
		}
		if !r.reserve(reservationKey(name)) {
			return true
		}
		r.unsure.add(s.req.Name)
		err := r.Create(ctx, newClaim(s, sdv1.ClaimTypeAddress, a.String(), name))
		switch {
		case err == nil:
			got, gotAt = a, off
			r.created(claimKey(name, s.req.Name))
			return false
		case apierrors.IsAlreadyExists(err):
			// Taken by another process - or by this request, through a process whose
			// claim the cache does not show yet (the leader before this one): then it
			// is the request's address, and taking another would give it two.
			existing := &sdv1.SubdomainClaim{}
			if gerr := r.APIReader.Get(ctx, types.NamespacedName{Name: name}, existing); gerr == nil && claimOf(existing, s.req) {
				got, gotAt = a, off
				return false
			}
			return true // another's: try the next
		default:
			r.observed(reservationKey(name))
			walkErr = err
			return false
		}
	}
	// Walk from where this process last found everything below taken; then, if
	// nothing was free there, the part below (an address released meanwhile).
	from := r.hints.from(s.zone)
	pool.EachFrom(from, maxAllocationWalk, walk)
	if !got.IsValid() && walkErr == nil && from > 0 {
		pool.EachFrom(0, int(min(from, maxAllocationWalk)), walk)
	}
	if got.IsValid() {
		r.hints.taken(s.zone, gotAt)
	} else {
		r.hints.forget(s.zone.Name)
	}
	if walkErr != nil {
		return netip.Addr{}, walkErr
	}
	if !got.IsValid() {
		return netip.Addr{}, reconcileerr.NewInvalid(sdv1.ConditionAddressAssigned, reasonPoolExhausted,
			"zone %s has no free address left in its pool (%d usable); widen spec.addressPool or delete requests",
			s.zone.Name, pool.Capacity())
	}
	return got, nil
}

// unsureAllocations is the set of requests for which this process has tried to
// create an address claim since it last knew, from its cache or the API server,
// what the request holds. Only for those can the cache miss a claim the request
// holds: a process that starts (or takes the lease) lists every claim before its
// first reconcile. So allocate reads the API server only for them, and a new
// request's allocation costs no list that scans every claim of the cluster (at
// 5,000 requests that list cost the API server 3.4 ms a request and made a batch
// O(N^2)).
type unsureAllocations struct {
	mu sync.Mutex
	m  map[string]struct{}
}

func (u *unsureAllocations) add(request string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = map[string]struct{}{}
	}
	u.m[request] = struct{}{}
}

func (u *unsureAllocations) has(request string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	_, ok := u.m[request]
	return ok
}

func (u *unsureAllocations) drop(request string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.m, request)
}

// poolHints remembers, per zone, the pool offset of the address this process last
// allocated: every address below it was taken then. Allocation is lowest-free-first,
// and without the hint each one probed every taken address again (a batch of 5,000
// requests spent 30% of the manager's CPU there). A released address claim forgets
// every zone's hint (waitingForClaim: pools may overlap), so a freed address is the
// next one given again. The hint only saves probes: the API server still arbitrates
// every claim.
type poolHints struct {
	mu sync.Mutex
	m  map[string]poolHint
}

type poolHint struct {
	pool string // the zone's addressPool the offset is of
	off  int64
}

func poolKey(z *sdv1.SubdomainZone) string { return strings.Join(z.Spec.AddressPool, ",") }

// from is where a walk of z's pool starts.
func (h *poolHints) from(z *sdv1.SubdomainZone) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if hint, ok := h.m[z.Name]; ok && hint.pool == poolKey(z) {
		return hint.off
	}
	return 0
}

// taken records that the walk of z's pool found off free and everything below taken.
func (h *poolHints) taken(z *sdv1.SubdomainZone, off int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string]poolHint{}
	}
	if hint, ok := h.m[z.Name]; !ok || hint.pool != poolKey(z) || hint.off < off {
		h.m[z.Name] = poolHint{pool: poolKey(z), off: off}
	}
}

// forgetAll drops every zone's hint: a freed address may be in several pools.
func (h *poolHints) forgetAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.m)
}

// forget drops zone's hint: an address below it may be free.
func (h *poolHints) forget(zone string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.m, zone)
}

// foreignHolder names an Ingress, Gateway API route or DNSEndpoint, not created for
// this request, that already serves the request's FQDN; "" if none. Of several, the least by kind and
// name, the same one on every reconcile.
func (r *SubdomainRequestReconciler) foreignHolder(s *requestScope) (string, error) {
	ingresses, records, err := r.servers(s.fqdn)
	if err != nil {
		return "", err
	}
	for _, objs := range [][]client.Object{ingresses, records} {
		var found []string
		for _, o := range objs {
			if !mine(o, s.req) && !acmeSolver(o) {
				found = append(found, describe(r, o)+heldBy(o))
			}
		}
		if len(found) > 0 {
			// The index's order is a map's: name the same one every time, or the
			// condition's message would change, and be written, on every reconcile.
			return slices.Min(found), nil
		}
	}
	return "", nil
}

// acmeSolver tells whether o is cert-manager's HTTP-01 solver Ingress: made for a
// moment, in the hosting namespace, with the site's host, whenever the zone's
// ClusterIssuer issues or renews the site's certificate. It serves the name for the
// site, not against it.
func acmeSolver(o client.Object) bool {
	return o.GetLabels()["acme.cert-manager.io/http01-solver"] == "true"
}

// servers are the cached Ingresses (with the Gateway API routes) and DNSEndpoints that
// serve name (the servedNames index): the cache's own objects, only to be read.
func (r *SubdomainRequestReconciler) servers(name string) (ingresses, records []client.Object, err error) {
	type source struct {
		indexer toolscache.Indexer
		dst     *[]client.Object
	}
	sources := []source{{r.ingressHosts, &ingresses}, {r.dnsNames, &records}}
	for _, idx := range r.routeHosts {
		sources = append(sources, source{idx, &ingresses}) // routes front sites as Ingresses do
	}
	for _, c := range sources {
		objs, err := c.indexer.ByIndex(servedNames, name)
		if err != nil {
			return nil, nil, err
		}
		for _, o := range objs {
			if o, ok := o.(client.Object); ok {
				*c.dst = append(*c.dst, o)
			}
		}
	}
	return ingresses, records, nil
}

// heldBy says who made an object, for conflict messages.
func heldBy(o client.Object) string {
	r := o.GetLabels()[sdv1.LabelRequest]
	switch owner := metav1.GetControllerOf(o); {
	case r == "":
		return " (not created by subdomain-operator)"
	case owner != nil && owner.Kind == "SubdomainRequest" && owner.Name == r:
		return fmt.Sprintf(" (of SubdomainRequest %q)", r)
	default:
		return fmt.Sprintf(" (labelled for SubdomainRequest %q, which does not own it)", r)
	}
}

// mine tells whether req created o: req, by UID, is its controller. The request label
// is no proof - anyone may set it on an object of their own, and a request deleted
// with Retain leaves labelled objects that a later request of the same name did not
// create - and no condition either: an OPD admin may take it off one of the request's
// objects, which stays the request's, and ensure puts the label back.
func mine(o client.Object, req *sdv1.SubdomainRequest) bool {
	return metav1.IsControlledBy(o, req)
}

// giveBackClaim deletes req's claim on fqdn, if it holds one. It asks the API
// server: a claim made moments ago may not be in the cache yet.
func (r *SubdomainRequestReconciler) giveBackClaim(ctx context.Context, req *sdv1.SubdomainRequest, fqdn string) error {
	c, err := r.liveClaim(ctx, req, fqdn)
	if c == nil {
		return err
	}
	return r.deleteClaim(ctx, c, req)
}

// liveClaim reads req's claim on fqdn from the API server; nil if req holds none.
func (r *SubdomainRequestReconciler) liveClaim(ctx context.Context, req *sdv1.SubdomainRequest, fqdn string) (*sdv1.SubdomainClaim, error) {
	c := &sdv1.SubdomainClaim{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Name: naming.FQDNClaimName(fqdn)}, c)
	if err != nil || !claimOf(c, req) {
		return nil, client.IgnoreNotFound(err)
	}
	return c, nil
}

// releaseStrayNames gives back the FQDN claims the request holds on names it neither
// has (status.fqdn) nor keeps in status.previousNames: the old name of a rename before
// the first Ready (dropped, the name this pass took out of status.fqdn), or one that
// fell off the end of previousNames. A name that an Ingress or DNSEndpoint of the
// request still carries keeps its claim, or another request could claim a name this
// one serves; the step that rewrites that object drops the name, and its update event
// brings the request back here. Strays come from the cache's claim index, and the
// dropped name and those kept before (strayNames) from the API server: the cache may
// not show a claim made moments before the rename, and a claim's creation reconciles
// nothing. At steady state this is one lookup in the cache's claim index.
func (r *SubdomainRequestReconciler) releaseStrayNames(ctx context.Context, s *requestScope, dropped string) error {
	st := &s.req.Status
	holds := func(fqdn string) bool {
		return fqdn == st.FQDN || slices.ContainsFunc(st.PreviousNames, func(p sdv1.PreviousName) bool { return p.FQDN == fqdn })
	}
	list := &sdv1.SubdomainClaimList{}
	if err := r.List(ctx, list, client.MatchingFields{indexClaimRequest: s.req.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	var strays []*sdv1.SubdomainClaim
	found := map[string]bool{}
	for i := range list.Items {
		if c := &list.Items[i]; c.Spec.Type == sdv1.ClaimTypeFQDN && claimOf(c, s.req) && !holds(c.Spec.Value) {
			strays, found[c.Spec.Value] = append(strays, c.DeepCopy()), true
		}
	}
	for _, name := range append(r.strays.get(s.req.Name), dropped) {
		if name == "" || holds(name) || found[name] {
			continue
		}
		found[name] = true
		c, err := r.liveClaim(ctx, s.req, name)
		if err != nil {
			return err
		}
		if c != nil {
			strays = append(strays, c)
		}
	}
	var kept []string
	for i, c := range strays {
		served, err := r.stillServed(ctx, s, c.Spec.Value)
		if err == nil && !served {
			err = r.deleteClaim(ctx, c, s.req)
		}
		if err != nil {
			// Keep looking for the rest on the API server.
			for _, c := range strays[i:] {
				kept = append(kept, c.Spec.Value)
			}
			r.strays.set(s.req.Name, kept)
			return err
		}
		if served {
			kept = append(kept, c.Spec.Value)
		}
	}
	r.strays.set(s.req.Name, kept)
	return nil
}

// strayNames remembers, per request, the names whose stray claims releaseStrayNames
// has not given back yet, so that later passes look them up on the API server.
type strayNames struct {
	mu sync.Mutex
	m  map[string][]string
}

func (n *strayNames) get(request string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.m[request])
}

// set replaces request's names; none forgets the request.
func (n *strayNames) set(request string, names []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(names) == 0 {
		delete(n.m, request)
		return
	}
	if n.m == nil {
		n.m = map[string][]string{}
	}
	n.m[request] = names
}

// stillServed tells whether an Ingress or DNSEndpoint of the request carries name (the
// operator makes no routes: a route is never the request's own): one
// in the cache (in any namespace), or the request's own two as the API server has them
// (the cache may not show a write of moments ago).
func (r *SubdomainRequestReconciler) stillServed(ctx context.Context, s *requestScope, name string) (bool, error) {
	ingresses, records, err := r.servers(name)
	if err != nil {
		return false, err
	}
	if slices.ContainsFunc(append(ingresses, records...), func(o client.Object) bool { return mine(o, s.req) }) {
		return true, nil
	}
	for _, c := range []struct {
		obj    client.Object
		key    types.NamespacedName
		served toolscache.IndexFunc
	}{
		{&networkingv1.Ingress{}, types.NamespacedName{Namespace: s.namespace, Name: s.req.Name}, ingressServedNames},
		{&dnsv1.DNSEndpoint{}, types.NamespacedName{Namespace: s.zone.Spec.DNS.Namespace, Name: s.req.Name}, recordServedNames},
	} {
		err := r.APIReader.Get(ctx, c.key, c.obj)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return false, err
		}
		names, err := c.served(c.obj)
		if err != nil {
			return false, err
		}
		if mine(c.obj, s.req) && slices.Contains(names, name) {
			return true, nil
		}
	}
	return false, nil
}

// deleteClaim deletes claim c of req, unless it was replaced meanwhile (UID
// precondition); gone already is done.
func (r *SubdomainRequestReconciler) deleteClaim(ctx context.Context, c *sdv1.SubdomainClaim, req *sdv1.SubdomainRequest) error {
	_, err := r.removeClaim(ctx, c, req)
	return err
}

// removeClaim is deleteClaim that tells whether this call deleted it (false: gone
// already).
func (r *SubdomainRequestReconciler) removeClaim(ctx context.Context, c *sdv1.SubdomainClaim, req *sdv1.SubdomainRequest) (bool, error) {
	uid := c.UID
	err := r.Delete(ctx, c, client.Preconditions{UID: &uid})
	if client.IgnoreNotFound(err) != nil {
		return false, err
	}
	r.observed(claimKey(c.Name, req.Name)) // no longer "made moments ago"
	return err == nil, nil
}

// releaseClaims deletes every claim req holds, listed from the API server by the
// claims' spec.request (their selectable field; a label may have been taken off).
func (r *SubdomainRequestReconciler) releaseClaims(ctx context.Context, req *sdv1.SubdomainRequest) error {
	list := &sdv1.SubdomainClaimList{}
	if err := r.APIReader.List(ctx, list, client.MatchingFields{indexClaimRequest: req.Name}); err != nil {
		return err
	}
	for i := range list.Items {
		if c := &list.Items[i]; claimOf(c, req) {
			if err := r.deleteClaim(ctx, c, req); err != nil {
				return err
			}
		}
	}
	return nil
}

// reasonPoolExhausted is AddressAssigned's reason when the zone's pool has no free address.
const reasonPoolExhausted = "PoolExhausted"

// reasonNameConflict and reasonAddressConflict are a Conflict's reasons when another
// holds the name (NameAvailable) or the address (AddressAssigned).
const (
	reasonNameConflict    = "NameConflict"
	reasonAddressConflict = "AddressConflict"
)

// keptAddress is the address a request keeps of those it holds claims on: the one its
// status reports, else the lowest. (It holds one but for a create whose response was
// lost; the cache lists claims in no fixed order, and taking the first would move the
// address, and its records, from pass to pass.)
func keptAddress(held []sdv1.SubdomainClaim, reported string) (netip.Addr, error) {
	var kept netip.Addr
	for _, c := range held {
		a, err := netip.ParseAddr(c.Spec.Value)
		if err != nil {
			return netip.Addr{}, err
		}
		if c.Spec.Value == reported {
			return a, nil
		}
		if !kept.IsValid() || a.Less(kept) {
			kept = a
		}
	}
	return kept, nil
}
