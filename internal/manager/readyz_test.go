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

package manager_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/yaml"

	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestReadyzWaitsForCaches: a manager whose caches cannot sync (its user may not list
// DNSEndpoints) does not say it is ready, while it stays alive (/healthz); allowed to
// list them, it becomes ready, as does a manager with every permission.
func TestReadyzWaitsForCaches(t *testing.T) {
	env := testenv.StartForTest(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The shipped ClusterRole without DNSEndpoints.
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.Unmarshal(b, role); err != nil {
		t.Fatal(err)
	}
	full := role.DeepCopy()
	full.ObjectMeta = metav1.ObjectMeta{Name: "operator"}
	if err := env.Client.Create(ctx, full); err != nil {
		t.Fatal(err)
	}
	dropped := false
	for i := range role.Rules {
		if slices.Contains(role.Rules[i].Resources, "dnsendpoints") {
			role.Rules[i].Resources = slices.DeleteFunc(role.Rules[i].Resources, func(r string) bool { return r == "dnsendpoints" })
			dropped = true
		}
	}
	if !dropped {
		t.Fatal("the shipped role has no rule for dnsendpoints")
	}
	role.Rules = slices.DeleteFunc(role.Rules, func(r rbacv1.PolicyRule) bool { return len(r.Resources) == 0 && len(r.NonResourceURLs) == 0 })
	role.ObjectMeta = metav1.ObjectMeta{Name: "operator-without-dnsendpoints"}
	if err := env.Client.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	const user = "operator-without-dnsendpoints"
	if err := env.Client.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}}); err != nil {
		t.Fatal(err)
	}
	au, err := env.AddUser(user)
	if err != nil {
		t.Fatal(err)
	}

	probe := func(addr, path string) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			return 0, "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	start := func(cfgUser bool) (string, cache.Cache) {
		t.Helper()
		addr, err := testenv.FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		cfg := env.Config
		if cfgUser {
			cfg = au.Config()
		}
		stop, c, err := env.StartOperatorWithCache(ctx, cfg, manager.Config{ProbeAddr: addr})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		return addr, c.(cache.Cache)
	}

	stuck, stuckCache := start(true)
	// A manager stopped before its caches synced never ends (controller-runtime
	// v0.25.2's runnableGroup.Start loops on its done context): whatever the test's
	// outcome, let its caches sync before the stop.
	granted := false
	grant := func() {
		granted = true
		if err := env.Client.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user + "-full"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "operator"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}}); err != nil {
			t.Error(err)
		}
	}
	defer func() {
		if !granted {
			grant()
		}
		if !stuckCache.WaitForCacheSync(ctx) {
			t.Error("the caches did not sync once the manager may list DNSEndpoints")
		}
	}()
	// Alive as soon as it serves.
	if err := testenv.Eventually(ctx, 30*time.Second, 100*time.Millisecond, func() (bool, error) {
		code, _, err := probe(stuck, "/healthz")
		return code == http.StatusOK, err
	}); err != nil {
		t.Fatalf("/healthz of the manager that may not list DNSEndpoints: %v", err)
	}
	// Never ready.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		code, body, err := probe(stuck, "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		if code == http.StatusOK {
			t.Errorf("/readyz of a manager whose caches cannot sync (it may not list DNSEndpoints) answered %d %q", code, body)
			break
		}
	}
	code, body, err := probe(stuck, "/readyz?verbose")
	if err != nil || code != http.StatusInternalServerError || !strings.Contains(body, "[-]caches failed") {
		t.Errorf("/readyz?verbose of the stuck manager: %d %q %v, want 500 naming the caches check", code, body, err)
	}
	if code, _, err := probe(stuck, "/healthz"); code != http.StatusOK || err != nil {
		t.Errorf("/healthz of the stuck manager: %d %v, want 200 (a liveness probe must not kill a long sync)", code, err)
	}
	// Allowed to list DNSEndpoints, it syncs and becomes ready.
	grant()
	if err := testenv.Eventually(ctx, 60*time.Second, 100*time.Millisecond, func() (bool, error) {
		code, _, err := probe(stuck, "/readyz")
		return code == http.StatusOK, err
	}); err != nil {
		t.Errorf("/readyz of the manager once it may list DNSEndpoints: %v", err)
	}

	ready, _ := start(false)
	if err := testenv.Eventually(ctx, 60*time.Second, 100*time.Millisecond, func() (bool, error) {
		code, _, err := probe(ready, "/readyz")
		return code == http.StatusOK, err
	}); err != nil {
		t.Fatalf("/readyz of a manager with every permission: %v", err)
	}
}
