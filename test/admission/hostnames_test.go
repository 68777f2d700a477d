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

package admission_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// route is a Gateway API route of kind in namespace, with hostnames (testenv.Route).
func route(kind, namespace, name string, hostnames []any) *unstructured.Unstructured {
	return testenv.Route(kind, namespace, name, hostnames)
}

// TestClaimedHostnames: with the Gateway API CRDs installed, no Ingress or route in any
// namespace serves a name another OPD holds. Inside a hosting namespace every host
// must be the namespace's own name (a route without hostnames catches every host);
// outside, the names claimed by requests, and names under them, are refused. A
// request in Conflict with an earlier Ingress holds no claim, so that Ingress's owner
// can still edit it; once it is gone and the request serves, the name is guarded.
func TestClaimedHostnames(t *testing.T) {
	crds, err := testenv.GatewayAPICRDs()
	if err != nil {
		t.Fatal(err)
	}
	env, u := start(t, crds...)
	ctx := context.Background()
	for _, ns := range []string{"ingress-nginx", "team-x"} {
		if err := u.admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	// An Ingress that served dinsos before any request asked for it.
	legacy := testenv.Ingress("team-x", "legacy", "dinsos.pontianak.go.id")
	if err := u.admin.Create(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	// And one for a name under it, and one naming dinsos only as a TLS host: neither
	// serves dinsos, so neither stops dinsos from claiming it.
	under := testenv.Ingress("team-x", "under-legacy", "api.dinsos.pontianak.go.id")
	if err := u.admin.Create(ctx, under); err != nil {
		t.Fatal(err)
	}
	tlsOnly := testenv.Ingress("team-x", "tls-legacy", "shop.example.org")
	tlsOnly.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"dinsos.pontianak.go.id"}}}
	if err := u.admin.Create(ctx, tlsOnly); err != nil {
		t.Fatal(err)
	}
	runOperator(t, env, u)
	for _, n := range []string{"dinkes", "dinsos"} {
		r := request(n, n)
		r.Annotations = map[string]string{sdv1.AnnotationApproved: n}
		if err := u.approver.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := waitReady(u, "dinkes"); err != nil {
		t.Fatal(err)
	}

	// The API server evaluates the binding against its cache of claims: wait until it
	// has dinkes's.
	const claimed = "dinkes.pontianak.go.id is claimed by SubdomainRequest dinkes (SubdomainClaim dinkes.pontianak.go.id): only its hosting namespace may serve it"
	err = testenv.Eventually(ctx, 30*time.Second, 200*time.Millisecond, func() (bool, error) {
		err := u.admin.Create(ctx, testenv.Ingress("team-x", "probe", "dinkes.pontianak.go.id"), client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), claimed), nil
	})
	if err != nil {
		t.Fatalf("an Ingress outside the hosting namespace serving a claimed name is not refused: %v", err)
	}
	wantDenied(t, u.admin.Create(ctx, testenv.Ingress("team-x", "under", "api.dinkes.pontianak.go.id")),
		"api.dinkes.pontianak.go.id is claimed by SubdomainRequest dinkes")
	tls := testenv.Ingress("team-x", "tls", "other.pontianak.go.id")
	tls.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"dinkes.pontianak.go.id"}}}
	wantDenied(t, u.admin.Create(ctx, tls), claimed)
	for _, host := range []string{"other.pontianak.go.id", "*.pontianak.go.id", "xdinkes.pontianak.go.id"} {
		if err := u.admin.Create(ctx, testenv.Ingress("team-x", "free-"+strings.NewReplacer("*", "w", ".", "-").Replace(host), host)); err != nil {
			t.Errorf("Ingress for unclaimed %s refused: %v", host, err)
		}
	}
	for _, kind := range []string{"HTTPRoute", "GRPCRoute", "TLSRoute"} {
		wantDenied(t, u.admin.Create(ctx, route(kind, "team-x", "steal", []any{"dinkes.pontianak.go.id"})), claimed)
		if err := u.admin.Create(ctx, route(kind, "team-x", "other", []any{"other.pontianak.go.id"})); err != nil {
			t.Errorf("%s for an unclaimed name refused: %v", kind, err)
		}
	}

	// In the hosting namespace: its own name only, and no catch-all route.
	for _, kind := range []string{"HTTPRoute", "GRPCRoute", "TLSRoute"} {
		if err := u.admin.Create(ctx, route(kind, "opd-dinkes", "own", []any{"dinkes.pontianak.go.id"})); err != nil {
			t.Errorf("%s for the namespace's own name refused: %v", kind, err)
		}
		wantDenied(t, u.admin.Create(ctx, route(kind, "opd-dinkes", "other", []any{"dinsos.pontianak.go.id"})),
			"namespace opd-dinkes may only serve dinkes.pontianak.go.id (and names under it); refused: dinsos.pontianak.go.id")
	}
	for name, hostnames := range map[string][]any{"absent": nil, "empty": {}} {
		wantDenied(t, u.admin.Create(ctx, route("HTTPRoute", "opd-dinkes", name, hostnames)), "refused: (every host)")
	}

	// dinsos is in Conflict with the legacy Ingress and holds no claim: the legacy
	// site's owner can still edit it.
	r := &sdv1.SubdomainRequest{}
	err = testenv.Eventually(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
		err := u.admin.Get(ctx, types.NamespacedName{Name: "dinsos"}, r)
		return r.Status.Phase == sdv1.PhaseConflict, err
	})
	if err != nil {
		t.Fatalf("dinsos not in Conflict with the legacy Ingress: %v", err)
	}
	if err := u.admin.Get(ctx, types.NamespacedName{Name: "dinsos.pontianak.go.id"}, &sdv1.SubdomainClaim{}); err == nil {
		t.Errorf("a request in Conflict with an earlier Ingress holds its name's claim")
	}
	label := func(value string) func(*networkingv1.Ingress) {
		return func(ing *networkingv1.Ingress) { ing.Labels = map[string]string{"edited": value} }
	}
	addHosts := func(hosts ...string) func(*networkingv1.Ingress) {
		return func(ing *networkingv1.Ingress) {
			for _, h := range hosts {
				ing.Spec.Rules = append(ing.Spec.Rules, testenv.Ingress("", "", h).Spec.Rules...)
			}
		}
	}
	if err := testenv.Edit(ctx, u.admin, legacy, label("yes")); err != nil {
		t.Errorf("the legacy site's owner cannot edit its Ingress: %v", err)
	}
	// When it goes, dinsos gets the name, and the name is guarded.
	if err := u.admin.Delete(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	if err := waitReady(u, "dinsos"); err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, 30*time.Second, 200*time.Millisecond, func() (bool, error) {
		err := u.admin.Create(ctx, testenv.Ingress("team-x", "legacy", "dinsos.pontianak.go.id"), client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), "dinsos.pontianak.go.id is claimed by SubdomainRequest dinsos"), nil
	})
	if err != nil {
		t.Fatalf("the name dinsos now serves is not guarded: %v", err)
	}
	// An Ingress that had a claimed host before the claim keeps it through updates (a
	// finalizer's removal, a label), but may not add one.
	if err := testenv.Edit(ctx, u.admin, under, label("yes")); err != nil {
		t.Errorf("an Ingress that predates the claim cannot be edited: %v", err)
	}
	wantDenied(t, testenv.Edit(ctx, u.admin, under, addHosts("dinkes.pontianak.go.id")), claimed)
	// The comparison with the old hosts is bounded: past 10,000 comparisons every host
	// counts as added. 1 old x 101 new hosts is kept; 101 x 101 no longer is.
	var free []string
	for i := range 100 {
		free = append(free, fmt.Sprintf("h%d.example.org", i))
	}
	if err := testenv.Edit(ctx, u.admin, under, addHosts(free...)); err != nil {
		t.Fatalf("adding 100 free hosts to an Ingress that kept a claimed one: %v", err)
	}
	wantDenied(t, testenv.Edit(ctx, u.admin, under, label("again")), "api.dinsos.pontianak.go.id is claimed by SubdomainRequest dinsos")
	// A host is kept only in its place: the TLS host may stay, not become a rule host.
	if err := testenv.Edit(ctx, u.admin, tlsOnly, label("yes")); err != nil {
		t.Errorf("an Ingress with a claimed TLS host from before the claim cannot be edited: %v", err)
	}
	wantDenied(t, testenv.Edit(ctx, u.admin, tlsOnly, addHosts("dinsos.pontianak.go.id")),
		"dinsos.pontianak.go.id is claimed by SubdomainRequest dinsos")
}

