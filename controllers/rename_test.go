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
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	dnsv1 "sigs.k8s.io/external-dns/apis/v1alpha1"
	"sigs.k8s.io/external-dns/endpoint"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

func setSubdomain(t *testing.T, name, sub string) {
	t.Helper()
	editRequest(t, name, func(r *sdv1.SubdomainRequest) { r.Spec.Subdomain = sub })
}

// renameApproved renames request name to sub as a user and then an approver do: the
// spec first, then the approved annotation.
func renameApproved(t *testing.T, name, sub string) {
	t.Helper()
	setSubdomain(t, name, sub)
	annotate(t, name, map[string]*string{sdv1.AnnotationApproved: ptr(sub)})
}

// waitServing waits until request name is Ready at fqdn.
func waitServing(t *testing.T, name, fqdn string) *sdv1.SubdomainRequest {
	t.Helper()
	return waitFor(t, name, "Ready at "+fqdn, func(r *sdv1.SubdomainRequest) bool {
		return r.Status.FQDN == fqdn && r.Status.Phase == sdv1.PhaseReady
	})
}

func hostsOf(t *testing.T, ns, name string) []string {
	t.Helper()
	ing := &networkingv1.Ingress{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, ing); err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for _, r := range ing.Spec.Rules {
		hosts = append(hosts, r.Host)
	}
	return hosts
}

func recordsOf(t *testing.T, name string) []string {
	t.Helper()
	ep := &dnsv1.DNSEndpoint{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: "subdomain-system", Name: name}, ep); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ep.Spec.Endpoints {
		out = append(out, e.RecordType+" "+e.DNSName+" "+strings.Join(e.Targets, ","))
	}
	return out
}

// TestRename: a rename waits for its approval, then serves both names during the grace
// period, keeping address, namespace and password; afterwards the old name is released.
func TestRename(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("ren", "ren.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.120.0.0/24"}
		z.Spec.RenameGracePeriod = &metav1.Duration{Duration: 15 * time.Second}
	}))
	create(t, newRequest("dpmptsp", "ren", "dpmptsp", approved("kadis")))
	before := waitPhase(t, "dpmptsp", sdv1.PhaseReady)
	pw := password(t, "opd-dpmptsp")

	// The rename waits for its approval; the current name keeps serving.
	setSubdomain(t, "dpmptsp", "perizinan")
	r := waitFor(t, "dpmptsp", "ApprovalStale", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.ObservedGeneration == r.Generation && condition(r, sdv1.ConditionApproved).Reason == "ApprovalStale"
	})
	if r.Status.Phase != sdv1.PhaseReady || r.Status.FQDN != "dpmptsp.ren.go.id" ||
		!strings.Contains(condition(r, sdv1.ConditionApproved).Message, `"perizinan" waits for approval`) {
		t.Fatalf("waiting rename: %s", statusString(r))
	}

	annotate(t, "dpmptsp", map[string]*string{sdv1.AnnotationApproved: ptr("perizinan")})
	r = waitServing(t, "dpmptsp", "perizinan.ren.go.id")
	if r.Status.Address != before.Status.Address || r.Status.Namespace != "opd-dpmptsp" || len(r.Status.PreviousNames) != 1 ||
		r.Status.PreviousNames[0].FQDN != "dpmptsp.ren.go.id" {
		t.Fatalf("after rename: %s %+v", statusString(r), r.Status.PreviousNames)
	}
	if got := hostsOf(t, "opd-dpmptsp", "dpmptsp"); !slices.Equal(got, []string{"perizinan.ren.go.id", "dpmptsp.ren.go.id"}) {
		t.Errorf("ingress hosts during grace = %v", got)
	}
	want := []string{"A perizinan.ren.go.id " + r.Status.Address, "CNAME dpmptsp.ren.go.id perizinan.ren.go.id"}
	if got := recordsOf(t, "dpmptsp"); !slices.Equal(got, want) {
		t.Errorf("records during grace = %v, want %v", got, want)
	}
	sec := &corev1.Secret{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: "opd-dpmptsp", Name: sdv1.CredentialsSecretName}, sec); err != nil {
		t.Fatal(err)
	}
	if string(sec.Data["fqdn"]) != "perizinan.ren.go.id" || string(sec.Data["subdomain"]) != "perizinan" ||
		string(sec.Data["url"]) != "http://perizinan.ren.go.id" || string(sec.Data["password"]) != pw || string(sec.Data["address"]) != before.Status.Address {
		t.Errorf("secret after rename: fqdn=%s subdomain=%s url=%s password kept=%v", sec.Data["fqdn"], sec.Data["subdomain"], sec.Data["url"], string(sec.Data["password"]) == pw)
	}
	assertEvent(t, "dpmptsp", "Renamed")

	// After the grace period the old name is released everywhere.
	r = waitFor(t, "dpmptsp", "old name released", func(r *sdv1.SubdomainRequest) bool {
		return len(r.Status.PreviousNames) == 1 && r.Status.PreviousNames[0].Released
	})
	if got := hostsOf(t, "opd-dpmptsp", "dpmptsp"); !slices.Equal(got, []string{"perizinan.ren.go.id"}) {
		t.Errorf("ingress hosts after grace = %v", got)
	}
	if got := recordsOf(t, "dpmptsp"); len(got) != 1 {
		t.Errorf("records after grace = %v", got)
	}
	mustNotExist(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "dpmptsp.ren.go.id"}})
	// Released means another request may take it.
	create(t, newRequest("other", "ren", "dpmptsp", approved("kadis")))
	waitPhase(t, "other", sdv1.PhaseReady)
}

