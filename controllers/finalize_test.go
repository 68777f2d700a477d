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
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestWaitingDeletionWritesNoLedger: a request that never served (its zone's DNS
// namespace is missing), deleted while its hosting namespace cannot go (a finalizer
// of the test's holds an object in it), waits without writing: the approval of a
// request that never served is recorded once the namespace is gone, not tried again
// by every pass of the wait (every 2 s; each a ledger PATCH the API server refused as
// a duplicate). Before, the wait patched the ledger on each pass.
func TestWaitingDeletionWritesNoLedger(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("tunggu", "tunggu.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.178.6.0/24"}
		z.Spec.DNS.Namespace = "dns-tunggu-absent"
	}))
	create(t, newRequest("tunggu", "tunggu", "tunggu", approved("kadis")))
	waitFor(t, "tunggu", "hosted, waiting for the DNS namespace", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionDNSReady).Reason == "DNSNamespaceMissing" && r.Status.Namespace == "opd-tunggu"
	})
	hold := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-tunggu", Name: "tahan",
		Finalizers: []string{"test.kominfo.go.id/hold"}}}
	create(t, hold)
	if err := k8s.Delete(ctx, getRequest(t, "tunggu")); err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-tunggu"}}
	err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(ns), ns)
		return err == nil && !ns.DeletionTimestamp.IsZero(), err
	})
	if err != nil {
		t.Fatalf("the hosting namespace is not being deleted: %v", err)
	}
	// Several passes of the wait (one every 2 s).
	from := writes.Count()
	time.Sleep(7 * time.Second)
	var ledger []string
	for _, w := range writes.Since(from) {
		if strings.Contains(w, "/subdomainledgers/tunggu-") { // this zone's pages
			ledger = append(ledger, w)
		}
	}
	if len(ledger) > 0 {
		t.Errorf("the waiting deletion wrote the ledger %d times: %v", len(ledger), ledger)
	}
	// The approval is on record already - the deletion's first pass wrote it - so a
	// finalizer removed by hand during the wait loses nothing.
	unserved := func(entries []sdv1.LedgerEntry) bool {
		return slices.ContainsFunc(entries, func(e sdv1.LedgerEntry) bool {
			return e.Type == sdv1.LedgerApproved && strings.Contains(e.ID, "/Approved/unserved/tunggu")
		})
	}
	if !unserved(ledgerOf(t, "tunggu", "tunggu")) {
		t.Error("the approval of the request that never served is not on record while its deletion waits")
	}
	if err := testenv.Edit(ctx, k8s, hold, func(c *corev1.ConfigMap) { c.Finalizers = nil }); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "tunggu"}})
	if err := waitForLedger(t, "tunggu", "tunggu", unserved); err != nil {
		t.Errorf("the approval of the request that never served is not on record: %v", err)
	}
}

// refuseFinalizerRemovalOnce answers the operator's first patch removing request
// name's finalizer with a 409, as if someone had written the request meanwhile; the
// returned flag says whether it did.
func refuseFinalizerRemovalOnce(t *testing.T, name string) *atomic.Bool {
	t.Helper()
	var once sync.Once
	refused := &atomic.Bool{}
	withHook(t, 5*time.Second, func(req *http.Request, next http.RoundTripper) (*http.Response, error) {
		if req.Method != http.MethodPatch || !strings.HasSuffix(req.URL.Path, "/subdomainrequests/"+name) || req.Body == nil {
			return next.RoundTrip(req)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		refuse := false
		if strings.Contains(string(body), `"finalizers":null`) || strings.Contains(string(body), `"finalizers":[]`) {
			once.Do(func() { refuse = true; refused.Store(true) })
		}
		if !refuse {
			return next.RoundTrip(req)
		}
		return apiFailure(req, http.StatusConflict, metav1.StatusReasonConflict, "the object has been modified (test)", nil), nil
	})
	return refused
}

// TestDeletedToldOnce: a deletion whose finalizer removal fails the first time (a 409:
// someone wrote the request meanwhile) is told once, by the pass that removes the
// finalizer. Before, the Deleted Event came before the removal, and again from the
// retry.
func TestDeletedToldOnce(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("sekali", "sekali.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.7.0/24"} }))
	create(t, newRequest("sekali", "sekali", "sekali", approved("kadis")))
	waitPhase(t, "sekali", sdv1.PhaseReady)
	refused := refuseFinalizerRemovalOnce(t, "sekali")
	if err := k8s.Delete(ctx, getRequest(t, "sekali")); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "sekali"}})
	if !refused.Load() {
		t.Fatal("the finalizer's removal was never refused: the test proves nothing")
	}
	assertEvent(t, "sekali", "Deleted")
	// Events are written by the recorder's own worker: watch for a second one a while.
	for range 30 {
		list := &eventsv1.EventList{}
		if err := k8s.List(ctx, list); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range list.Items {
			if e.Regarding.Name == "sekali" && e.Reason == "Deleted" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d Deleted Events for one deletion, want 1", n)
		}
		time.Sleep(interval)
	}
}

