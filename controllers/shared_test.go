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

package controllers_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	dnsv1 "sigs.k8s.io/external-dns/apis/v1alpha1"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// sharedAt makes a zone (or turns one) into one whose every name points at address a.
func sharedAt(a string) func(*sdv1.SubdomainZone) {
	return func(z *sdv1.SubdomainZone) { z.Spec.AddressPool, z.Spec.SharedAddress = nil, a }
}

// TestSharedAddress: a shared zone holds its address's claim, so that no pool - pools
// may overlap it - gives the address to a request; a zone whose shared address a
// request already holds is not Ready and its requests are in Conflict naming the
// holder until it releases the address; zones sharing an address own its claim
// together, and the last to leave it (or, deleted, through garbage collection) takes
// the claim away.
func TestSharedAddress(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("bersama1", "bersama1.go.id", sharedAt("10.161.0.1")))
	waitOwners(t, "ip-10-161-0-1", "bersama1")

	// The pool's lowest address is bersama1's: the pool gives the next.
	create(t, newZone("kolam", "kolam.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.161.0.0/30"} }))
	create(t, newRequest("kolama", "kolam", "a", approved("kadis")))
	if r := waitPhase(t, "kolama", sdv1.PhaseReady); r.Status.Address != "10.161.0.2" {
		t.Fatalf("kolama got %s, want 10.161.0.2 (10.161.0.1 is zone bersama1's shared address)", r.Status.Address)
	}
	create(t, newRequest("bersamaa", "bersama1", "a", approved("kadis")))
	if r := waitPhase(t, "bersamaa", sdv1.PhaseReady); r.Status.Address != "10.161.0.1" ||
		condition(r, sdv1.ConditionAddressAssigned).Reason != "SharedAddress" {
		t.Fatalf("bersamaa: %s", statusString(r))
	}

	// A shared address a request holds: the zone is not Ready, its requests wait.
	create(t, newZone("bersama2", "bersama2.go.id", sharedAt("10.161.0.2")))
	z, err := zoneReadyWhen("bersama2", func(c metav1.Condition) bool {
		return c.Reason == "AddressConflict"
	})
	if err != nil {
		t.Fatalf("zone bersama2: %+v: %v", z.Status.Conditions, err)
	}
	if c := meta.FindStatusCondition(z.Status.Conditions, sdv1.ConditionReady); c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, `SubdomainRequest "kolama"`) {
		t.Errorf("zone bersama2 Ready = %+v", c)
	}
	if z.Status.Allocated != 0 || z.Status.Capacity != 1 {
		t.Errorf("zone bersama2 while another zone's request holds its address: allocated %d capacity %d, want 0 of 1", z.Status.Allocated, z.Status.Capacity)
	}
	// As kubectl reads it: a 0 is stored (the schema's default), not left out for an
	// empty column - the status patch sends only what changed, never a 0.
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(sdv1.GroupVersion.WithKind("SubdomainZone"))
	if err := k8s.Get(context.Background(), types.NamespacedName{Name: "bersama2"}, u); err != nil {
		t.Fatal(err)
	}
	if v, found, err := unstructured.NestedInt64(u.Object, "status", "allocated"); !found || err != nil || v != 0 {
		t.Errorf("zone bersama2 status.allocated as stored: %v (found %v, %v), want 0", v, found, err)
	}
	create(t, newRequest("bersamab", "bersama2", "b", approved("kadis")))
	r := waitPhase(t, "bersamab", sdv1.PhaseConflict)
	if c := condition(r, sdv1.ConditionAddressAssigned); c.Reason != "AddressConflict" || !strings.Contains(c.Message, `SubdomainRequest "kolama"`) {
		t.Fatalf("bersamab AddressAssigned = %+v", c)
	}
	if r.Status.Namespace != "" {
		t.Errorf("bersamab was provisioned while in Conflict: %s", statusString(r))
	}
	// Its holder goes: the zone takes the address, its request is served.
	if err := k8s.Delete(ctx, getRequest(t, "kolama")); err != nil {
		t.Fatal(err)
	}
	if r := waitPhase(t, "bersamab", sdv1.PhaseReady); r.Status.Address != "10.161.0.2" {
		t.Fatalf("bersamab: %s", statusString(r))
	}
	waitOwners(t, "ip-10-161-0-2", "bersama2")
	// Holding its address, the zone has its one address allocated.
	if z, err := zoneWhen("bersama2", func(z *sdv1.SubdomainZone) bool {
		return meta.IsStatusConditionTrue(z.Status.Conditions, sdv1.ConditionReady) && z.Status.Allocated == 1 && z.Status.Capacity == 1
	}); err != nil {
		t.Fatalf("zone bersama2, want Ready with 1 of 1 allocated: allocated %d capacity %d %+v: %v", z.Status.Allocated, z.Status.Capacity, z.Status.Conditions, err)
	}
	// Both of the pool's addresses are shared ones now.
	create(t, newRequest("kolamb", "kolam", "b", approved("kadis")))
	if r := waitPhase(t, "kolamb", sdv1.PhaseFailed); condition(r, sdv1.ConditionAddressAssigned).Reason != "PoolExhausted" {
		t.Fatalf("kolamb: %s", statusString(r))
	}
	if z, err := zoneReadyWhen("kolam", func(c metav1.Condition) bool {
		return strings.Contains(c.Message, "0 of 2 addresses allocated; 2 more are other zones' sharedAddress")
	}); err != nil {
		t.Errorf("zone kolam does not say why its pool is full: %+v: %v", z.Status.Conditions, err)
	}

	// Zones sharing an address own its claim together; leaving it takes only the
	// zone's own reference away, the last to leave deletes the claim, and garbage
	// collection deletes it when its last owner zone is deleted.
	create(t, newZone("bersama3", "bersama3.go.id", sharedAt("10.161.0.1")))
	waitOwners(t, "ip-10-161-0-1", "bersama1", "bersama3")
	editZone(t, "bersama3", func(z *sdv1.SubdomainZone) { z.Spec.SharedAddress = "10.161.0.3" })
	waitOwners(t, "ip-10-161-0-1", "bersama1")
	waitOwners(t, "ip-10-161-0-3", "bersama3")
	editZone(t, "bersama3", func(z *sdv1.SubdomainZone) { z.Spec.SharedAddress, z.Spec.AddressPool = "", []string{"10.161.1.0/30"} })
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-161-0-3"}})
	create(t, newZone("bersama4", "bersama4.go.id", sharedAt("10.161.0.3")))
	waitOwners(t, "ip-10-161-0-3", "bersama4")
	if err := k8s.Delete(ctx, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "bersama4"}}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-161-0-3"}})
	if r := getRequest(t, "bersamaa"); r.Status.Phase != sdv1.PhaseReady {
		t.Errorf("bersamaa: %s", statusString(r))
	}

	// A deletion's record says whether the address was released or stays the zone's.
	if err := k8s.Delete(ctx, getRequest(t, "bersamaa")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct {
		zone, request, address string
		shared                 bool
	}{{"bersama1", "bersamaa", "10.161.0.1", true}, {"kolam", "kolama", "10.161.0.2", false}} {
		err := waitForLedger(t, d.zone, d.request, func(entries []sdv1.LedgerEntry) bool {
			return slices.ContainsFunc(entries, func(e sdv1.LedgerEntry) bool {
				return e.Type == sdv1.LedgerDeleted && e.Address == d.address && e.SharedAddress == d.shared
			})
		})
		if err != nil {
			t.Errorf("no Deleted entry of %s with address %s, sharedAddress %v: %v", d.request, d.address, d.shared, err)
		}
	}
	waitOwners(t, "ip-10-161-0-1", "bersama1")
}

