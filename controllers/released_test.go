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
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/naming"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestPoolFreedDuringPass: an address released while a request's pass walks a full
// pool - after the walk, before the pass's status write - wakes the requests the cache
// shows waiting for one, which this request is not yet; it looks again itself and
// takes the address. Before, it stayed Failed PoolExhausted until the next release
// in its zone, a zone edit or a restart. The operator runs without the suite's resync,
// and the release is made to happen at that moment: a hook on the operator's
// requests deletes the address's holder when the pass's status write is sent, and
// holds the write until the operator has seen the claim go.
func TestPoolFreedDuringPass(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("penuh", "penuh.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.1.0/30"} }))
	// penuhd holds an address but stops in Conflict (its namespace is someone else's);
	// penuhe holds the other: the pool of two is full.
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-penuhd"}})
	create(t, newRequest("penuhd", "penuh", "penuhd", approved("kadis")))
	d := waitFor(t, "penuhd", "in Conflict, holding an address", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Phase == sdv1.PhaseConflict && r.Status.Address != ""
	})
	create(t, newRequest("penuhe", "penuh", "penuhe", approved("kadis")))
	waitPhase(t, "penuhe", sdv1.PhaseReady)
	claim := &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: naming.AddressClaimName(netip.MustParseAddr(d.Status.Address))}}

	var once sync.Once
	release := func() {
		if err := k8s.Delete(ctx, d); err != nil {
			t.Errorf("delete penuhd: %v", err)
			return
		}
		err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
			err := operatorCache.Get(ctx, client.ObjectKeyFromObject(claim), &sdv1.SubdomainClaim{})
			return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
		})
		if err != nil {
			t.Errorf("the operator never saw penuhd's address released: %v", err)
		}
		time.Sleep(time.Second) // the release's event handlers run after the cache has it
	}
	withHook(t, 0, func(req *http.Request, next http.RoundTripper) (*http.Response, error) {
		if req.Method == http.MethodPatch && strings.HasSuffix(req.URL.Path, "/subdomainrequests/penuhw/status") {
			once.Do(release)
		}
		return next.RoundTrip(req)
	})
	create(t, newRequest("penuhw", "penuh", "penuhw", approved("kadis")))
	w := waitPhase(t, "penuhw", sdv1.PhaseReady)
	if w.Status.Address != d.Status.Address {
		t.Errorf("penuhw has %s, want the released %s", w.Status.Address, d.Status.Address)
	}
}
