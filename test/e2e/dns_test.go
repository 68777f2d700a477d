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

// Package e2e proves DNS end to end: the operator writes DNSEndpoints, the real
// external-dns (rfc2136) publishes them into a real BIND9 on 127.0.0.1, and real DNS
// queries (the real dig) answer.
package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	dnsv1 "sigs.k8s.io/external-dns/apis/v1alpha1"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
	"github.com/kominfo/subdomain-operator/internal/testenv/dnsenv"
)

const zoneDomain = "pontianak.go.id"

// requireTools skips, or fails in CI (SUBDOMAIN_E2E_REQUIRED=1), without named, dig or
// external-dns.
func requireTools(t *testing.T) string {
	t.Helper()
	edns := filepath.Join(testenv.AssetsDir(), "external-dns")
	var missing []string
	if _, err := dnsenv.NamedPath(); err != nil {
		missing = append(missing, "named (apt-get install bind9)")
	}
	if _, err := dnsenv.DigPath(); err != nil {
		missing = append(missing, "dig (apt-get install bind9-dnsutils)")
	}
	if _, err := os.Stat(edns); err != nil {
		missing = append(missing, edns+" (hack/build-tools.sh external-dns)")
	}
	if len(missing) > 0 {
		msg := "the DNS end-to-end tier needs " + strings.Join(missing, " and ")
		if os.Getenv("SUBDOMAIN_E2E_REQUIRED") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (set SUBDOMAIN_E2E_REQUIRED=1 to fail instead)")
	}
	return edns
}

