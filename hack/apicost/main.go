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

// Command apicost prints what each API call the operator makes for a request costs the
// API server in CPU, measured on a fresh test control plane: each operation n times
// from 8 workers, the kube-apiserver's CPU time before and after. It explains the
// benchmark's ratio: on a machine where the API server is the bottleneck, throughput
// is CPU per request. With -policies the shipped admission policies (config/policies)
// are installed first, as deployments and the benchmark do.
//
//	go run ./hack/apicost [-n 1000] [-policies]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/ledger"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

func main() {
	n := flag.Int("n", 1000, "times each operation runs")
	policies := flag.Bool("policies", false, "install config/policies first, as deployments do")
	flag.Parse()
	testenv.ExitOnInterrupt()
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	opts := testenv.Options{}
	if *policies {
		opts.ExtraManifests = []string{filepath.Join(testenv.RepoRoot(), "config", "policies")}
	}
	env, err := testenv.Start(opts)
	if err != nil {
		fail(err)
	}
	defer testenv.AtExit(func() { _ = env.Stop() })()
	ctx := context.Background()
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = 5000, 5000
	c, err := client.New(cfg, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		fail(err)
	}
	if *policies {
		if err := testenv.WaitForPolicies(ctx, c); err != nil {
			fail(err)
		}
	}
	if err := env.CreateNamespaces(ctx, "subdomain-system", "apps"); err != nil {
		fail(err)
	}
	if err := c.Create(ctx, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "bench"},
		Spec: sdv1.SubdomainZoneSpec{Domain: "bench.go.id", AddressPool: []string{"10.0.0.0/16"}}}); err != nil {
		fail(err)
	}
	name := func(i int) string { return fmt.Sprintf("opd%05d", i) }
	w := ledger.NewWriter(c, c)
	wctx, stopWriter := context.WithCancel(ctx)
	defer stopWriter()
	go func() { _ = w.Start(wctx) }()

	// The zone's status.claimedNames, as the operator writes it for the n claims.
	claimedOnce := sync.OnceValue(func() error {
		names := make(map[string]string, *n)
		for i := range *n {
			names[name(i)+".bench.go.id"] = name(i)
		}
		z := &sdv1.SubdomainZone{}
		if err := c.Get(ctx, types.NamespacedName{Name: "bench"}, z); err != nil {
			return err
		}
		from := z.DeepCopy()
		z.Status.ClaimedNames = names
		if err := c.Status().Patch(ctx, z, client.MergeFrom(from)); err != nil {
			return err
		}
		time.Sleep(2 * time.Second) // the policy's param informer
		return nil
	})
	ops := []struct {
		what string
		op   func(i int) error
	}{
		{"create SubdomainRequest (the user)", func(i int) error {
			return c.Create(ctx, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: name(i), Annotations: map[string]string{sdv1.AnnotationApproved: "kadis"}},
				Spec: sdv1.SubdomainRequestSpec{Zone: "bench", Subdomain: name(i), OPD: sdv1.OPD{Name: name(i), Code: name(i), AdminGroup: "g"}}})
		}},
		{"patch finalizer", func(i int) error {
			return c.Patch(ctx, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: name(i)}},
				client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":["`+sdv1.Finalizer+`"]}}`)))
		}},
		{"get SubdomainRequest", func(i int) error {
			return c.Get(ctx, types.NamespacedName{Name: name(i)}, &sdv1.SubdomainRequest{})
		}},
		{"patch status to Ready (after a get)", func(i int) error { return readyStatus(ctx, c, name(i)) }},
		{"create SubdomainClaim", func(i int) error {
			return c.Create(ctx, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: name(i) + ".bench.go.id",
				Labels: map[string]string{sdv1.LabelRequest: name(i), sdv1.LabelZone: "bench", sdv1.LabelClaimType: string(sdv1.ClaimTypeFQDN)}},
				Spec: sdv1.SubdomainClaimSpec{Type: sdv1.ClaimTypeFQDN, Value: name(i), Zone: "bench", Request: name(i)}})
		}},
		{fmt.Sprintf("list a request's claims by spec.request (of %d)", *n), func(i int) error {
			return c.List(ctx, &sdv1.SubdomainClaimList{}, client.MatchingFields{"spec.request": name(i)})
		}},
		{fmt.Sprintf("create Ingress outside hosting namespaces (%d names claimed)", *n), func(i int) error {
			// With -policies, subdomain-claimed-hostnames checks its host, a free name
			// of the zone, against the zone's claimed names, as the operator lists them.
			if err := claimedOnce(); err != nil {
				return err
			}
			return c.Create(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name(i)},
				Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "free-" + name(i) + ".bench.go.id"}}}})
		}},
		{fmt.Sprintf("zone status write, a name added (%d names)", *n), func(i int) error {
			// As the zone reconciler writes it (zoneStatusPatch): one name more, one at
			// a time. The API server's own watcher of zones (the policy's params) reads it.
			if err := claimedOnce(); err != nil {
				return err
			}
			patch := fmt.Sprintf(`{"status":{"claimedNames":{"extra%05d.bench.go.id":"extra%05d"}}}`, i, i)
			return c.Status().Patch(ctx, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}, client.RawPatch(types.MergePatchType, []byte(patch)))
		}},
		{"create Namespace", func(i int) error {
			return c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-" + name(i)}})
		}},
		{"create Secret", func(i int) error {
			return c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-" + name(i), Name: "credentials"},
				StringData: map[string]string{"password": "x"}})
		}},
		{"create Event", func(i int) error {
			return c.Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "ev-" + name(i)},
				InvolvedObject: corev1.ObjectReference{Kind: "SubdomainRequest", Name: name(i)}, Reason: "Ready", Message: "ready"})
		}},
	}
	// Ledger entries, in the batches the writer makes from 1, 3 and 10 concurrent appends.
	for _, batch := range []int{1, 3, 10} {
		ops = append(ops, struct {
			what string
			op   func(i int) error
		}{fmt.Sprintf("ledger entry, %d appended at once (per entry)", batch), func(i int) error {
			if i%batch != 0 {
				return nil
			}
			return testenv.ForEach(min(batch, *n-i), batch, func(k int) error {
				j := i + k
				return w.Append(ctx, "bench", sdv1.LedgerEntry{ID: fmt.Sprintf("uid-%d-%d/Ready/", batch, j), Type: sdv1.LedgerReady,
					Request: name(j), At: metav1.Now(), FQDN: name(j) + ".bench.go.id", Address: "10.0.0.1", Namespace: "opd-" + name(j), OPD: name(j), ApprovedBy: "kadis"})
			})
		}})
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "operation\tAPI server CPU per op\twall for %d\t\n", *n)
	for _, o := range ops {
		workers := 8
		if o.what[:6] == "ledger" || o.what[:4] == "zone" {
			workers = 1 // one batch at a time, as the writer does; one zone pass at a time
		}
		cpu, wall, err := measure(env, *n, workers, o.op)
		if err != nil {
			fail(fmt.Errorf("%s: %w", o.what, err))
		}
		fmt.Fprintf(tw, "%s\t%.2f ms\t%s\t\n", o.what, float64(cpu.Microseconds())/1000/float64(*n), wall.Round(10*time.Millisecond))
	}
	_ = tw.Flush()
}