// TestZoneClaimedNames: a zone's status lists the names its requests hold, each with
// its request - the index the claimed-hostnames policy reads: the served name, then
// after a rename the old name in its grace period beside the new one, and nothing
// once the request is deleted and its claims are released.
func TestZoneClaimedNames(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("daftar", "daftar.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.32.0/24"} }))
	create(t, newRequest("pelancong", "daftar", "pelancong", approved("kadis")))
	waitPhase(t, "pelancong", sdv1.PhaseReady)
	names := func(want map[string]string) {
		t.Helper()
		z, err := zoneWhen("daftar", func(z *sdv1.SubdomainZone) bool { return maps.Equal(z.Status.ClaimedNames, want) })
		if err != nil {
			t.Fatalf("zone daftar: claimedNames %v, want %v: %v", z.Status.ClaimedNames, want, err)
		}
	}
	names(map[string]string{"pelancong.daftar.go.id": "pelancong"})
	renameApproved(t, "pelancong", "wisata")
	r := waitServing(t, "pelancong", "wisata.daftar.go.id")
	names(map[string]string{"pelancong.daftar.go.id": "pelancong", "wisata.daftar.go.id": "pelancong"})
	if err := k8s.Delete(ctx, r); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "pelancong"}})
	names(nil)
}

// TestRenameBackAndConflict: renaming to a taken name is a Conflict that leaves the old
// name serving; renaming back within the grace period takes the old name back.
func TestRenameBackAndConflict(t *testing.T) {
	create(t, newZone("ren2", "ren2.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.130.0.0/24"} }))
	create(t, newRequest("dispora", "ren2", "dispora", approved("kadis")))
	create(t, newRequest("dispar2", "ren2", "pariwisata", approved("kadis")))
	waitPhase(t, "dispora", sdv1.PhaseReady)
	waitPhase(t, "dispar2", sdv1.PhaseReady)

	renameApproved(t, "dispora", "pariwisata")
	r := waitPhase(t, "dispora", sdv1.PhaseConflict)
	if c := condition(r, sdv1.ConditionNameAvailable); !strings.Contains(c.Message, `SubdomainRequest "dispar2"`) {
		t.Errorf("rename conflict: %+v", c)
	}
	if got := hostsOf(t, "opd-dispora", "dispora"); !slices.Equal(got, []string{"dispora.ren2.go.id"}) || r.Status.FQDN != "dispora.ren2.go.id" {
		t.Errorf("the old name must stay served: hosts %v fqdn %s", got, r.Status.FQDN)
	}

	renameApproved(t, "dispora", "olahraga")
	waitServing(t, "dispora", "olahraga.ren2.go.id")
	// A foreign record for the old name, made while the old name is in its grace
	// period, came after the request: renaming back keeps the request's claim on it.
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ren2-legacy"}},
		&dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "ren2-legacy", Name: "late"},
			Spec: dnsv1.DNSEndpointSpec{Endpoints: []*endpoint.Endpoint{endpoint.NewEndpoint("dispora.ren2.go.id", "A", "192.0.2.20")}}})
	// The message names holders the operator's cache shows: it must have this one.
	waitCached(t, &dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "ren2-legacy", Name: "late"}})
	renameApproved(t, "dispora", "dispora")
	r = waitServing(t, "dispora", "dispora.ren2.go.id")
	if c := condition(r, sdv1.ConditionNameAvailable); c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "DNSEndpoint ren2-legacy/late") {
		t.Errorf("renamed back past a later foreign record: %+v", c)
	}
	if c := (&sdv1.SubdomainClaim{}); k8s.Get(context.Background(), types.NamespacedName{Name: "dispora.ren2.go.id"}, c) != nil || c.Spec.Request != "dispora" {
		t.Errorf("dispora's claim on its old name was given back: %+v", c.Spec)
	}
	if len(r.Status.PreviousNames) != 1 || r.Status.PreviousNames[0].FQDN != "olahraga.ren2.go.id" {
		t.Errorf("previous names after renaming back: %+v", r.Status.PreviousNames)
	}
	err := testenv.Eventually(context.Background(), timeout, interval, func() (bool, error) {
		return slices.Equal(hostsOf(t, "opd-dispora", "dispora"), []string{"dispora.ren2.go.id", "olahraga.ren2.go.id"}), nil
	})
	if err != nil {
		t.Errorf("hosts after renaming back = %v", hostsOf(t, "opd-dispora", "dispora"))
	}
}

