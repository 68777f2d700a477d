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
// reject, rename, delete (Delete and Retain), an operator restart, then the annual
// report and the change reports of deleted requests, also as the shipped read-only
// and approver roles.
package plugin_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/report"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

func TestPlugin(t *testing.T) {
	// The report below is of the year the events fall in: a run across New Year would
	// split them between two reports.
	startYear := time.Now().UTC().Year()
	root := testenv.RepoRoot()
	bin := filepath.Join(t.TempDir(), "kubectl-subdomain")
	build := exec.Command("go", "build", "-o", bin, "./cmd/kubectl-subdomain")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// The shipped ClusterRoles (the admission policies are not installed: approved-by is
	// set by hand below where the MutatingAdmissionPolicy would stamp it).
	env := testenv.StartForTest(t, testenv.Options{ControllerManager: true,
		ExtraManifests: []string{filepath.Join(root, "config", "policies", "roles.yaml")}})
	ctx := context.Background()
	c := env.Client
	if err := env.CreateNamespaces(ctx, "subdomain-system", "ingress-nginx"); err != nil {
		t.Fatal(err)
	}
	testenv.FailOnPanics(t) // runs after the stop below, which covers every start
	startOperator := func() func() {
		stop, err := env.StartOperator(ctx, nil, manager.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return stop
	}
	stop := startOperator()
	t.Cleanup(func() { stop() })

	runAs := func(kubeconfig string, args ...string) (string, error) {
		out, err := exec.Command(bin, append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
		return string(out), err
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := runAs(env.Kubeconfig, args...)
		if err != nil {
			t.Fatalf("kubectl subdomain %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	waitPhase := func(name string, phase sdv1.Phase) *sdv1.SubdomainRequest {
		t.Helper()
		r := &sdv1.SubdomainRequest{}
		err := testenv.WaitFor(ctx, c, types.NamespacedName{Name: name}, r, 90*time.Second, 100*time.Millisecond, func(r *sdv1.SubdomainRequest) bool {
			return r.Status.Phase == phase && r.Status.ObservedGeneration == r.Generation
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
	for _, n := range []string{"dinkes", "dishub", "ditolak", "disdik"} {
		// approved-by: what subdomain-approved-by stamps when kadis approves.
		r := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: n, Annotations: map[string]string{sdv1.AnnotationApprovedBy: "kadis"}},
			Spec: sdv1.SubdomainRequestSpec{Zone: "pontianak", Subdomain: n,
				OPD:    sdv1.OPD{Name: "Dinas " + n, Code: n, AdminGroup: "opd:" + n},
				Letter: sdv1.Letter{Number: "400/1/" + strings.ToUpper(n) + "/2026", Date: "2026-11-20"}}}
		if n == "disdik" {
			r.Spec.DeletionPolicy = sdv1.DeletionPolicyRetain
		}
		if err := c.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	waitPhase("dinkes", sdv1.PhasePending)

	if out := run("approve", "dinkes"); !strings.Contains(out, `approved dinkes: subdomain "dinkes"`) {
		t.Errorf("approve output: %s", out)
	}
	run("approve", "dishub")
	run("approve", "disdik")
	run("reject", "ditolak", "--reason", "duplicate of dinkes")
	waitPhase("dinkes", sdv1.PhaseReady)
	waitPhase("dishub", sdv1.PhaseReady)
	waitPhase("disdik", sdv1.PhaseReady)
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
	for _, want := range []string{"Change report", "400/1/DINKES/2026", `Approved:    "dinkes"`, "standard 24h0m0s: met", "standard 4h0m0s: met", "Ready             True",
		"Created (each labelled subdomain.kominfo.go.id/request=dinkes):", "Namespace      opd-dinkes (Pod Security restricted)",
		"RoleBinding    opd-dinkes/opd-admin (group opd:dinkes -> ClusterRole admin)",
		"Ingress        opd-dinkes/dinkes (hosts dinkes.pontianak.go.id -> service web:80)",
		"DNSEndpoint    subdomain-system/dinkes (A dinkes.pontianak.go.id -> 10.20.0.",
		"Secret         opd-dinkes/subdomain-credentials"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, string(sec.Data["password"])) {
		t.Error("describe shows the password")
	}

	// Rename dinkes: change the spec, then approve what is now shown (sekda approves).
	r := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "dinkes"}}
	if err := testenv.Edit(ctx, c, r, func(r *sdv1.SubdomainRequest) {
		r.Spec.Subdomain = "kesehatan"
		r.Annotations[sdv1.AnnotationApprovedBy] = "sekda"
	}); err != nil {
		t.Fatal(err)
	}
	run("approve", "dinkes")
	err := testenv.WaitFor(ctx, c, types.NamespacedName{Name: "dinkes"}, r, 90*time.Second, 100*time.Millisecond, func(r *sdv1.SubdomainRequest) bool {
		return r.Status.FQDN == "kesehatan.pontianak.go.id" && r.Status.Phase == sdv1.PhaseReady
	})
	if err != nil {
		t.Fatalf("rename: %v", err)
	}
	if out := run("describe", "dinkes"); !strings.Contains(out, "Renamed from:\n  dinkes.pontianak.go.id") ||
		!strings.Contains(out, "(hosts kesehatan.pontianak.go.id, dinkes.pontianak.go.id -> service web:80)") ||
		!strings.Contains(out, "CNAME dinkes.pontianak.go.id -> kesehatan.pontianak.go.id") ||
		!regexp.MustCompile(`renamed    after \d+s \(standard 4h0m0s: met\)`).MatchString(out) {
		t.Errorf("describe lacks the rename, or the old name's host and record:\n%s", out)
	}

	// Delete dishub (deletionPolicy Delete) and disdik (Retain) and restart the
	// operator: the report still knows.
	for _, n := range []string{"dishub", "disdik"} {
		if err := c.Delete(ctx, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil {
			t.Fatal(err)
		}
		err = testenv.Eventually(ctx, 90*time.Second, 100*time.Millisecond, func() (bool, error) {
			err := c.Get(ctx, types.NamespacedName{Name: n}, &sdv1.SubdomainRequest{})
			return client.IgnoreNotFound(err) == nil && err != nil, nil
		})
		if err != nil {
			t.Fatalf("%s not deleted: %v", n, err)
		}
	}
	stop()
	stop = startOperator()

	if y := time.Now().UTC().Year(); y != startYear {
		t.Skipf("the run crossed New Year (%d to %d): its events fall in two years' reports", startYear, y)
	}
	year := strconv.Itoa(startYear)
	var rep report.Report
	if err := json.Unmarshal([]byte(run("report", "--year", year, "-o", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	// Active in the year: every subdomain that served in it, the deleted ones too (the
	// retained one still serves).
	active := map[string]report.Site{}
	for _, s := range rep.Active {
		active[s.FQDN] = s
	}
	if k, h, d := active["kesehatan.pontianak.go.id"], active["dishub.pontianak.go.id"], active["disdik.pontianak.go.id"]; len(rep.Active) != 3 ||
		k.Phase != string(sdv1.PhaseReady) || k.Deleted != nil || k.ApprovedBy != "sekda" ||
		h.Deleted == nil || h.Retained || h.ApprovedBy != "kadis" || d.Deleted == nil || !d.Retained {
		t.Errorf("active: %+v", rep.Active)
	}
	deleted := map[string]sdv1.DeletionPolicy{}
	for _, e := range rep.Deleted {
		deleted[e.FQDN] = e.DeletionPolicy
	}
	if len(rep.Created) != 3 || len(rep.Renamed) != 1 || rep.Renamed[0].ApprovedBy != "sekda" || len(rep.Deleted) != 2 ||
		deleted["dishub.pontianak.go.id"] != sdv1.DeletionPolicyDelete || deleted["disdik.pontianak.go.id"] != sdv1.DeletionPolicyRetain ||
		len(rep.Rejected) != 1 || rep.Rejected[0].Reason != "duplicate of dinkes" {
		t.Errorf("report: %+v", rep)
	}
	// Each creation and the rename carry their own times, all within the standards
	// (the rename's time to approval too: from its asking to its approval).
	for _, e := range append(slices.Clone(rep.Created), rep.Renamed...) {
		if e.ApprovalToReadySeconds == nil || e.TimeToApprovalSeconds == nil || len(e.OverStandard) != 0 {
			t.Errorf("times of %s: to approval %v, to ready %v, over %v", e.FQDN, e.TimeToApprovalSeconds, e.ApprovalToReadySeconds, e.OverStandard)
		}
	}
	if len(rep.ServiceLevel) != 1 || rep.ServiceLevel[0].Approval.Count != 4 || rep.ServiceLevel[0].Approval.Breaches != 0 ||
		rep.ServiceLevel[0].Approval.StandardSeconds != 86400 || rep.ServiceLevel[0].Provisioning.Count < 3 {
		t.Errorf("service level: %+v", rep.ServiceLevel)
	}
	out = run("report", "--year", year, "--zone", "pontianak", "-o", "markdown")
	for _, want := range []string{"| pontianak | time to approval | 4 |", "deleted: 2 (retained: 1)",
		"| disdik.pontianak.go.id | deleted, retained: site left in place, nothing released",
		"| kesehatan.pontianak.go.id | from dinkes.pontianak.go.id, approved by sekda; time to approval "} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown report lacks %q:\n%s", want, out)
		}
	}
	if out, err := runAs(env.Kubeconfig, "report", year, "-o", "csv"); err == nil || !strings.Contains(out, "report takes no arguments") {
		t.Errorf("report with the year as an argument: %v\n%s", err, out)
	}
	// A typo in --zone or --year is an error, not an empty report; help is no failure
	// and needs no cluster.
	for _, bad := range [][]string{{"--zone", "pontinak"}, {"--year", "0"}, {"--year", "26"}} {
		args := append([]string{"report", "--year", year}, bad...)
		if out, err := runAs(env.Kubeconfig, args...); err == nil {
			t.Errorf("report %v: no error\n%s", bad, out)
		}
	}
	// kubectl's connection flags after the command, as kubectl passes them: a
	// kubeconfig whose current context points nowhere, and --context naming the one
	// that works (the city's and the province's clusters in one kubeconfig).
	kc, err := clientcmd.LoadFromFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	working := kc.CurrentContext
	kc.Clusters["nowhere"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	kc.Contexts["nowhere"] = &clientcmdapi.Context{Cluster: "nowhere", AuthInfo: kc.Contexts[working].AuthInfo}
	kc.CurrentContext = "nowhere"
	twoContexts := filepath.Join(t.TempDir(), "two-contexts")
	if err := clientcmd.WriteToFile(*kc, twoContexts); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "list", "--kubeconfig", twoContexts, "--request-timeout=5s").CombinedOutput(); err == nil {
		t.Errorf("list on the context that points nowhere: no error\n%s", out)
	}
	for _, args := range [][]string{{"list", "--kubeconfig", twoContexts, "--context", working}, {"report", "--context=" + working, "--year", year, "--kubeconfig=" + twoContexts}} {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil || !strings.Contains(string(out), "kesehatan.pontianak.go.id") {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
	for _, help := range [][]string{{"-h"}, {"report", "-h"}, {"list", "--help"}, {"help"}} {
		if out, err := runAs(filepath.Join(t.TempDir(), "no-kubeconfig"), help...); err != nil || !strings.Contains(out, "report --year YYYY") {
			t.Errorf("%v: %v\n%s", help, err, out)
		}
	}
	out = run("report", "--year", year, "-o", "csv")
	for _, want := range []string{"dishub.pontianak.go.id", "deletionPolicy=Delete: address", "deletionPolicy=Retain: deleted, retained", ",sekda,time_to_approval_s="} {
		if !strings.Contains(out, want) {
			t.Errorf("csv report lacks %q:\n%s", want, out)
		}
	}

	// describe of a deleted request: its change report from the ledger.
	out = run("describe", "dishub")
	for _, want := range []string{"Change report", "The request is gone", "400/1/DISHUB/2026", "Approved:    by kadis",
		"standard 24h0m0s: met", "standard 4h0m0s: met", "deletionPolicy Delete", "released"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe of deleted dishub lacks %q:\n%s", want, out)
		}
	}
	out = run("describe", "disdik")
	for _, want := range []string{"400/1/DISDIK/2026", "deletionPolicy Retain", "nothing released"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe of retained disdik lacks %q:\n%s", want, out)
		}
	}
	if out, err := runAs(env.Kubeconfig, "describe", "nosuch"); err == nil || !strings.Contains(out, "no record") {
		t.Errorf("describe of an unknown request: %v\n%s", err, out)
	}

	// The shipped roles: the division head with subdomain-viewer, the approver with
	// subdomain-approver and the platform team with subdomain-editor can read the
	// records; the viewer cannot approve.
	for user, role := range map[string]string{"kabid": "subdomain-viewer", "kadis": "subdomain-approver", "platform": "subdomain-editor"} {
		crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}}
		if err := c.Create(ctx, crb); err != nil {
			t.Fatal(err)
		}
		u, err := env.AddUser(user)
		if err != nil {
			t.Fatal(err)
		}
		kc, err := env.WriteKubeconfig(user+".kubeconfig", u)
		if err != nil {
			t.Fatal(err)
		}
		// The API server learns of the binding through its watch: wait until it lets
		// the user read the records.
		uc, err := client.New(u.Config(), client.Options{Scheme: manager.Scheme()})
		if err != nil {
			t.Fatal(err)
		}
		if err := testenv.Eventually(ctx, 30*time.Second, 100*time.Millisecond, func() (bool, error) {
			return uc.List(ctx, &sdv1.SubdomainLedgerList{}) == nil, nil
		}); err != nil {
			t.Fatalf("user %s never got %s: %v", user, role, err)
		}
		out, err := runAs(kc, "report", "--year", year, "-o", "json")
		var theirs report.Report
		if err != nil || json.Unmarshal([]byte(out), &theirs) != nil || len(theirs.Active) != 3 || len(theirs.Deleted) != 2 {
			t.Errorf("report as %s (%s): %v\n%s", user, role, err, out)
		}
		if out, err := runAs(kc, "describe", "dishub"); err != nil || !strings.Contains(out, "deletionPolicy Delete") {
			t.Errorf("describe of a deleted request as %s (%s): %v\n%s", user, role, err, out)
		}
		if out, err := runAs(kc, "list"); err != nil || !strings.Contains(out, "kesehatan.pontianak.go.id") {
			t.Errorf("list as %s (%s): %v\n%s", user, role, err, out)
		}
		if user == "kabid" {
			if out, err := runAs(kc, "approve", "dinkes"); err == nil || !strings.Contains(out, "forbidden") {
				t.Errorf("the viewer could approve: %v\n%s", err, out)
			}
		}
	}

	// describe of a request whose zone does not exist says so instead of naming places
	// with empty namespaces.
	if err := c.Create(ctx, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "tanpazona"},
		Spec: sdv1.SubdomainRequestSpec{Zone: "tidakada", Subdomain: "tanpazona", OPD: sdv1.OPD{Name: "Dinas Tanpa Zona", Code: "tanpazona", AdminGroup: "g"}}}); err != nil {
		t.Fatal(err)
	}
	if out := run("describe", "tanpazona"); !strings.Contains(out, "Zone:        tidakada cannot be read (NotFound)") {
		t.Errorf("describe without a zone:\n%s", out)
	}

	// Approving a rejected request lifts the rejection (it wins over an approval).
	if out := run("approve", "ditolak"); !strings.Contains(out, `the rejection ("duplicate of dinkes") is lifted`) {
		t.Errorf("approve of a rejected request: %s", out)
	}
	if r := waitPhase("ditolak", sdv1.PhaseReady); r.Annotations[sdv1.AnnotationRejected] != "" {
		t.Errorf("still rejected: %v", r.Annotations)
	}
}