// waitOwners waits until the claim of a shared address is owned by exactly zones,
// no request holding it.
func waitOwners(t *testing.T, claim string, zones ...string) {
	t.Helper()
	c := &sdv1.SubdomainClaim{}
	owners := func() []string {
		var out []string
		for _, ref := range c.OwnerReferences {
			out = append(out, ref.Kind+"/"+ref.Name)
		}
		slices.Sort(out)
		return out
	}
	var want []string
	for _, z := range zones {
		want = append(want, "SubdomainZone/"+z)
	}
	err := testenv.WaitFor(context.Background(), k8s, types.NamespacedName{Name: claim}, c, timeout, interval, func(*sdv1.SubdomainClaim) bool {
		return c.Spec.Request == "" && c.Spec.Type == sdv1.ClaimTypeAddress && slices.Equal(owners(), want)
	})
	if err != nil {
		t.Fatalf("claim %s: request %q, owners %v, want %v: %v", claim, c.Spec.Request, owners(), want, err)
	}
}

// TestSharedAddressSwitch: a pool zone switched to a sharedAddress that one of its own
// requests holds is no conflict: the zone is Ready, its requests point at the address,
// and the zone takes the address's claim when that request releases it - no
// overlapping pool gets it meanwhile. A zone that moves its sharedAddress to one taken
// keeps its served sites at the old address, and no pool gives that one away either.
func TestSharedAddressSwitch(t *testing.T) {
	ctx := context.Background()
	pool := func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.162.0.0/30"} }
	create(t, newZone("alih", "alih.go.id", pool))
	create(t, newRequest("alih1", "alih", "satu", approved("kadis")))
	if r := waitPhase(t, "alih1", sdv1.PhaseReady); r.Status.Address != "10.162.0.1" {
		t.Fatalf("alih1: %s", statusString(r))
	}
	create(t, newZone("alihp", "alihp.go.id", pool))
	create(t, newRequest("alihp1", "alihp", "satu", approved("kadis")))
	if r := waitPhase(t, "alihp1", sdv1.PhaseReady); r.Status.Address != "10.162.0.2" {
		t.Fatalf("alihp1: %s", statusString(r))
	}
	editZone(t, "alih", sharedAt("10.162.0.1"))
	create(t, newRequest("alih2", "alih", "dua", approved("kadis")))
	for _, name := range []string{"alih1", "alih2"} {
		r := waitFor(t, name, "Ready at the shared address", func(r *sdv1.SubdomainRequest) bool {
			return r.Status.Phase == sdv1.PhaseReady && condition(r, sdv1.ConditionAddressAssigned).Reason == "SharedAddress"
		})
		if r.Status.Address != "10.162.0.1" {
			t.Errorf("%s: %s", name, statusString(r))
		}
	}
	if z, err := zoneWhen("alih", func(z *sdv1.SubdomainZone) bool {
		return z.Status.ObservedGeneration == z.Generation && meta.IsStatusConditionTrue(z.Status.Conditions, sdv1.ConditionReady)
	}); err != nil {
		t.Fatalf("zone alih: %+v: %v", z.Status.Conditions, err)
	}
	create(t, newRequest("alihp2", "alihp", "dua", approved("kadis")))
	exhausted := func(when string) {
		t.Helper()
		if r := getRequest(t, "alihp2"); r.Status.Phase != sdv1.PhaseFailed || condition(r, sdv1.ConditionAddressAssigned).Reason != "PoolExhausted" {
			t.Fatalf("alihp2 %s: %s", when, statusString(r))
		}
	}
	waitPhase(t, "alihp2", sdv1.PhaseFailed)
	exhausted("before")
	if err := k8s.Delete(ctx, getRequest(t, "alih1")); err != nil {
		t.Fatal(err)
	}
	waitOwners(t, "ip-10-162-0-1", "alih")
	// A pass of alihp2 that sees the claim as the zone's.
	waitCached(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-162-0-1"}})
	poke(t, "alihp2")
	exhausted("after alih1 released 10.162.0.1, alih's sharedAddress")
	// alih1 held the address's claim: its deletion released it, and says so.
	err := waitForLedger(t, "alih", "alih1", func(entries []sdv1.LedgerEntry) bool {
		return slices.ContainsFunc(entries, func(e sdv1.LedgerEntry) bool {
			return e.Type == sdv1.LedgerDeleted && e.Address == "10.162.0.1" && !e.SharedAddress
		})
	})
	if err != nil {
		t.Errorf("alih1's Deleted entry: %v", err)
	}
	if r := getRequest(t, "alih2"); r.Status.Phase != sdv1.PhaseReady {
		t.Errorf("alih2: %s", statusString(r))
	}

	// alih moves to 10.162.0.2, which alihp1 holds: alih2 keeps serving at .1 (in
	// Conflict), the zone lets .1's claim go, and alihp2 still does not get .1.
	editZone(t, "alih", func(z *sdv1.SubdomainZone) { z.Spec.SharedAddress = "10.162.0.2" })
	r := waitPhase(t, "alih2", sdv1.PhaseConflict)
	if c := condition(r, sdv1.ConditionAddressAssigned); c.Reason != "AddressConflict" || r.Status.Address != "10.162.0.1" {
		t.Fatalf("alih2: %s", statusString(r))
	}
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-162-0-1"}})
	waitCached(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-162-0-1"}})
	waitCached(t, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "alih"}})
	poke(t, "alihp2")
	exhausted("after alih moved its sharedAddress away from .1, where alih2 still serves")
	editZone(t, "alih", func(z *sdv1.SubdomainZone) { z.Spec.SharedAddress = "10.162.0.1" })
	waitOwners(t, "ip-10-162-0-1", "alih")
	if r := waitPhase(t, "alih2", sdv1.PhaseReady); r.Status.Address != "10.162.0.1" {
		t.Errorf("alih2: %s", statusString(r))
	}

	// alih moves to a free address outside the pools: once alih2 has moved too, .1 is
	// free, and alihp2, whose pool was full, gets it.
	editZone(t, "alih", func(z *sdv1.SubdomainZone) { z.Spec.SharedAddress = "10.162.1.1" })
	waitFor(t, "alih2", "Ready at 10.162.1.1", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Phase == sdv1.PhaseReady && r.Status.Address == "10.162.1.1"
	})
	if r := waitPhase(t, "alihp2", sdv1.PhaseReady); r.Status.Address != "10.162.0.1" {
		t.Errorf("alihp2: %s", statusString(r))
	}
}