// TestRenameBeforeReady: the old name of a request renamed before its first Ready gets
// no grace period, but its claim is given back only once the request's Ingress no
// longer serves it: no name on a request's Ingress is ever unclaimed, even when the
// rename's pass stops before the Ingress step.
func TestRenameBeforeReady(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("ren3", "ren3.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.131.0.0/24"}
		z.Spec.DNS.Namespace = "ren3-dns" // made at the end: until then nothing in the zone is Ready
	}))
	create(t, newRequest("dlh", "ren3", "dlh", approved("kadis")))
	waitFor(t, "dlh", "waiting for the DNS namespace", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionDNSReady).Reason == "DNSNamespaceMissing"
	})
	if got := hostsOf(t, "opd-dlh", "dlh"); !slices.Equal(got, []string{"dlh.ren3.go.id"}) {
		t.Fatalf("hosts before the rename = %v", got)
	}

	// Its quota loses its owner (taken over): every pass now stops at HostingReady,
	// before the Ingress step.
	quota := &corev1.ResourceQuota{}
	key := types.NamespacedName{Namespace: "opd-dlh", Name: sdv1.HostingObjectName}
	setOwners := func(owners []metav1.OwnerReference) {
		t.Helper()
		if err := k8s.Get(ctx, key, quota); err != nil {
			t.Fatal(err)
		}
		base := quota.DeepCopy()
		quota.OwnerReferences = owners
		if err := k8s.Patch(ctx, quota, client.MergeFrom(base)); err != nil {
			t.Fatal(err)
		}
	}
	if err := k8s.Get(ctx, key, quota); err != nil {
		t.Fatal(err)
	}
	owners := quota.OwnerReferences
	setOwners(nil)
	waitFor(t, "dlh", "in Conflict over its quota", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Phase == sdv1.PhaseConflict && condition(r, sdv1.ConditionHostingReady).Status == metav1.ConditionFalse
	})

	renameApproved(t, "dlh", "lingkungan")
	r := waitFor(t, "dlh", "renamed", func(r *sdv1.SubdomainRequest) bool { return r.Status.FQDN == "lingkungan.ren3.go.id" })
	if len(r.Status.PreviousNames) != 0 {
		t.Errorf("a name that was never Ready is no rename: %+v", r.Status.PreviousNames)
	}
	if got := hostsOf(t, "opd-dlh", "dlh"); !slices.Equal(got, []string{"dlh.ren3.go.id"}) {
		t.Fatalf("the pass was to stop before the Ingress step; hosts = %v", got)
	}
	old := &sdv1.SubdomainClaim{}
	if err := k8s.Get(ctx, types.NamespacedName{Name: "dlh.ren3.go.id"}, old); err != nil || old.Spec.Request != "dlh" {
		t.Errorf("the Ingress serves dlh.ren3.go.id, yet its claim was given back: %v %+v", err, old.Spec)
	}

	// The quota's owner back, the pass goes on: the Ingress takes the new name, and
	// then the old name's claim goes, before anything is Ready.
	setOwners(owners)
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "dlh.ren3.go.id"}})
	if got := hostsOf(t, "opd-dlh", "dlh"); !slices.Equal(got, []string{"lingkungan.ren3.go.id"}) {
		t.Errorf("hosts after the rename = %v", got)
	}
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ren3-dns"}})
	r = waitPhase(t, "dlh", sdv1.PhaseReady)
	if r.Status.FQDN != "lingkungan.ren3.go.id" || len(r.Status.PreviousNames) != 0 {
		t.Errorf("Ready after a rename before Ready: %s %+v", statusString(r), r.Status.PreviousNames)
	}
	ep := &dnsv1.DNSEndpoint{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: "ren3-dns", Name: "dlh"}, ep); err != nil ||
		len(ep.Spec.Endpoints) != 1 || ep.Spec.Endpoints[0].DNSName != "lingkungan.ren3.go.id" {
		t.Errorf("records: %+v %v", ep.Spec, err)
	}
}

