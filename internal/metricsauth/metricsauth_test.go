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

package metricsauth_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kominfo/subdomain-operator/internal/metricsauth"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestReviewsCached: twenty scrapes with one token cost the API server one TokenReview
// and one SubjectAccessReview, counted by the API server itself; a bad token's twenty
// one TokenReview, and an unbound service account's twenty one of each.
func TestReviewsCached(t *testing.T) {
	env := testenv.StartForTest(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	const ns = "scrapers"
	if err := env.CreateNamespaces(ctx, ns); err != nil {
		t.Fatal(err)
	}
	token := func(sa string) string {
		t.Helper()
		if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authnv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	scraper, nosy := token("prometheus"), token("nosy")
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "metrics-reader"},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-scrapes"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "metrics-reader"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "prometheus"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The authorizer learns of the binding from its informer: wait, or the first
	// scrape's denial would be cached.
	if err := testenv.Eventually(ctx, 30*time.Second, 100*time.Millisecond, func() (bool, error) {
		sar, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User: "system:serviceaccount:" + ns + ":prometheus", NonResourceAttributes: &authzv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
		}}, metav1.CreateOptions{})
		return err == nil && sar.Status.Allowed, err
	}); err != nil {
		t.Fatalf("the binding is not in force: %v", err)
	}

	hc, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	filter, err := metricsauth.NewFilterProvider(clock.RealClock{})(env.Config, hc)
	if err != nil {
		t.Fatal(err)
	}
	h, err := filter(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "metrics") }))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	scrape := func(token string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		who, token         string
		want               int
		tokenReviews, sars float64
	}{
		{"the bound scraper", scraper, http.StatusOK, 1, 1},
		{"a bad token", "not-a-token", http.StatusUnauthorized, 1, 0},
		{"an unbound service account", nosy, http.StatusForbidden, 1, 1},
	} {
		trBefore, sarBefore := creates(ctx, t, cs, "tokenreviews"), creates(ctx, t, cs, "subjectaccessreviews")
		for i := range 20 {
			if code := scrape(tc.token); code != tc.want {
				t.Fatalf("%s: scrape %d answered %d, want %d", tc.who, i, code, tc.want)
			}
		}
		trs, sars := creates(ctx, t, cs, "tokenreviews")-trBefore, creates(ctx, t, cs, "subjectaccessreviews")-sarBefore
		if trs != tc.tokenReviews || sars != tc.sars {
			t.Errorf("%s: 20 scrapes made %v TokenReviews and %v SubjectAccessReviews, want %v and %v",
				tc.who, trs, sars, tc.tokenReviews, tc.sars)
		}
	}
}