// TestSharedAddressTaken: a request of another zone that holds a shared zone's address
// (taken in the moment before the zone claimed it; here made by hand in place of the
// zone's claim) puts the zone's served requests in Conflict, naming it, while their
// sites keep their upkeep; when it is released the zone claims the address again and
// they are Ready.
func TestSharedAddressTaken(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("ambil", "ambil.go.id", sharedAt("10.163.0.1")))
	create(t, newRequest("ambil1", "ambil", "satu", approved("kadis")))
	waitPhase(t, "ambil1", sdv1.PhaseReady)
	waitOwners(t, "ip-10-163-0-1", "ambil")

	intruder := &sdv1.SubdomainClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "ip-10-163-0-1", Labels: map[string]string{
			sdv1.LabelRequest: "penyusup", sdv1.LabelZone: "lain", sdv1.LabelClaimType: string(sdv1.ClaimTypeAddress)}},
		Spec: sdv1.SubdomainClaimSpec{Type: sdv1.ClaimTypeAddress, Value: "10.163.0.1", Zone: "lain", Request: "penyusup"},
	}
	err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		// The zone makes its claim again at once: take the address between.
		if err := k8s.Delete(ctx, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: intruder.Name}}); client.IgnoreNotFound(err) != nil {
			return false, err
		}
		err := k8s.Create(ctx, intruder.DeepCopy())
		return err == nil, client.IgnoreAlreadyExists(err)
	})
	if err != nil {
		t.Fatalf("taking the address: %v", err)
	}
	r := waitPhase(t, "ambil1", sdv1.PhaseConflict)
	if c := condition(r, sdv1.ConditionAddressAssigned); c.Reason != "AddressConflict" || !strings.Contains(c.Message, `SubdomainRequest "penyusup"`) || r.Status.Address != "10.163.0.1" {
		t.Fatalf("ambil1: %s", statusString(r))
	}
	// Upkeep goes on: a deleted Secret is made again, with the same password.
	secret := &corev1.Secret{}
	key := types.NamespacedName{Namespace: "opd-ambil1", Name: sdv1.CredentialsSecretName}
	if err := k8s.Get(ctx, key, secret); err != nil {
		t.Fatal(err)
	}
	uid := secret.UID
	if err := k8s.Delete(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if err := testenv.WaitFor(ctx, k8s, key, &corev1.Secret{}, timeout, interval, func(s *corev1.Secret) bool { return s.UID != uid }); err != nil {
		t.Fatalf("a served site in Conflict lost its upkeep: the Secret was not made again: %v", err)
	}
	if z, err := zoneReadyWhen("ambil", func(c metav1.Condition) bool {
		return c.Reason == "AddressConflict"
	}); err != nil {
		t.Fatalf("zone ambil: %+v: %v", z.Status.Conditions, err)
	}

	if err := k8s.Delete(ctx, intruder); err != nil {
		t.Fatal(err)
	}
	waitOwners(t, "ip-10-163-0-1", "ambil")
	if r := waitPhase(t, "ambil1", sdv1.PhaseReady); r.Status.Address != "10.163.0.1" {
		t.Errorf("ambil1: %s", statusString(r))
	}
}