// TestRenameHistoryTrimmed: the rename history keeps the last 20 old names; the oldest
// one, trimmed off it while still in its grace period, stops being served and its
// claim is given back, so another request may take it. The 20 kept names stay
// claimed and served.
func TestRenameHistoryTrimmed(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("ren4", "ren4.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.132.0.0/24"} }))
	create(t, newRequest("arsip", "ren4", "n00", approved("kadis")))
	waitPhase(t, "arsip", sdv1.PhaseReady)
	const renames = 21 // one more than the history keeps
	for i := 1; i <= renames; i++ {
		sub := fmt.Sprintf("n%02d", i)
		editRequest(t, "arsip", func(r *sdv1.SubdomainRequest) {
			r.Spec.Subdomain = sub
			r.Annotations[sdv1.AnnotationApproved] = sub
		})
		waitFor(t, "arsip", "renamed to "+sub, func(r *sdv1.SubdomainRequest) bool {
			return r.Status.FQDN == sub+".ren4.go.id" && r.Status.Phase == sdv1.PhaseReady && r.Status.ObservedGeneration == r.Generation
		})
	}
	r := getRequest(t, "arsip")
	var kept []string
	for _, p := range r.Status.PreviousNames {
		kept = append(kept, p.FQDN)
	}
	var want []string // n01 .. n20: n00 fell off the end
	for i := 1; i < renames; i++ {
		want = append(want, fmt.Sprintf("n%02d.ren4.go.id", i))
	}
	if !slices.Equal(kept, want) {
		t.Fatalf("previousNames = %v, want %v", kept, want)
	}

	// The trimmed name leaves the Ingress and the records, then its claim goes.
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "n00.ren4.go.id"}})
	hosts := hostsOf(t, "opd-arsip", "arsip")
	if slices.Contains(hosts, "n00.ren4.go.id") || len(hosts) != renames || hosts[0] != "n21.ren4.go.id" {
		t.Errorf("ingress hosts after the trim = %v", hosts)
	}
	ep := &dnsv1.DNSEndpoint{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: "subdomain-system", Name: "arsip"}, ep); err != nil {
		t.Fatal(err)
	}
	for _, e := range ep.Spec.Endpoints {
		if e.DNSName == "n00.ren4.go.id" {
			t.Errorf("the trimmed name keeps a record: %+v", e)
		}
	}
	for _, fqdn := range append(want, "n21.ren4.go.id") {
		c := &sdv1.SubdomainClaim{}
		if err := k8s.Get(ctx, types.NamespacedName{Name: fqdn}, c); err != nil || c.Spec.Request != "arsip" {
			t.Errorf("claim of %s: %v %+v", fqdn, err, c.Spec)
		}
	}
	// The trimmed name is free: another request takes it.
	create(t, newRequest("arsip2", "ren4", "n00", approved("kadis")))
	waitPhase(t, "arsip2", sdv1.PhaseReady)
}

