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

package testenv_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestHarness proves the control plane: our CRDs and the DNSEndpoint CRD install, a
// SubdomainZone round-trips with its defaults, and kube-controller-manager really
// deletes a namespace and what is in it.
func TestHarness(t *testing.T) {
	env, err := testenv.Start(testenv.Options{ControllerManager: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	ctx := context.Background()
	c := env.Client

	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != "v1.37.2" {
		t.Errorf("API server version = %s, want v1.37.2 (stamped by ldflags)", v.GitVersion)
	}
	for gv, kind := range map[string]string{
		"subdomain.kominfo.go.id/v1alpha1": "SubdomainRequest",
		"externaldns.k8s.io/v1alpha1":      "DNSEndpoint",
	} {
		res, err := dc.ServerResourcesForGroupVersion(gv)
		if err != nil {
			t.Fatalf("%s not served: %v", gv, err)
		}
		found := false
		for _, r := range res.APIResources {
			found = found || r.Kind == kind
		}
		if !found {
			t.Errorf("%s does not serve %s", gv, kind)
		}
	}

	zone := &sdv1.SubdomainZone{
		ObjectMeta: metav1.ObjectMeta{Name: "harness"},
		Spec:       sdv1.SubdomainZoneSpec{Domain: "harness.go.id", AddressPool: []string{"10.99.0.0/24"}},
	}
	if err := c.Create(ctx, zone); err != nil {
		t.Fatal(err)
	}
	got := &sdv1.SubdomainZone{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(zone), got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Domain != "harness.go.id" || got.Spec.DNS.TTL != 300 || got.Spec.DNS.Namespace != "subdomain-system" ||
		len(got.Spec.ReservedNames) != 9 || got.Spec.RenameGracePeriod.Duration != 720*time.Hour {
		t.Errorf("zone did not round-trip with its defaults: %+v", got.Spec)
	}

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "harness-doomed"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "inside"}}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, ns); err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, 90*time.Second, 250*time.Millisecond, func() (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if err != nil {
		t.Fatalf("kube-controller-manager did not delete the namespace: %v\n%s", err, tail(env.ControllerManagerLog()))
	}
}

func tail(s string) string {
	if len(s) > 4000 {
		return s[len(s)-4000:]
	}
	return s
}

// TestStartFailureLeavesNothing: when the control plane starts but a later step fails
// (here a CRD the API server refuses), Start stops what it started: no etcd or
// kube-apiserver is left running.
func TestStartFailureLeavesNothing(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad-crd.yaml")
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: bads.example.com}
spec:
  group: example.com
  names: {kind: Bad, plural: bads}
  scope: Cluster
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-validations:
        - rule: "this is not CEL"
`
	if err := os.WriteFile(bad, []byte(crd), 0o600); err != nil {
		t.Fatal(err)
	}
	before := controlPlaneProcesses(t)
	env, err := testenv.Start(testenv.Options{CRDs: []string{bad}})
	if err == nil {
		_ = env.Stop()
		t.Fatal("a control plane with an invalid CRD started")
	}
	// The failure must be the CRD's, a step after the control plane started.
	if !strings.Contains(err.Error(), "bads.example.com") {
		t.Fatalf("Start failed before the CRD step: %v", err)
	}
	if after := controlPlaneProcesses(t); after > before {
		t.Errorf("%d etcd or kube-apiserver processes left behind (%d before)", after-before, before)
	}
}

// controlPlaneProcesses counts the etcd and kube-apiserver processes this test process
// started and that still run: its own children, so that another package's control
// plane, started or stopped meanwhile by a parallel go test, neither fails the test
// nor hides a leak.
func controlPlaneProcesses(t *testing.T) int {
	t.Helper()
	return len(testenv.ChildrenNamed(os.Getpid(), "etcd", "kube-apiserver"))
}