// readyStatus writes, as the operator does (a merge patch of the status with its
// optimistic lock), the status the operator gives a request that becomes Ready: the
// design's eight conditions - Reconciling and Stalled are absent when False - with
// messages as long as the operator's, and the figures. The object then has the size
// of a Ready request's (5.1 KB with its managedFields, 2.2 KB of it status).
func readyStatus(ctx context.Context, c client.Client, name string) error {
	r := &sdv1.SubdomainRequest{}
	if err := c.Get(ctx, types.NamespacedName{Name: name}, r); err != nil {
		return err
	}
	from := r.DeepCopy()
	now := metav1.Now()
	fqdn, ns := name+".bench.go.id", "opd-"+name
	r.Status.Phase = sdv1.PhaseReady
	r.Status.FQDN, r.Status.Address, r.Status.Namespace = fqdn, "10.0.1.1", ns
	r.Status.RequestedAt, r.Status.ApprovedAt, r.Status.ReadyAt = &now, &now, &now
	r.Status.Approval = &sdv1.Approval{Name: name, ApprovedAt: &now}
	r.Status.CredentialsSecret = &sdv1.SecretReference{Namespace: ns, Name: sdv1.CredentialsSecretName}
	r.Status.ObservedGeneration = 1
	for _, t := range []struct{ typ, reason, msg string }{
		{sdv1.ConditionApproved, "Approved", fmt.Sprintf("%q approved by an approver (approved-by not stamped)", name)},
		{sdv1.ConditionNameAvailable, "Claimed", fqdn + " is claimed for this request"},
		{sdv1.ConditionAddressAssigned, "Reserved", "10.0.1.1 is reserved for this request and published in DNS; the zone has no ingress.controllerSelector, so no load balancer announces it: the network team routes the pool"},
		{sdv1.ConditionHostingReady, "Created", "namespace " + ns + " (Pod Security restricted) with quota, limits, network policy and admin binding for group g"},
		{sdv1.ConditionCredentialsReady, "Created", "Secret " + ns + "/" + sdv1.CredentialsSecretName + " holds the site's credentials"},
		{sdv1.ConditionIngressReady, "Created", "Ingress " + ns + "/" + name + " routes " + fqdn + " to Service web:80"},
		{sdv1.ConditionDNSReady, "RecordHandedToExternalDNS", "DNSEndpoint subdomain-system/" + name + " asks external-dns for A " + fqdn + " -> 10.0.1.1 (TTL 300s)"},
		{sdv1.ConditionReady, "Ready", fqdn + " is served at 10.0.1.1 from namespace " + ns},
	} {
		r.Status.Conditions = append(r.Status.Conditions, metav1.Condition{Type: t.typ, Status: metav1.ConditionTrue, Reason: t.reason,
			Message: t.msg, LastTransitionTime: now, ObservedGeneration: 1})
	}
	return c.Status().Patch(ctx, r, client.MergeFromWithOptions(from, client.MergeFromWithOptimisticLock{}))
}

// measure runs op(0..n-1) from workers goroutines and returns the API server's CPU
// time and the wall time it took.
func measure(env *testenv.Env, n, workers int, op func(int) error) (time.Duration, time.Duration, error) {
	before, err := env.APIServerCPU()
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := testenv.ForEach(n, workers, op); err != nil {
		return 0, 0, err
	}
	wall := time.Since(start)
	time.Sleep(500 * time.Millisecond) // watch fan-out of the last writes
	after, err := env.APIServerCPU()
	return after - before, wall, err
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "apicost:", err)
	testenv.Exit(1)
}