// TestRefusedRenameKeepsUpkeep: a served request whose spec.subdomain becomes a name
// the zone refuses (reserved) is Failed, and one renamed to a name another request
// holds is in Conflict, each saying the current name keeps serving; meanwhile that
// name is kept up: an old name is released when its grace period ends, and a deleted
// DNSEndpoint comes back.
func TestRefusedRenameKeepsUpkeep(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("ren5", "ren5.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.133.0.0/24"}
		z.Spec.RenameGracePeriod = &metav1.Duration{Duration: 15 * time.Second}
	}))
	create(t, newRequest("kearsipan", "ren5", "arsipa", approved("kadis")))
	waitPhase(t, "kearsipan", sdv1.PhaseReady)
	renameApproved(t, "kearsipan", "arsipb")
	waitServing(t, "kearsipan", "arsipb.ren5.go.id")

	setSubdomain(t, "kearsipan", "www")
	r := waitPhase(t, "kearsipan", sdv1.PhaseFailed)
	if c := condition(r, sdv1.ConditionNameAvailable); c.Reason != "ReservedName" || !strings.Contains(c.Message, "arsipb.ren5.go.id keeps serving") {
		t.Errorf("refused rename: %+v", c)
	}
	if len(r.Status.PreviousNames) != 1 || r.Status.PreviousNames[0].Released {
		t.Fatalf("arsipa's grace period ended before the refused rename was seen (raise it): %+v", r.Status.PreviousNames)
	}
	if err := k8s.Delete(ctx, &dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "subdomain-system", Name: "kearsipan"}}); err != nil {
		t.Fatal(err)
	}

	r = waitFor(t, "kearsipan", "old name released while Failed", func(r *sdv1.SubdomainRequest) bool {
		return len(r.Status.PreviousNames) == 1 && r.Status.PreviousNames[0].Released
	})
	if r.Status.Phase != sdv1.PhaseFailed || r.Status.FQDN != "arsipb.ren5.go.id" {
		t.Errorf("after the grace period: %s", statusString(r))
	}
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "arsipa.ren5.go.id"}})
	err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		return slices.Equal(hostsOf(t, "opd-kearsipan", "kearsipan"), []string{"arsipb.ren5.go.id"}), nil
	})
	if err != nil {
		t.Errorf("hosts while Failed = %v", hostsOf(t, "opd-kearsipan", "kearsipan"))
	}
	want := []string{"A arsipb.ren5.go.id " + r.Status.Address}
	err = testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		ep := &dnsv1.DNSEndpoint{}
		if err := k8s.Get(ctx, types.NamespacedName{Namespace: "subdomain-system", Name: "kearsipan"}, ep); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return slices.Equal(recordsOf(t, "kearsipan"), want), nil
	})
	if err != nil {
		t.Errorf("DNSEndpoint not restored while Failed: %v", err)
	}

	// Fixing the name ends it.
	setSubdomain(t, "kearsipan", "arsipb")
	waitPhase(t, "kearsipan", sdv1.PhaseReady)

	// The same for a new name another request holds: Conflict, and the upkeep goes on.
	create(t, newRequest("kearsipan2", "ren5", "arsipz", approved("kadis")))
	waitPhase(t, "kearsipan2", sdv1.PhaseReady)
	renameApproved(t, "kearsipan", "arsipc")
	waitServing(t, "kearsipan", "arsipc.ren5.go.id")
	renameApproved(t, "kearsipan", "arsipz")
	r = waitPhase(t, "kearsipan", sdv1.PhaseConflict)
	if c := condition(r, sdv1.ConditionNameAvailable); !strings.Contains(c.Message, `SubdomainRequest "kearsipan2"`) || !strings.Contains(c.Message, "arsipc.ren5.go.id keeps serving") {
		t.Errorf("rename to a taken name: %+v", c)
	}
	released := func(r *sdv1.SubdomainRequest) bool {
		i := slices.IndexFunc(r.Status.PreviousNames, func(p sdv1.PreviousName) bool { return p.FQDN == "arsipb.ren5.go.id" })
		return i >= 0 && r.Status.PreviousNames[i].Released
	}
	if released(r) {
		t.Fatalf("arsipb's grace period ended before the Conflict was seen (raise it): %+v", r.Status.PreviousNames)
	}
	r = waitFor(t, "kearsipan", "arsipb released while in Conflict", released)
	if r.Status.Phase != sdv1.PhaseConflict || r.Status.FQDN != "arsipc.ren5.go.id" {
		t.Errorf("after the grace period: %s", statusString(r))
	}
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "arsipb.ren5.go.id"}})
	if got := getRequest(t, "kearsipan2"); got.Status.Phase != sdv1.PhaseReady || got.Status.FQDN != "arsipz.ren5.go.id" {
		t.Errorf("the holder: %s", statusString(got))
	}
}

