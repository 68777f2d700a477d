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

// Package chart checks the Helm chart and the kustomize deployment: helm lint, helm
// template with several value sets, values.schema.json refusing bad values, and every
// rendered object accepted by a real API server.
package chart_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kominfo/subdomain-operator/internal/testenv"
)

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := filepath.Join(testenv.AssetsDir(), "helm")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("SUBDOMAIN_E2E_REQUIRED") == "1" {
			t.Fatalf("%s missing (hack/build-tools.sh helm)", bin)
		}
		t.Skipf("%s missing: run hack/build-tools.sh helm", bin)
	}
	if args[0] == "template" {
		args = append(args, "--kube-version", "1.37.2")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = testenv.RepoRoot()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

const chart = "charts/subdomain-operator"

func TestChart(t *testing.T) {
	for _, set := range [][]string{nil, {"--set", "metrics.serviceMonitor.enabled=true,dashboard.enabled=true,replicaCount=2"}} {
		if out, err := helm(t, append([]string{"lint", "--strict", chart}, set...)...); err != nil {
			t.Fatalf("helm lint %v: %v\n%s", set, err, out)
		}
	}
	// The schema refuses bad values, and says so: helm names values.schema.json's check
	// and the rejected key (not some other failure of the template).
	for bad, key := range map[string]string{
		"replicaCount=0":                      "'/replicaCount'",
		"logLevel=loud":                       "'/logLevel'",
		"unknownKey=1":                        "additional properties 'unknownKey' not allowed",
		"replicaCount=2,leaderElection=false": "'/leaderElection'",
		"kubeAPI.compression=maybe":           "'/kubeAPI/compression'",
		"imagePullSecrets[0].secret=regcred":  "'/imagePullSecrets/0'",
		// The probes' port: the manager could not bind both.
		"metrics.port=8081": "'/metrics/port'",
		// A ServiceMonitor selecting no Service scrapes nothing, silently.
		"metrics.service.enabled=false,metrics.serviceMonitor.enabled=true": "'/metrics/service/enabled'",
	} {
		out, err := helm(t, "template", "x", chart, "--set", bad)
		if err == nil {
			t.Errorf("--set %s was accepted:\n%s", bad, out[:min(len(out), 300)])
			continue
		}
		if !strings.Contains(out, "values don't meet the specifications of the schema") || !strings.Contains(out, key) {
			t.Errorf("--set %s was refused, but not by the values schema naming %s: %v\n%s", bad, key, err, out)
		}
	}
	full, err := helm(t, "template", "subdomain-operator", chart, "--namespace", "subdomain-system",
		"--set", "metrics.serviceMonitor.enabled=true,dashboard.enabled=true")
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, full)
	}
	for _, want := range []string{"kind: CustomResourceDefinition", "kind: ValidatingAdmissionPolicy", "kind: MutatingAdmissionPolicy",
		"kind: ServiceMonitor", "name: subdomain-approver", "readOnlyRootFilesystem: true", "subdomain-operator.json", "--leader-elect=true",
		"--kube-api-compression=false"} {
		if !strings.Contains(full, want) {
			t.Errorf("rendered chart lacks %q", want)
		}
	}
	// One replica: no disruption budget (it would block every drain). Two: one may go,
	// and the standby prefers another node.
	if strings.Contains(full, "kind: PodDisruptionBudget") || strings.Contains(full, "podAntiAffinity") {
		t.Error("one replica renders a PodDisruptionBudget or anti-affinity")
	}
	two, err := helm(t, "template", "x", chart, "--set", "replicaCount=2")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: PodDisruptionBudget", "minAvailable: 1", "podAntiAffinity", "topologyKey: kubernetes.io/hostname"} {
		if !strings.Contains(two, want) {
			t.Errorf("replicaCount=2 renders no %q", want)
		}
	}
	// Without leader election two managers must never overlap: a rollout stops the old
	// pod before it starts the new one (RollingUpdate would run both until the old goes).
	if strings.Contains(full, "type: Recreate") {
		t.Error("with leader election the Deployment need not be recreated on a rollout")
	}
	single, err := helm(t, "template", "x", chart, "--set", "leaderElection=false")
	if err != nil || !strings.Contains(single, "strategy: {type: Recreate}") || !strings.Contains(single, "--leader-elect=false") {
		t.Errorf("leaderElection=false renders no Recreate strategy (%v)", err)
	}
	noCRDs, err := helm(t, "template", "x", chart, "--set", "crds.install=false,policies.install=false")
	if err != nil || strings.Contains(noCRDs, "kind: CustomResourceDefinition") || strings.Contains(noCRDs, "AdmissionPolicy") {
		t.Errorf("crds.install=false / policies.install=false still render them (%v)", err)
	}

	// Install the rendered chart (no ServiceMonitor: the test API server has no
	// Prometheus Operator CRDs) into a real API server: every object must be accepted.
	// With the values of an install from a private registry.
	rendered, err := helm(t, "template", "subdomain-operator", chart, "--namespace", "subdomain-system", "--set",
		"dashboard.enabled=true,imagePullSecrets[0].name=regcred,podAnnotations.team=platform,priorityClassName=system-cluster-critical,replicaCount=2")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"imagePullSecrets:\n        - name: regcred", "annotations:\n        team: platform",
		"priorityClassName: system-cluster-critical"} {
		if !strings.Contains(rendered, want) {
			t.Errorf("rendered chart lacks %q", want)
		}
	}
	// helm uninstall must not delete the CRDs (every request and ledger with them),
	// nor the policies that guard them (and the roles that go with the policies); nor
	// Argo CD's or Flux's prunes of the rendered chart (Argo CD ignores helm's keep).
	kept := 0
	for _, doc := range strings.Split(rendered, "\n---\n") {
		obj := struct {
			Kind     string
			Metadata struct {
				Name        string
				Annotations map[string]string
			}
		}{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		guarded := obj.Kind == "CustomResourceDefinition" || strings.Contains(obj.Kind, "AdmissionPolicy") ||
			obj.Kind == "ClusterRole" && slices.Contains([]string{"subdomain-approver", "subdomain-editor", "subdomain-viewer"}, obj.Metadata.Name)
		a := obj.Metadata.Annotations
		if has := a["helm.sh/resource-policy"] == "keep" && a["argocd.argoproj.io/sync-options"] == "Prune=false,Delete=false" &&
			a["kustomize.toolkit.fluxcd.io/prune"] == "disabled"; has != guarded {
			t.Errorf("%s %s: kept on uninstall and prunes %v, want %v (annotations %v)", obj.Kind, obj.Metadata.Name, has, guarded, a)
		}
		if guarded {
			kept++
		}
	}
	if kept != 4+2*10+3 {
		t.Errorf("%d objects kept on uninstall, want 27: 4 CRDs, 10 policies and their bindings, 3 roles", kept)
	}
	env := testenv.StartForTest(t, testenv.Options{})
	file := filepath.Join(t.TempDir(), "chart.yaml")
	if err := os.WriteFile(file, []byte(rendered), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := env.Kubectl("create", "namespace", "subdomain-system"); err != nil {
		t.Fatal(err)
	}
	if err := env.Kubectl("apply", "--server-side", "--force-conflicts", "-f", file); err != nil {
		t.Fatalf("the API server refused the rendered chart: %v", err)
	}
	if err := env.Kubectl("get", "deployment/subdomain-operator", "configmap/subdomain-operator-dashboard", "service/subdomain-operator-metrics",
		"-n", "subdomain-system"); err != nil {
		t.Error(err)
	}
}

// TestKustomizeDefault: `kubectl apply -k config/default` is accepted by the API server,
// and what it deploys is removed without the data it serves.
func TestKustomizeDefault(t *testing.T) {
	env := testenv.StartForTest(t, testenv.Options{})
	if err := env.Kubectl("apply", "--server-side", "--force-conflicts", "-k", filepath.Join(testenv.RepoRoot(), "config", "default")); err != nil {
		t.Fatal(err)
	}
	if err := env.Kubectl("get", "deployment/subdomain-operator", "service/subdomain-operator-metrics", "-n", "subdomain-system"); err != nil {
		t.Error(err)
	}
	if err := env.Kubectl("get", "validatingadmissionpolicy/subdomain-approval-authority", "mutatingadmissionpolicy/subdomain-approved-by",
		"crd/subdomainledgers.subdomain.kominfo.go.id"); err != nil {
		t.Error(err)
	}

	// Removing the deployment keeps what it serves: the CRDs (deleting one deletes
	// every request and ledger page, past finalizers and policies) and the namespace
	// (every zone's DNS records by default). GitOps prunes leave them by their
	// annotations; make undeploy deletes only the manager and its RBAC.
	ctx := context.Background()
	kept := []client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "subdomain-system"}},
		// The policies guard what stays (ledger pages, requests' deletions, approvals)
		// and need no operator running.
		&admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "subdomain-ledger-retention"}},
		&admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "subdomain-request-deletion"}},
		&admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "subdomain-request-deletion"}},
		&admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "subdomain-approval-authority"}},
		&admissionregistrationv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "subdomain-approved-by"}}}
	for _, r := range []string{"subdomainzones", "subdomainrequests", "subdomainclaims", "subdomainledgers"} {
		crd := &unstructured.Unstructured{}
		crd.SetAPIVersion("apiextensions.k8s.io/v1")
		crd.SetKind("CustomResourceDefinition")
		crd.SetName(r + ".subdomain.kominfo.go.id")
		kept = append(kept, crd)
	}
	for _, o := range kept {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			t.Fatal(err)
		}
		a := o.GetAnnotations()
		if a["argocd.argoproj.io/sync-options"] != "Prune=false,Delete=false" || a["kustomize.toolkit.fluxcd.io/prune"] != "disabled" {
			t.Errorf("%s %s is not kept by Argo CD's and Flux's prunes: annotations %v", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), a)
		}
	}
	make := exec.Command("make", "undeploy", "KUBECONFIG="+env.Kubeconfig)
	make.Dir = testenv.RepoRoot()
	if out, err := make.CombinedOutput(); err != nil {
		t.Fatalf("make undeploy: %v\n%s", err, out)
	}
	for _, o := range kept {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil || !o.GetDeletionTimestamp().IsZero() {
			t.Errorf("make undeploy deleted %s %s (%v)", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
		}
	}
	for _, o := range []client.Object{
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "subdomain-system", Name: "subdomain-operator"}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "subdomain-operator"}},
	} {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(o), o); !apierrors.IsNotFound(err) {
			t.Errorf("make undeploy left %T %s (%v)", o, o.GetName(), err)
		}
	}
}

