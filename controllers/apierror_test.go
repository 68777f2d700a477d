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
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestRecordsGoneNotNamespace: a 404 from the DNSEndpoint's write that is not about
// its namespace (the DNSEndpoint CRD removed, say: the API server has no such
// resource) is an error said as it is, not "namespace ... does not exist" while the
// namespace stands. Before, any 404 read as a missing DNS namespace.
func TestRecordsGoneNotNamespace(t *testing.T) {
	var refusing, refused atomic.Bool
	refusing.Store(true)
	withHook(t, 0, func(req *http.Request, next http.RoundTripper) (*http.Response, error) {
		if !refusing.Load() || req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/namespaces/subdomain-system/dnsendpoints") {
			return next.RoundTrip(req)
		}
		refused.Store(true)
		return apiFailure(req, http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource (test)",
			&metav1.StatusDetails{Group: "externaldns.k8s.io", Kind: "dnsendpoints"}), nil
	})
	create(t, newZone("rekamhilang", "rekamhilang.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.23.0/24"} }))
	create(t, newRequest("rekamhilang", "rekamhilang", "rekamhilang", approved("kadis")))
	r := waitFor(t, "rekamhilang", "the refused DNSEndpoint write said", func(r *sdv1.SubdomainRequest) bool {
		return refused.Load() && (condition(r, sdv1.ConditionDNSReady).Reason == "DNSNamespaceMissing" ||
			strings.Contains(condition(r, sdv1.ConditionReady).Message, "could not find the requested resource"))
	})
	if c := condition(r, sdv1.ConditionDNSReady); c.Reason == "DNSNamespaceMissing" {
		t.Errorf("a 404 of the kind read as a missing namespace while subdomain-system stands: %+v", c)
	}
	refusing.Store(false)
	poke(t, "rekamhilang")
	waitPhase(t, "rekamhilang", sdv1.PhaseReady)
}

// TestChildGoneAfterConflictMade: a create refused as AlreadyExists whose object is
// gone when the operator reads it (a foreign or terminating object's deletion ending
// in between) is created again. Here a served site's credentials Secret is deleted,
// and someone's Secret of that name comes and goes around the operator's create of a
// new one. Before, the step took the Secret as made: CredentialsReady stayed True
// with no Secret, and nothing brought the request back (no event of a Secret that
// does not exist).
func TestChildGoneAfterConflictMade(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("sekejap", "sekejap.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.24.0/24"} }))
	create(t, newRequest("sekejap", "sekejap", "sekejap", approved("kadis")))
	waitPhase(t, "sekejap", sdv1.PhaseReady)
	var once atomic.Bool
	// No resync: a pass comes from an event or the operator's own requeue only.
	withHook(t, 0, func(req *http.Request, next http.RoundTripper) (*http.Response, error) {
		if req.Method != http.MethodPost || req.URL.Path != "/api/v1/namespaces/opd-sekejap/secrets" || !once.CompareAndSwap(false, true) {
			return next.RoundTrip(req)
		}
		foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-sekejap", Name: sdv1.CredentialsSecretName}}
		if err := k8s.Create(ctx, foreign); err != nil {
			return nil, err
		}
		resp, err := next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		if err := k8s.Delete(ctx, foreign); err != nil {
			return nil, err
		}
		return resp, nil
	})
	key := types.NamespacedName{Namespace: "opd-sekejap", Name: sdv1.CredentialsSecretName}
	if err := k8s.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{}
	err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		err := k8s.Get(ctx, key, secret)
		return err == nil && metav1.IsControlledBy(secret, getRequest(t, "sekejap")), client.IgnoreNotFound(err)
	})
	if !once.Load() {
		t.Fatal("the operator never created the Secret again: the test proves nothing")
	}
	if err != nil {
		t.Fatalf("the credentials Secret was never made again: %v; %s", err, statusString(getRequest(t, "sekejap")))
	}
	waitPhase(t, "sekejap", sdv1.PhaseReady)
}

// TestUnusedNamespaceDropped: a request whose hosting namespace was made but whose
// quota was refused, then moved by an approver to another namespace (allowed until
// the namespace is on record), does not leave the first one behind: it carries the
// request's label and FQDN annotation, which let the host policies serve the name
// from it. Before, it stayed until the request was gone.
func TestUnusedNamespaceDropped(t *testing.T) {
	ctx := context.Background()
	var refusing, refused, keeping atomic.Bool
	refusing.Store(true)
	keeping.Store(true)
	withHook(t, 5*time.Second, func(req *http.Request, next http.RoundTripper) (*http.Response, error) {
		if keeping.Load() && req.Method == http.MethodDelete && req.URL.Path == "/api/v1/namespaces/opd-pindahns" {
			return apiFailure(req, http.StatusForbidden, metav1.StatusReasonForbidden, "namespace deletion needs a ticket (test)", nil), nil
		}
		if !refusing.Load() || req.Method != http.MethodPost || req.URL.Path != "/api/v1/namespaces/opd-pindahns/resourcequotas" {
			return next.RoundTrip(req)
		}
		refused.Store(true)
		return apiFailure(req, http.StatusForbidden, metav1.StatusReasonForbidden, "quotas need a ticket (test)", nil), nil
	})
	create(t, newZone("pindahns", "pindahns.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.25.0/24"} }))
	create(t, newRequest("pindahns", "pindahns", "pindahns", approved("kadis")))
	waitFor(t, "pindahns", "the quota refused", func(r *sdv1.SubdomainRequest) bool {
		return refused.Load() && strings.Contains(condition(r, sdv1.ConditionReady).Message, "quotas need a ticket")
	})
	first := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-pindahns"}}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(first), first); err != nil {
		t.Fatalf("the first namespace was not made: %v", err)
	}
	editRequest(t, "pindahns", func(r *sdv1.SubdomainRequest) { r.Spec.Hosting.Namespace = "web-pindahns" })
	refusing.Store(false)
	// While the first one cannot be deleted, the second is not made: two namespaces
	// would let the name be served.
	r := waitFor(t, "pindahns", "the refused deletion said", func(r *sdv1.SubdomainRequest) bool {
		c := condition(r, sdv1.ConditionHostingReady)
		return c.Reason == "UnusedNamespaceNotDeleted" && strings.Contains(c.Message, "needs a ticket")
	})
	if err := k8s.Get(ctx, types.NamespacedName{Name: "web-pindahns"}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace web-pindahns made while opd-pindahns stays: %v; %s", err, statusString(r))
	}
	keeping.Store(false)
	poke(t, "pindahns")
	r = waitPhase(t, "pindahns", sdv1.PhaseReady)
	if r.Status.Namespace != "web-pindahns" {
		t.Fatalf("status.namespace = %q, want web-pindahns", r.Status.Namespace)
	}
	err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(first), first)
		return apierrors.IsNotFound(err) || (err == nil && !first.DeletionTimestamp.IsZero()), client.IgnoreNotFound(err)
	})
	if err != nil {
		t.Errorf("namespace opd-pindahns, made for the request and not its hosting namespace, stays: %v", err)
	}
}
