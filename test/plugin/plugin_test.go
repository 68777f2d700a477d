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

// Package plugin tests the kubectl-subdomain binary as a process against a real API
// server with the operator running, through a whole year in miniature: approve,
// reject, rename, delete, an operator restart, then the annual report.
package plugin_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/report"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

func TestPlugin(t *testing.T) {
	root := testenv.RepoRoot()
	bin := filepath.Join(t.TempDir(), "kubectl-subdomain")
	build := exec.Command("go", "build", "-o", bin, "./cmd/kubectl-subdomain")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	env, err := testenv.Start(testenv.Options{ControllerManager: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	c := env.Client
	if err := env.CreateNamespaces(ctx, "subdomain-system", "ingress-nginx"); err != nil {
		t.Fatal(err)
	}
	startOperator := func() func() {
		stop, err := env.StartOperator(ctx, nil, manager.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return stop
	}
	stop := startOperator()
	t.Cleanup(func() { stop() })

	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"--kubeconfig", env.Kubeconfig}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl subdomain %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	waitPhase := func(name string, phase sdv1.Phase) *sdv1.SubdomainRequest {
		t.Helper()
		r := &sdv1.SubdomainRequest{}
		err := testenv.Eventually(ctx, 90*time.Second, 100*time.Millisecond, func() (bool, error) {
			return r.Status.Phase == phase && r.Status.ObservedGeneration == r.Generation, c.Get(ctx, types.NamespacedName{Name: name}, r)
		})
		if err != nil {
			t.Fatalf("%s is %s, want %s: %v", name, r.Status.Phase, phase, err)
		}
		return r
	}

	zone := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "pontianak"}, Spec: sdv1.SubdomainZoneSpec{
		Domain: "pontianak.go.id", AddressPool: []string{"10.20.0.0/24"},
		ServiceLevel: sdv1.ServiceLevel{Approval: &metav1.Duration{Duration: 24 * time.Hour}, Provisioning: &metav1.Duration{Duration: 4 * time.Hour}}}}
	if err := c.Create(ctx, zone); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"dinkes", "dishub", "ditolak"} {
		r := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: n}, Spec: sdv1.SubdomainRequestSpec{Zone: "pontianak", Subdomain: n,
			OPD:    sdv1.OPD{Name: "Dinas " + n, Code: n, AdminGroup: "opd:" + n},
			Letter: sdv1.Letter{Number: "400/1/" + strings.ToUpper(n) + "/2026", Date: "2026-11-20"}}}
		if err := c.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	waitPhase("dinkes", sdv1.PhasePending)

	if out := run("approve", "dinkes"); !strings.Contains(out, `approved dinkes: subdomain "dinkes"`) {
		t.Errorf("approve output: %s", out)
	}
	run("approve", "dishub")
	run("reject", "ditolak", "--reason", "duplicate of dinkes")
	waitPhase("dinkes", sdv1.PhaseReady)
	waitPhase("dishub", sdv1.PhaseReady)
	waitPhase("ditolak", sdv1.PhaseRejected)

	out := run("list")
	for _, want := range []string{"dinkes.pontianak.go.id", "Ready", "Rejected", "APPROVED BY"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	sec := &corev1.Secret{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: "opd-dinkes", Name: sdv1.CredentialsSecretName}, sec); err != nil {
		t.Fatal(err)
	}
	out = run("describe", "dinkes")
	for _, want := range []string{"Change report", "400/1/DINKES/2026", `Approved:    "dinkes"`, "standard 24h0m0s: met", "standard 4h0m0s: met", "Ready             True"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, string(sec.Data["password"])) {
		t.Error("describe shows the password")
	}

	// Rename dinkes: change the spec, then approve what is now shown.
	r := &sdv1.SubdomainRequest{}
	if err := c.Get(ctx, types.NamespacedName{Name: "dinkes"}, r); err != nil {
		t.Fatal(err)
	}
	base := r.DeepCopy()
	r.Spec.Subdomain = "kesehatan"
	if err := c.Patch(ctx, r, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	run("approve", "dinkes")
	err = testenv.Eventually(ctx, 90*time.Second, 100*time.Millisecond, func() (bool, error) {
		return r.Status.FQDN == "kesehatan.pontianak.go.id" && r.Status.Phase == sdv1.PhaseReady, c.Get(ctx, types.NamespacedName{Name: "dinkes"}, r)
	})
	if err != nil {
		t.Fatalf("rename: %v", err)
	}
	if out := run("describe", "dinkes"); !strings.Contains(out, "Renamed from:\n  dinkes.pontianak.go.id") {
		t.Errorf("describe lacks the rename:\n%s", out)
	}

	// Delete dishub and restart the operator: the report still knows.
	if err := c.Delete(ctx, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "dishub"}}); err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, 90*time.Second, 100*time.Millisecond, func() (bool, error) {
		err := c.Get(ctx, types.NamespacedName{Name: "dishub"}, &sdv1.SubdomainRequest{})
		return client.IgnoreNotFound(err) == nil && err != nil, nil
	})
	if err != nil {
		t.Fatalf("dishub not deleted: %v", err)
	}
	stop()
	stop = startOperator()

	year := strconv.Itoa(time.Now().UTC().Year())
	var rep report.Report
	if err := json.Unmarshal([]byte(run("report", "--year", year, "-o", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Active) != 1 || rep.Active[0].FQDN != "kesehatan.pontianak.go.id" || len(rep.Created) != 2 || len(rep.Renamed) != 1 ||
		len(rep.Deleted) != 1 || rep.Deleted[0].FQDN != "dishub.pontianak.go.id" || len(rep.Rejected) != 1 || rep.Rejected[0].Reason != "duplicate of dinkes" {
		t.Errorf("report: %+v", rep)
	}
	if len(rep.ServiceLevel) != 1 || rep.ServiceLevel[0].Approval.Count != 2 || rep.ServiceLevel[0].Approval.Breaches != 0 ||
		rep.ServiceLevel[0].Approval.StandardSeconds != 86400 || rep.ServiceLevel[0].Provisioning.Count < 2 {
		t.Errorf("service level: %+v", rep.ServiceLevel)
	}
	if out := run("report", "--year", year, "--zone", "pontianak", "-o", "markdown"); !strings.Contains(out, "| pontianak | time to approval | 2 |") {
		t.Errorf("markdown report:\n%s", out)
	}
	if out := run("report", "--year", year, "-o", "csv"); !strings.Contains(out, "deleted,") || !strings.Contains(out, "dishub.pontianak.go.id") {
		t.Errorf("csv report:\n%s", out)
	}
}