// TestDashboardTakesOneReplica: every replica exports the state gauges (read from its
// cache at scrape, a standby too), so each dashboard query of them takes the max
// across pods before anything else; the histograms and counters only the leader
// observes. Before, the pool panel divided per-pod series: two replicas drew each
// zone twice.
func TestDashboardTakesOneReplica(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), chart, "dashboards", "subdomain-operator.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, p := range dash.Panels {
		for _, tgt := range p.Targets {
			for _, gauge := range []string{"subdomain_requests", "subdomain_pool_allocated", "subdomain_pool_capacity"} {
				for i := strings.Index(tgt.Expr, gauge); i >= 0; {
					seen++
					want := "max by (zone) (" // the pool gauges; the requests' per phase too
					if gauge == "subdomain_requests" {
						want = "max by (zone, phase) ("
					}
					if before := strings.TrimSpace(tgt.Expr[:i]); !strings.HasSuffix(before, want) {
						t.Errorf("panel %q: %s is not taken as the max across pods first: %s", p.Title, gauge, tgt.Expr)
					}
					next := strings.Index(tgt.Expr[i+len(gauge):], gauge)
					if next < 0 {
						break
					}
					i += len(gauge) + next
				}
			}
		}
	}
	if seen < 3 {
		t.Errorf("the dashboard queries the state gauges %d times, want at least 3 (requests, pool allocated, capacity)", seen)
	}
}