func TestDNSEndToEnd(t *testing.T) {
	edns := requireTools(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := testenv.StartForTest(t, testenv.Options{ControllerManager: true})
	c := env.Client
	if err := env.CreateNamespaces(ctx, "subdomain-system", "ingress-nginx"); err != nil {
		t.Fatal(err)
	}
	bind, err := dnsenv.StartBIND(ctx, t.TempDir(), zoneDomain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bind.Stop)
	ext, err := dnsenv.StartExternalDNS(ctx, edns, env.Kubeconfig, bind, "subdomain-system")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ext.Stop)

	env.RunOperator(t, ctx, nil, manager.Config{})

	zone := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "pontianak"}, Spec: sdv1.SubdomainZoneSpec{
		Domain: zoneDomain, AddressPool: []string{"10.20.0.0/24"}, RenameGracePeriod: &metav1.Duration{Duration: 20 * time.Second}}}
	if err := c.Create(ctx, zone); err != nil {
		t.Fatal(err)
	}
	req := func(name string, ann map[string]string) *sdv1.SubdomainRequest {
		return &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann},
			Spec: sdv1.SubdomainRequestSpec{Zone: "pontianak", Subdomain: name,
				OPD: sdv1.OPD{Name: "Dinas " + name, Code: name, AdminGroup: "opd:" + name}}}
	}
	if err := c.Create(ctx, req("dinkes", map[string]string{sdv1.AnnotationApproved: "dinkes"})); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, req("ditolak", map[string]string{sdv1.AnnotationApproved: "ditolak", sdv1.AnnotationRejected: "duplicate"})); err != nil {
		t.Fatal(err)
	}
	r := &sdv1.SubdomainRequest{}
	waitRequest := func(cond func() bool) {
		t.Helper()
		err := testenv.WaitFor(ctx, c, types.NamespacedName{Name: "dinkes"}, r, 90*time.Second, 100*time.Millisecond, func(*sdv1.SubdomainRequest) bool {
			return cond()
		})
		if err != nil {
			t.Fatalf("request dinkes: %v (phase %s)", err, r.Status.Phase)
		}
	}
	waitRequest(func() bool { return r.Status.Phase == sdv1.PhaseReady })
	addr := r.Status.Address

	// resolve waits until the real dig answers want (nil: no record, from an
	// authoritative NOERROR or NXDOMAIN).
	resolve := func(name, qtype string, want []string) {
		t.Helper()
		var got []string
		err := testenv.Eventually(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
			var err error
			got, err = bind.Dig(ctx, name, qtype)
			return slices.Equal(got, want), err
		})
		if err != nil {
			t.Fatalf("%s answered %v, want %v: %v\nexternal-dns log:\n%s", bind.DigCommand(name, qtype), got, want, err, ext.LogTail(30))
		}
	}
	resolve("dinkes."+zoneDomain, "A", []string{addr})
	t.Logf("dinkes.%s A %s", zoneDomain, addr)

	// A rejected request never resolves: once the operator has reconciled it to
	// Rejected it has no DNSEndpoint, and two further external-dns syncs later dig
	// still finds no record.
	rejected := &sdv1.SubdomainRequest{}
	err = testenv.WaitFor(ctx, c, types.NamespacedName{Name: "ditolak"}, rejected, 90*time.Second, 100*time.Millisecond,
		func(r *sdv1.SubdomainRequest) bool {
			return r.Status.Phase == sdv1.PhaseRejected && r.Status.ObservedGeneration == r.Generation
		})
	if err != nil {
		t.Fatalf("request ditolak: %v (phase %s, observedGeneration %d of %d)", err, rejected.Status.Phase,
			rejected.Status.ObservedGeneration, rejected.Generation)
	}
	eps := &dnsv1.DNSEndpointList{}
	if err := c.List(ctx, eps, client.MatchingLabels{sdv1.LabelRequest: "ditolak"}); err != nil {
		t.Fatal(err)
	}
	err = c.Get(ctx, types.NamespacedName{Namespace: "subdomain-system", Name: "ditolak"}, &dnsv1.DNSEndpoint{})
	if len(eps.Items) != 0 || !apierrors.IsNotFound(err) {
		t.Fatalf("the rejected request has DNSEndpoints: %d labelled, subdomain-system/ditolak: %v", len(eps.Items), err)
	}
	for range 2 {
		if err := ext.WaitForSync(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := bind.Dig(ctx, "ditolak."+zoneDomain, "A"); err != nil || len(got) != 0 {
		t.Fatalf("a rejected request resolves: %s answered %v %v", bind.DigCommand("ditolak."+zoneDomain, "A"), got, err)
	}

	// Rename: the new name resolves to the address, the old one is a CNAME to it.
	base := r.DeepCopy()
	r.Spec.Subdomain = "kesehatan"
	r.Annotations[sdv1.AnnotationApproved] = "kesehatan"
	if err := c.Patch(ctx, r, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	resolve("kesehatan."+zoneDomain, "A", []string{addr})
	resolve("dinkes."+zoneDomain, "CNAME", []string{"kesehatan." + zoneDomain + "."})
	// The grace period (20 s) over, the old name is released: it stops resolving, and
	// the new one goes on.
	resolve("dinkes."+zoneDomain, "CNAME", nil)
	resolve("dinkes."+zoneDomain, "A", nil)
	resolve("kesehatan."+zoneDomain, "A", []string{addr})

	// Deleting the request stops both names resolving.
	if err := c.Delete(ctx, r); err != nil {
		t.Fatal(err)
	}
	resolve("kesehatan."+zoneDomain, "A", nil)
	resolve("dinkes."+zoneDomain, "CNAME", nil)

	// A label of 62 characters, which the API accepts (up to 63): its record is owned,
	// so deleting the request deletes it too.
	long := strings.Repeat("p", 62)
	lr := req("panjang", map[string]string{sdv1.AnnotationApproved: long})
	lr.Spec.Subdomain = long
	if err := c.Create(ctx, lr); err != nil {
		t.Fatal(err)
	}
	if err := testenv.WaitFor(ctx, c, types.NamespacedName{Name: "panjang"}, lr, 90*time.Second, 100*time.Millisecond,
		func(r *sdv1.SubdomainRequest) bool { return r.Status.Phase == sdv1.PhaseReady }); err != nil {
		t.Fatalf("request panjang (%s): %v (phase %s)", long, err, lr.Status.Phase)
	}
	resolve(long+"."+zoneDomain, "A", []string{lr.Status.Address})
	if err := c.Delete(ctx, lr); err != nil {
		t.Fatal(err)
	}
	resolve(long+"."+zoneDomain, "A", nil)
}
