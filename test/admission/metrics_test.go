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
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestSecureMetrics runs the operator as its service account with --metrics-secure, as
// the manifests deploy it: a scrape without a token is refused (401), one whose
// service account is not bound to subdomain-operator-metrics-reader too (403), and the
// bound one gets the metrics. The reviews are the operator's own API calls, so its
// generated RBAC must allow them.
func TestSecureMetrics(t *testing.T) {
	env, u := start(t)
	ctx := context.Background()
	op, err := env.AddUser(operatorUser)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	env.RunOperator(t, ctx, op.Config(), manager.Config{MetricsAddr: addr, MetricsSecure: true})

	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	token := func(sa string) string {
		t.Helper()
		if err := u.admin.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "subdomain-system", Name: sa}}); err != nil {
			t.Fatal(err)
		}
		tr, err := cs.CoreV1().ServiceAccounts("subdomain-system").CreateToken(ctx, sa,
			&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: new(int64(600))}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	scraper, nosy := token("prometheus"), token("nosy")
	bind(t, u.admin, "prometheus-scrapes", "subdomain-operator-metrics-reader",
		rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "subdomain-system", Name: "prometheus"})

	// The certificate is the manager's own, self-signed.
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	scrape := func(token string) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/metrics", nil)
		if err != nil {
			return 0, "", err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	// The bound scraper gets the metrics (once the server is up and the binding known).
	var code int
	var body string
	err = testenv.Eventually(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
		var err error
		code, body, err = scrape(scraper)
		return err == nil && code == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("the bound scraper did not get the metrics: %v; last answer %d %.300s", err, code, body)
	}
	if !strings.Contains(body, "subdomain_requests") && !strings.Contains(body, "controller_runtime_reconcile_total") {
		t.Errorf("the answer is not the operator's metrics: %.300s", body)
	}
	for _, tc := range []struct {
		who, token string
		want       int
	}{{"no token", "", http.StatusUnauthorized}, {"a bad token", "not-a-token", http.StatusUnauthorized},
		{"an unbound service account", nosy, http.StatusForbidden}} {
		code, body, err := scrape(tc.token)
		if err != nil || code != tc.want {
			t.Errorf("%s: %d %v, want %d (%.200s)", tc.who, code, err, tc.want, body)
		}
		if strings.Contains(body, "controller_runtime") {
			t.Errorf("%s got metrics: %s", tc.who, fmt.Sprintf("%.200s", body))
		}
	}
}