// TestRenameBackAndForthRecorded: every rename is in the ledger, also one back to a
// name the request had before (a->b->a->b: three Renamed and four Ready entries, each
// with its own ID), a second rejection with a new reason is recorded too, and so is
// the rejection of a served site's rename.
func TestRenameBackAndForthRecorded(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("ren6", "ren6.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.134.0.0/24"} }))
	create(t, newRequest("bolak", "ren6", "pergi", approved("kadis")))
	waitPhase(t, "bolak", sdv1.PhaseReady)
	for _, to := range []string{"pulang", "pergi", "pulang"} {
		renameApproved(t, "bolak", to)
		waitServing(t, "bolak", to+".ren6.go.id")
	}
	create(t, newRequest("tolak", "ren6", "tolak", func(r *sdv1.SubdomainRequest) {
		r.Annotations = map[string]string{sdv1.AnnotationRejected: "belum ada surat"}
	}))
	waitPhase(t, "tolak", sdv1.PhaseRejected)
	annotate(t, "tolak", map[string]*string{sdv1.AnnotationRejected: nil})
	waitPhase(t, "tolak", sdv1.PhasePending)
	annotate(t, "tolak", map[string]*string{sdv1.AnnotationRejected: ptr("nama sudah dipakai")})
	waitPhase(t, "tolak", sdv1.PhaseRejected)
	// A served site's rename rejected: the site stays, and the decision is on record
	// (before, only a Warning Event told it, and Events last an hour).
	editRequest(t, "bolak", func(r *sdv1.SubdomainRequest) { r.Spec.Subdomain = "tolakan" })
	annotate(t, "bolak", map[string]*string{sdv1.AnnotationRejected: ptr("nama tidak sesuai")})
	waitFor(t, "bolak", "the rename rejected", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionApproved).Reason == "Rejected" && r.Status.FQDN == "pulang.ren6.go.id" && r.Status.Phase == sdv1.PhaseReady
	})

	var got string
	err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		ledgers := &sdv1.SubdomainLedgerList{}
		if err := k8s.List(ctx, ledgers); err != nil {
			return false, err
		}
		ids := map[string]bool{}
		var seq []string
		for _, l := range ledgers.Items {
			for _, e := range l.Spec.Entries {
				if (e.Request != "bolak" && e.Request != "tolak") || ids[e.ID] {
					continue
				}
				ids[e.ID] = true
				what := e.FQDN
				if e.Type == sdv1.LedgerRejected {
					what = e.FQDN + ": " + e.Reason
					if e.PreviousFQDN != "" {
						what = e.PreviousFQDN + " -> " + what
					}
				}
				seq = append(seq, fmt.Sprintf("%s %s %s", e.Request, e.Type, what))
			}
		}
		slices.Sort(seq)
		got = strings.Join(seq, "\n")
		return len(seq) >= 13, nil
	})
	want := strings.Join([]string{
		"bolak Approved pergi.ren6.go.id", "bolak Approved pulang.ren6.go.id", "bolak Approved pulang.ren6.go.id",
		"bolak Ready pergi.ren6.go.id", "bolak Ready pergi.ren6.go.id", "bolak Ready pulang.ren6.go.id", "bolak Ready pulang.ren6.go.id",
		"bolak Rejected pulang.ren6.go.id -> tolakan.ren6.go.id: nama tidak sesuai",
		"bolak Renamed pergi.ren6.go.id", "bolak Renamed pulang.ren6.go.id", "bolak Renamed pulang.ren6.go.id",
		"tolak Rejected tolak.ren6.go.id: belum ada surat", "tolak Rejected tolak.ren6.go.id: nama sudah dipakai",
	}, "\n")
	if err != nil || got != want {
		t.Errorf("ledger entries (%v):\n%s\nwant:\n%s", err, got, want)
	}
}