// TestSharedAddressReleasesPool: a zone switched from an addressPool to another
// sharedAddress moves its sites - DNS record, Secret, status - to the shared address,
// and gives their pool addresses back; a deletion there releases no address.
func TestSharedAddressReleasesPool(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("lepas", "lepas.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.164.0.0/30"} }))
	create(t, newRequest("lepas1", "lepas", "satu", approved("kadis")))
	if r := waitPhase(t, "lepas1", sdv1.PhaseReady); r.Status.Address != "10.164.0.1" {
		t.Fatalf("lepas1: %s", statusString(r))
	}
	editZone(t, "lepas", sharedAt("10.164.1.1"))
	waitFor(t, "lepas1", "at the shared address", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Phase == sdv1.PhaseReady && r.Status.Address == "10.164.1.1" && condition(r, sdv1.ConditionAddressAssigned).Reason == "SharedAddress"
	})
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-164-0-1"}})
	assertEvent(t, "lepas1", "AddressReleased")
	ep := &dnsv1.DNSEndpoint{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: "subdomain-system", Name: "lepas1"}, ep); err != nil {
		t.Fatal(err)
	}
	if len(ep.Spec.Endpoints) == 0 || !slices.Equal([]string(ep.Spec.Endpoints[0].Targets), []string{"10.164.1.1"}) {
		t.Errorf("DNSEndpoint: %+v", ep.Spec.Endpoints)
	}
	secret := &corev1.Secret{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: "opd-lepas1", Name: sdv1.CredentialsSecretName}, secret); err != nil {
		t.Fatal(err)
	}
	if got := string(secret.Data[sdv1.SecretKeyAddress]); got != "10.164.1.1" {
		t.Errorf("Secret address %q", got)
	}
	if err := k8s.Delete(ctx, getRequest(t, "lepas1")); err != nil {
		t.Fatal(err)
	}
	err := waitForLedger(t, "lepas", "lepas1", func(entries []sdv1.LedgerEntry) bool {
		return slices.ContainsFunc(entries, func(e sdv1.LedgerEntry) bool {
			return e.Type == sdv1.LedgerDeleted && e.Address == "10.164.1.1" && e.SharedAddress
		})
	})
	if err != nil {
		t.Errorf("lepas1's Deleted entry: %v", err)
	}
}