// TestRetainedToldAsRetain: a Retain deletion whose finalizer removal fails the first
// time (a 409) is told, by the retry, as what it is - a Normal Retained Event for
// deletionPolicy Retain. Before, the retry found the children the first pass had
// disowned and took them for an orphaning deletion: a Warning that the deletion
// "asked to orphan the request's objects", which nobody had asked.
func TestRetainedToldAsRetain(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("lestari", "lestari.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.33.0/24"} }))
	create(t, newRequest("lestari", "lestari", "lestari", approved("kadis"), func(r *sdv1.SubdomainRequest) {
		r.Spec.DeletionPolicy = sdv1.DeletionPolicyRetain
	}))
	waitPhase(t, "lestari", sdv1.PhaseReady)
	refused := refuseFinalizerRemovalOnce(t, "lestari")
	if err := k8s.Delete(ctx, getRequest(t, "lestari")); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "lestari"}})
	if !refused.Load() {
		t.Fatal("the finalizer's removal was never refused: the test proves nothing")
	}
	assertEventNote(t, "lestari", "Retained", "deletionPolicy Retain")
	list := &eventsv1.EventList{}
	if err := k8s.List(ctx, list); err != nil {
		t.Fatal(err)
	}
	for _, e := range list.Items {
		if e.Regarding.Name == "lestari" && e.Reason == "Retained" && (e.Type != corev1.EventTypeNormal || strings.Contains(e.Note, "orphan")) {
			t.Errorf("a Retain deletion told as an orphaning one: %s %q", e.Type, e.Note)
		}
	}
	if err := k8s.Get(ctx, types.NamespacedName{Name: "opd-lestari"}, &corev1.Namespace{}); err != nil {
		t.Errorf("Retain: the namespace must stay: %v", err)
	}
}

// TestDeletionErrorSaid: a deletion the API server refuses to carry out (a policy of
// the cluster's refuses the hosting namespace's deletion) says why on the request,
// as an error outside a deletion does. Before, Ready read "the request is being
// deleted" whatever stopped it; the cause was in the log only.
func TestDeletionErrorSaid(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("hapusgagal", "hapusgagal.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.19.0/24"} }))
	create(t, newRequest("hapusgagal", "hapusgagal", "hapusgagal", approved("kadis")))
	ns := waitPhase(t, "hapusgagal", sdv1.PhaseReady).Status.Namespace
	var refusing, refused atomic.Bool
	refusing.Store(true)
	withHook(t, 0, func(req *http.Request, next http.RoundTripper) (*http.Response, error) {
		if req.Method != http.MethodDelete || req.URL.Path != "/api/v1/namespaces/"+ns || !refusing.Load() {
			return next.RoundTrip(req)
		}
		refused.Store(true)
		return apiFailure(req, http.StatusForbidden, metav1.StatusReasonForbidden,
			fmt.Sprintf("namespaces %q is forbidden: deleting a hosting namespace needs a change ticket (test)", ns), nil), nil
	})
	if err := k8s.Delete(ctx, getRequest(t, "hapusgagal")); err != nil {
		t.Fatal(err)
	}
	r := waitFor(t, "hapusgagal", "the deletion to say why it cannot go on", func(r *sdv1.SubdomainRequest) bool {
		return refused.Load() && strings.Contains(condition(r, sdv1.ConditionReady).Message, "needs a change ticket")
	})
	if r.Status.Phase != sdv1.PhaseTerminating || condition(r, sdv1.ConditionReady).Reason != "ReconcileError" {
		t.Errorf("want phase Terminating, Ready reason ReconcileError: %s", statusString(r))
	}
	refusing.Store(false)
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "hapusgagal"}})
}

// TestStuckNamespaceSaid: a deletion waiting for a hosting namespace that cannot go (a
// finalizer whose controller is gone holds an object in it) says what holds it - the
// namespace controller's conditions - and looks again less and less often instead of
// reading the namespace from the API server every 2 s for as long as it stays. Before,
// the message said only "waiting for namespace ... to be deleted", and a wait of 30 s
// read the namespace 14 times.
func TestStuckNamespaceSaid(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("nsmacet", "nsmacet.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.20.0/24"} }))
	create(t, newRequest("nsmacet", "nsmacet", "nsmacet", approved("kadis")))
	ns := waitPhase(t, "nsmacet", sdv1.PhaseReady).Status.Namespace
	var reads atomic.Int32
	// No resync: each pass of the wait is the operator's own backstop (or a watch event).
	withHook(t, 0, func(req *http.Request, next http.RoundTripper) (*http.Response, error) {
		if req.Method == http.MethodGet && req.URL.Path == "/api/v1/namespaces/"+ns {
			reads.Add(1)
		}
		return next.RoundTrip(req)
	})
	hold := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tahan",
		Finalizers: []string{"example.com/hold"}}}
	create(t, hold)
	t.Cleanup(func() {
		if err := testenv.Edit(ctx, k8s, hold, func(c *corev1.ConfigMap) { c.Finalizers = nil }); client.IgnoreNotFound(err) != nil {
			t.Error(err)
		}
	})
	if err := k8s.Delete(ctx, getRequest(t, "nsmacet")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "nsmacet", "the wait to name the finalizer that holds the namespace", func(r *sdv1.SubdomainRequest) bool {
		return strings.Contains(condition(r, sdv1.ConditionReady).Message, "example.com/hold")
	})
	from := reads.Load()
	time.Sleep(30 * time.Second)
	n := reads.Load() - from
	if n > 10 {
		t.Errorf("the waiting deletion read namespace %s %d times in 30 s, want at most 10", ns, n)
	}
	t.Logf("namespace %s read %d times in 30 s of the wait", ns, n)
	if err := testenv.Edit(ctx, k8s, hold, func(c *corev1.ConfigMap) { c.Finalizers = nil }); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "nsmacet"}})
}