// TestRoutesWithoutRights: a cluster that serves the Gateway API's routes while the
// operator's role (a custom one) has no rule for them: the operator leaves routes out
// of its checks and says so, and works. Before, the route informer, refused its list,
// never synced, and the request controller never started.
func TestRoutesWithoutRights(t *testing.T) {
	crds, err := testenv.GatewayAPICRDs()
	if err != nil {
		t.Fatal(err)
	}
	env, u := start(t, crds...)
	ctx := context.Background()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "subdomain-operator"}}
	if err := testenv.Edit(ctx, u.admin, role, func(r *rbacv1.ClusterRole) {
		r.Rules = slices.DeleteFunc(r.Rules, func(p rbacv1.PolicyRule) bool { return slices.Contains(p.APIGroups, "gateway.networking.k8s.io") })
	}); err != nil {
		t.Fatal(err)
	}
	runOperator(t, env, u)
	r := request("dinkes", "dinkes")
	r.Annotations = map[string]string{sdv1.AnnotationApproved: "dinkes"}
	if err := u.approver.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := waitReady(u, "dinkes"); err != nil {
		t.Fatalf("the operator does not work without rights on routes: %v", err)
	}
}

// TestClaimedHostnamesManyNames: with thousands of names claimed in a zone, an Ingress
// outside the hosting namespaces with one claimed host among many free ones is still
// refused. The policy looks each host up in the zone's status.claimedNames, a map:
// the cost does not grow with the names. (A string of names searched per host cost
// about the string's length per host, ran past CEL's per-call cost limit on an Ingress
// of a few dozen hosts at 3,000 names, and failurePolicy Ignore let it in.)
func TestClaimedHostnamesManyNames(t *testing.T) {
	env, u := start(t)
	ctx := context.Background()
	if err := u.admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-x"}}); err != nil {
		t.Fatal(err)
	}
	runOperator(t, env, u)
	const n = 3000
	fqdn := func(i int) string { return fmt.Sprintf("filler%05d.pontianak.go.id", i) }
	// Claims as requests' names would hold them (no request behind them: the zone
	// counts them all the same, and nothing sweeps a claim without its request's UID).
	err := testenv.ForEach(n, 8, func(i int) error {
		return u.admin.Create(ctx, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: fqdn(i),
			Labels: map[string]string{sdv1.LabelZone: "pontianak", sdv1.LabelClaimType: string(sdv1.ClaimTypeFQDN)}},
			Spec: sdv1.SubdomainClaimSpec{Type: sdv1.ClaimTypeFQDN, Value: fqdn(i), Zone: "pontianak", Request: fmt.Sprintf("filler%05d", i)}})
	})
	if err != nil {
		t.Fatal(err)
	}
	last := fqdn(n - 1)
	err = testenv.Eventually(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
		err := u.admin.Create(ctx, testenv.Ingress("team-x", "probe", last), client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), last+" is claimed by SubdomainRequest filler02999"), nil
	})
	if err != nil {
		t.Fatalf("the zone's last claimed name is not guarded: %v", err)
	}
	ing := testenv.Ingress("team-x", "many", "free-0.pontianak.go.id")
	for i := 1; i < 60; i++ {
		ing.Spec.Rules = append(ing.Spec.Rules, testenv.Ingress("", "", fmt.Sprintf("free-%d.pontianak.go.id", i)).Spec.Rules...)
	}
	ing.Spec.Rules = append(ing.Spec.Rules, testenv.Ingress("", "", fqdn(1234)).Spec.Rules...)
	wantDenied(t, u.admin.Create(ctx, ing), fqdn(1234)+" is claimed by SubdomainRequest filler01234")
	ing.Spec.Rules = ing.Spec.Rules[:60]
	if err := u.admin.Create(ctx, ing); err != nil {
		t.Errorf("an Ingress of 60 free names refused: %v", err)
	}
}