// TestSharedAddressKeepsAnnouncement: an announcing pool zone switched to a
// sharedAddress that a request of another zone holds keeps its served site at its pool
// address with the load balancer Service that announces it; once the shared address
// is free the site moves, the Service goes and the pool address is given back.
func TestSharedAddressKeepsAnnouncement(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("umum", "umum.go.id", announcing("10.165.0.0/30")))
	create(t, newRequest("umum1", "umum", "satu", approved("kadis")))
	svcKey := types.NamespacedName{Namespace: "ingress-nginx", Name: "sdr-umum1"}
	svc := &corev1.Service{}
	if err := testenv.WaitFor(ctx, k8s, svcKey, svc, timeout, interval, func(*corev1.Service) bool { return true }); err != nil {
		t.Fatal(err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "10.165.0.1"}}
	if err := k8s.Status().Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if r := waitPhase(t, "umum1", sdv1.PhaseReady); r.Status.Address != "10.165.0.1" {
		t.Fatalf("umum1: %s", statusString(r))
	}

	intruder := &sdv1.SubdomainClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "ip-10-165-1-1", Labels: map[string]string{
			sdv1.LabelRequest: "penyusup", sdv1.LabelZone: "lain", sdv1.LabelClaimType: string(sdv1.ClaimTypeAddress)}},
		Spec: sdv1.SubdomainClaimSpec{Type: sdv1.ClaimTypeAddress, Value: "10.165.1.1", Zone: "lain", Request: "penyusup"},
	}
	create(t, intruder)
	// The zone's holder check reads the operator's cache: it must see the intruder.
	waitCached(t, intruder)
	mark := requestReconciles("umum1")
	editZone(t, "umum", sharedAt("10.165.1.1"))
	r := waitPhase(t, "umum1", sdv1.PhaseConflict)
	waitReconciled(t, "umum1", mark)
	if r.Status.Address != "10.165.0.1" || condition(r, sdv1.ConditionAddressAssigned).Reason != "AddressConflict" {
		t.Fatalf("umum1: %s", statusString(r))
	}
	if err := k8s.Get(ctx, svcKey, &corev1.Service{}); err != nil {
		t.Errorf("the Service announcing the address umum1 keeps: %v", err)
	}
	if err := k8s.Get(ctx, types.NamespacedName{Name: "ip-10-165-0-1"}, &sdv1.SubdomainClaim{}); err != nil {
		t.Errorf("the pool address umum1 keeps: %v", err)
	}

	if err := k8s.Delete(ctx, intruder); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "umum1", "Ready at the shared address", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Phase == sdv1.PhaseReady && r.Status.Address == "10.165.1.1"
	})
	waitGone(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: svcKey.Namespace, Name: svcKey.Name}})
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-165-0-1"}})
}