// creates is how many creates of resource (group authentication.k8s.io or
// authorization.k8s.io) the API server has answered, from its apiserver_request_total.
func creates(ctx context.Context, t *testing.T, cs kubernetes.Interface, resource string) float64 {
	t.Helper()
	raw, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") || !strings.Contains(line, `resource="`+resource+`"`) ||
			!strings.Contains(line, `verb="POST"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		n += v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// reviewer answers as told and counts the reviews it is asked for.
type reviewer struct {
	authenticated, allowed bool
	err                    error
	authns, authzs         int
}

func (r *reviewer) Authenticate(_ context.Context, token string) (*authnv1.UserInfo, bool, error) {
	r.authns++
	return &authnv1.UserInfo{Username: "u-" + token}, r.authenticated, r.err
}

func (r *reviewer) Authorize(_ context.Context, _ *authnv1.UserInfo, _, _ string) (bool, error) {
	r.authzs++
	return r.allowed, r.err
}

// TestCacheExpiry: each kind of answer is reused until its TTL has passed and asked
// again after; errors are not kept; a different token, user, verb or path is asked of
// its own.
func TestCacheExpiry(t *testing.T) {
	alice := &authnv1.UserInfo{Username: "alice", Groups: []string{"scrapers"}}
	for _, tc := range []struct {
		name string
		// authz asks Authorize (as alice, get /metrics) rather than Authenticate
		// (token "t").
		authz                  bool
		authenticated, allowed bool
		err                    error
		after                  time.Duration
		// second changes what the second call asks: another token, user, verb or path.
		token, verb, path string
		user              *authnv1.UserInfo
		want              int
	}{
		{name: "authenticated, within TTL", authenticated: true, after: metricsauth.AuthenticatedTTL, want: 1},
		{name: "authenticated, past TTL", authenticated: true, after: metricsauth.AuthenticatedTTL + time.Second, want: 2},
		{name: "unauthenticated, within TTL", after: metricsauth.UnauthenticatedTTL, want: 1},
		{name: "unauthenticated, past TTL", after: metricsauth.UnauthenticatedTTL + time.Second, want: 2},
		{name: "TokenReview failed", err: errors.New("unavailable"), want: 2},
		{name: "another token", authenticated: true, token: "t2", want: 2},
		{name: "allowed, within TTL", authz: true, allowed: true, after: metricsauth.AllowedTTL, want: 1},
		{name: "allowed, past TTL", authz: true, allowed: true, after: metricsauth.AllowedTTL + time.Second, want: 2},
		{name: "denied, within TTL", authz: true, after: metricsauth.DeniedTTL, want: 1},
		{name: "denied, past TTL", authz: true, after: metricsauth.DeniedTTL + time.Second, want: 2},
		{name: "SubjectAccessReview failed", authz: true, err: errors.New("unavailable"), want: 2},
		{name: "another verb", authz: true, allowed: true, verb: "post", want: 2},
		{name: "another path", authz: true, allowed: true, path: "/metrics/extra", want: 2},
		{name: "another user", authz: true, allowed: true, user: &authnv1.UserInfo{Username: "bob", Groups: []string{"scrapers"}}, want: 2},
		{name: "same user, other groups", authz: true, allowed: true, user: &authnv1.UserInfo{Username: "alice", Groups: []string{"system:masters"}}, want: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			clk := clocktesting.NewFakePassiveClock(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
			r := &reviewer{authenticated: tc.authenticated, allowed: tc.allowed, err: tc.err}
			c := metricsauth.Cached(r, clk)
			ask := func(token string, user *authnv1.UserInfo, verb, path string) {
				if tc.authz {
					allowed, err := c.Authorize(ctx, user, verb, path)
					if allowed != tc.allowed || !errors.Is(err, tc.err) {
						t.Errorf("Authorize: %v %v, want %v %v", allowed, err, tc.allowed, tc.err)
					}
					return
				}
				u, ok, err := c.Authenticate(ctx, token)
				if ok != tc.authenticated || !errors.Is(err, tc.err) || (err == nil && u.Username != "u-"+token) {
					t.Errorf("Authenticate: %v %v %v, want %v %v", u, ok, err, tc.authenticated, tc.err)
				}
			}
			ask("t", alice, "get", "/metrics")
			clk.SetTime(clk.Now().Add(tc.after))
			token, user, verb, path := "t", alice, "get", "/metrics"
			if tc.token != "" {
				token = tc.token
			}
			if tc.user != nil {
				user = tc.user
			}
			if tc.verb != "" {
				verb = tc.verb
			}
			if tc.path != "" {
				path = tc.path
			}
			ask(token, user, verb, path)
			if got := r.authns + r.authzs; got != tc.want {
				t.Errorf("%d reviews, want %d", got, tc.want)
			}
		})
	}
}

// TestCacheBounded: past CacheSize tokens the least recently used answer is dropped.
func TestCacheBounded(t *testing.T) {
	ctx := context.Background()
	r := &reviewer{authenticated: true}
	c := metricsauth.Cached(r, clocktesting.NewFakePassiveClock(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)))
	for i := range metricsauth.CacheSize + 1 {
		if _, _, err := c.Authenticate(ctx, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	_, _, _ = c.Authenticate(ctx, fmt.Sprint(metricsauth.CacheSize)) // the newest: kept
	if r.authns != metricsauth.CacheSize+1 {
		t.Errorf("the newest token was reviewed again: %d reviews", r.authns)
	}
	_, _, _ = c.Authenticate(ctx, "0") // the oldest: dropped
	if r.authns != metricsauth.CacheSize+2 {
		t.Errorf("the oldest of %d tokens is still kept: %d reviews", metricsauth.CacheSize+1, r.authns)
	}
}