// TestRetainedHostnames: a site retained on deletion keeps its name guarded after its
// zone is deleted too - no zone lists the name any more, and subdomain-retained-hostnames,
// whose params are the retained FQDN claims, refuses an Ingress for it outside the
// hosting namespace.
func TestRetainedHostnames(t *testing.T) {
	env, u := start(t)
	ctx := context.Background()
	if err := u.admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-x"}}); err != nil {
		t.Fatal(err)
	}
	runOperator(t, env, u)
	r := request("arsip", "arsip")
	r.Annotations = map[string]string{sdv1.AnnotationApproved: "arsip"}
	r.Spec.DeletionPolicy = sdv1.DeletionPolicyRetain
	if err := u.approver.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := waitReady(u, "arsip"); err != nil {
		t.Fatal(err)
	}
	for _, o := range []client.Object{&sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "arsip"}},
		&sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "pontianak"}}} {
		if err := u.admin.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
		err := testenv.Eventually(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
			err := u.admin.Get(ctx, client.ObjectKeyFromObject(o), o)
			return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
		})
		if err != nil {
			t.Fatalf("%T %s not gone: %v", o, o.GetName(), err)
		}
	}
	claim := &sdv1.SubdomainClaim{}
	if err := u.admin.Get(ctx, types.NamespacedName{Name: "arsip.pontianak.go.id"}, claim); err != nil || claim.Labels[sdv1.LabelRetained] != "true" {
		t.Fatalf("the retained claim, labelled: %v %v", err, claim.Labels)
	}
	err := testenv.Eventually(ctx, 30*time.Second, 200*time.Millisecond, func() (bool, error) {
		err := u.admin.Create(ctx, testenv.Ingress("team-x", "steal", "arsip.pontianak.go.id"), client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), "arsip.pontianak.go.id is claimed by SubdomainRequest arsip"), nil
	})
	if err != nil {
		t.Fatalf("a retained name whose zone is gone is not guarded: %v", err)
	}
	wantDenied(t, u.admin.Create(ctx, testenv.Ingress("team-x", "under", "www.arsip.pontianak.go.id")),
		"www.arsip.pontianak.go.id is claimed by SubdomainRequest arsip")
}