// TestSharedZoneDeletion: a shared zone's address is given back when the zone goes,
// however it is deleted. Orphaning (its claim would keep no owner, held for good):
// the zone deletes the claim itself. Foreground (garbage collection may take the
// claim while the zone waits for its requests): the zone does not make it again
// meanwhile, its site keeps serving, and the zone goes with the request.
func TestSharedZoneDeletion(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("tinggal", "tinggal.go.id", sharedAt("10.168.0.1")))
	waitOwners(t, "ip-10-168-0-1", "tinggal")
	if err := k8s.Delete(ctx, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "tinggal"}}, client.PropagationPolicy(metav1.DeletePropagationOrphan)); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "tinggal"}})
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-168-0-1"}})

	create(t, newZone("depan", "depan.go.id", sharedAt("10.168.0.2")))
	create(t, newRequest("depana", "depan", "a", approved("kadis")))
	if r := waitPhase(t, "depana", sdv1.PhaseReady); r.Status.Address != "10.168.0.2" {
		t.Fatalf("depana: %s", statusString(r))
	}
	waitOwners(t, "ip-10-168-0-2", "depan")
	if err := k8s.Delete(ctx, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "depan"}}, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil {
		t.Fatal(err)
	}
	if _, err := zoneWhen("depan", func(z *sdv1.SubdomainZone) bool { return zoneReason(z) == "DeletionWaitsForRequests" }); err != nil {
		t.Fatal(err)
	}
	// Counted from here: the zone controller has seen the deletion (it wrote that
	// status). Before, a claim the collector deleted may reach the claims informer
	// ahead of the zone's deletion in the zones informer, and the zone, live in its
	// cache, makes the claim once more (a CI run saw one such POST).
	start := writes.Count()
	// The garbage collector may take the claim now (a dependent of an owner in
	// foreground deletion) or not (once the owner's foregroundDeletion finalizer is
	// gone, which it drops at once as nothing blocks it, the zone is a solid owner
	// again): take it as it may.
	if err := k8s.Delete(ctx, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-168-0-2"}}); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-168-0-2"}})
	waitCached(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-168-0-2"}})
	if z, err := zoneWhen("depan", func(z *sdv1.SubdomainZone) bool { return z.Status.Allocated == 0 }); err != nil {
		t.Errorf("zone depan without its claim: allocated %d, want 0: %v", z.Status.Allocated, err)
	}
	poke(t, "depana")
	if r := getRequest(t, "depana"); r.Status.Phase != sdv1.PhaseReady || r.Status.Address != "10.168.0.2" {
		t.Errorf("depana while its zone is being deleted: %s", statusString(r))
	}
	for _, w := range writes.Since(start) {
		if strings.HasPrefix(w, "POST") && strings.Contains(w, "/subdomainclaims") {
			t.Errorf("a claim was made while the zone was being deleted (the operator's cache showing it so): %s", w)
		}
	}
	mustNotExist(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-168-0-2"}})
	if err := k8s.Delete(ctx, getRequest(t, "depana")); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "depan"}})
}