// TestReservedLaterKeepsServing: a zone reserving a name that a request already serves
// stops others taking it, not the request: it stays Ready, NameAvailable says so.
// Before, the served, unchanged site turned Failed and Stalled for good.
func TestReservedLaterKeepsServing(t *testing.T) {
	create(t, newZone("cadang", "cadang.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.173.0.0/24"} }))
	create(t, newRequest("simpanan", "cadang", "arsipc", approved("kadis")))
	waitPhase(t, "simpanan", sdv1.PhaseReady)
	editZone(t, "cadang", func(z *sdv1.SubdomainZone) { z.Spec.ReservedNames = []string{"arsipc"} })
	r := waitFor(t, "simpanan", "told of the reservation", func(r *sdv1.SubdomainRequest) bool {
		return strings.Contains(condition(r, sdv1.ConditionNameAvailable).Message, "has reserved")
	})
	if r.Status.Phase != sdv1.PhaseReady || condition(r, sdv1.ConditionReady).Status != metav1.ConditionTrue {
		t.Errorf("the served name, reserved since: %s", statusString(r))
	}
	if c := condition(r, sdv1.ConditionNameAvailable); c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, `SubdomainZone cadang has reserved "arsipc" since`) {
		t.Errorf("NameAvailable: %+v", c)
	}
	// The reservation holds for anyone else.
	create(t, newRequest("simpanan2", "cadang", "arsipc", approved("kadis")))
	if c := condition(waitPhase(t, "simpanan2", sdv1.PhaseFailed), sdv1.ConditionNameAvailable); c.Reason != "ReservedName" {
		t.Errorf("another request for the reserved name: %+v", c)
	}
}

// TestOldNameKeptWhileHostingServes: an Ingress of the OPD's own in the hosting
// namespace that serves the old name (made while the old name was in its grace
// period, when the namespace might serve it) keeps the old name's claim after the
// grace period, and NameAvailable says so; once that Ingress drops the name, the claim
// is released. Before, the claim went while the OPD still served the name, and the
// next request for it would have served it beside the OPD.
func TestOldNameKeptWhileHostingServes(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("tahan", "tahan.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.178.3.0/24"}
		z.Spec.RenameGracePeriod = &metav1.Duration{Duration: 20 * time.Second} // time to make the Ingress within it
	}))
	create(t, newRequest("tahan", "tahan", "tahanlama", approved("kadis")))
	waitPhase(t, "tahan", sdv1.PhaseReady)
	renameApproved(t, "tahan", "tahanbaru")
	waitServing(t, "tahan", "tahanbaru.tahan.go.id")
	own := foreignIngress("opd-tahan", "situs-lama", "tahanlama.tahan.go.id", nil)
	create(t, own)
	waitCached(t, own)
	r := waitFor(t, "tahan", "the old name kept for the hosting namespace's Ingress", func(r *sdv1.SubdomainRequest) bool {
		return strings.Contains(condition(r, sdv1.ConditionNameAvailable).Message,
			"claim kept while an Ingress of the hosting namespace opd-tahan still serves it: tahanlama.tahan.go.id (served by Ingress opd-tahan/situs-lama)")
	})
	if r.Status.Phase != sdv1.PhaseReady || len(r.Status.PreviousNames) != 1 || r.Status.PreviousNames[0].Released {
		t.Errorf("status: %s %+v", statusString(r), r.Status.PreviousNames)
	}
	claim := &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "tahanlama.tahan.go.id"}}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(claim), claim); err != nil {
		t.Fatalf("the old name's claim went while the OPD's Ingress serves it: %v", err)
	}
	if got := hostsOf(t, "opd-tahan", "tahan"); !slices.Equal(got, []string{"tahanbaru.tahan.go.id"}) {
		t.Errorf("the request's own Ingress still carries the old name: %v", got)
	}
	// Without the suite's resync: the Ingress's deletion itself brings the request back.
	withoutResync(t, "tahan")
	if err := k8s.Delete(ctx, own); err != nil {
		t.Fatal(err)
	}
	waitGone(t, claim)
	waitFor(t, "tahan", "the old name released", func(r *sdv1.SubdomainRequest) bool {
		return len(r.Status.PreviousNames) == 1 && r.Status.PreviousNames[0].Released &&
			!strings.Contains(condition(r, sdv1.ConditionNameAvailable).Message, "claim kept")
	})
}