// TestSharedRetainedKeepsAddress: a site of a shared zone deleted with Retain still
// publishes the zone's address (its DNS record is left in place), and Retain releases
// nothing: the address's claim is kept for it when the zone goes - even by a
// foreground deletion, whose garbage collection takes a zone's dependents, begun
// before or after the request's - so a pool covering the address does not give it to
// another request. Before, the zone deleted the claim on its way out and the pool gave
// the address away.
func TestSharedRetainedKeepsAddress(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		zone, addr string
		zoneFirst  bool // the zone's deletion begun while the request lives
	}{{"sretain", "10.178.14.10", false}, {"sretaindulu", "10.178.14.11", true}} {
		create(t, newZone(tc.zone, tc.zone+".go.id", sharedAt(tc.addr)))
		site := tc.zone + "a"
		create(t, newRequest(site, tc.zone, "a", approved("kadis"), func(r *sdv1.SubdomainRequest) {
			r.Spec.DeletionPolicy = sdv1.DeletionPolicyRetain
		}))
		if r := waitPhase(t, site, sdv1.PhaseReady); r.Status.Address != tc.addr {
			t.Fatalf("%s: %s", site, statusString(r))
		}
		claim := "ip-" + strings.ReplaceAll(tc.addr, ".", "-")
		deleteZone := func() {
			if err := k8s.Delete(ctx, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: tc.zone}}, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil {
				t.Fatal(err)
			}
		}
		if tc.zoneFirst {
			deleteZone()
			// Garbage collection takes the zone's dependents first: the claim.
			waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: claim}})
		}
		if err := k8s.Delete(ctx, getRequest(t, site)); err != nil {
			t.Fatal(err)
		}
		waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: site}})
		if !tc.zoneFirst {
			deleteZone()
		}
		waitGone(t, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: tc.zone}})

		pool := tc.zone + "pool"
		create(t, newZone(pool, pool+".go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{tc.addr + "/32"} }))
		create(t, newRequest(tc.zone+"b", pool, "b", approved("kadis")))
		r := waitFor(t, tc.zone+"b", "the pool full", func(r *sdv1.SubdomainRequest) bool {
			return condition(r, sdv1.ConditionAddressAssigned).Reason == "PoolExhausted"
		})
		if r.Status.Address != "" {
			t.Errorf("%sb took the retained site's address: %s", tc.zone, statusString(r))
		}
		c := &sdv1.SubdomainClaim{}
		if err := k8s.Get(ctx, types.NamespacedName{Name: claim}, c); err != nil || c.Annotations[sdv1.AnnotationRetained] == "" {
			t.Errorf("the address's claim, kept for the retained site: %v %+v", err, c.ObjectMeta)
		}
	}
}

// TestZoneErrorSaid: a zone whose pass fails - here its shared address's claim, which
// a cluster's policy refuses - says so (Ready False ReconcileError quoting the
// refusal, Reconciling True: retried) instead of keeping what it said before, and is
// Ready with neither once the refusal goes.
func TestZoneErrorSaid(t *testing.T) {
	ctx := context.Background()
	lift := refusingPolicyIn(t, sdv1.GroupVersion.Group, sdv1.GroupVersion.Version, "test-no-zone-claims", "subdomainclaims",
		[]admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		admissionregistrationv1.Validation{Expression: "object.spec.request != ''", Message: "zones may not hold addresses here"}, nil)
	probe := &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-178-30-254"},
		Spec: sdv1.SubdomainClaimSpec{Type: sdv1.ClaimTypeAddress, Value: "10.178.30.254", Zone: "probe"}}
	if err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		err := k8s.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), "zones may not hold addresses here"), nil
	}); err != nil {
		t.Fatalf("the policy never refused a zone's claim: %v", err)
	}
	create(t, newZone("bagigagal", "bagigagal.go.id", sharedAt("10.178.30.1")))
	z, err := zoneReadyWhen("bagigagal", func(c metav1.Condition) bool { return c.Reason == "ReconcileError" })
	if err != nil {
		t.Fatalf("zone bagigagal never said its claim is refused: %+v: %v", z.Status.Conditions, err)
	}
	if c := zoneCondition(z, sdv1.ConditionReady); c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "zones may not hold addresses here") {
		t.Errorf("zone bagigagal Ready = %+v", c)
	}
	if c := zoneCondition(z, sdv1.ConditionReconciling); c.Status != metav1.ConditionTrue || zoneCondition(z, sdv1.ConditionStalled).Status != "" {
		t.Errorf("zone bagigagal, its claim refused: %+v", z.Status.Conditions)
	}
	lift()
	z, err = zoneReadyWhen("bagigagal", func(c metav1.Condition) bool { return c.Status == metav1.ConditionTrue })
	if err != nil {
		t.Fatalf("zone bagigagal never became Ready once its claim was allowed: %+v: %v", z.Status.Conditions, err)
	}
	if len(z.Status.Conditions) != 1 {
		t.Errorf("zone bagigagal Ready keeps other conditions: %+v", z.Status.Conditions)
	}
	waitOwners(t, "ip-10-178-30-1", "bagigagal")
}
