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

// Package metricsauth guards the metrics endpoint the way the API server guards its
// own: the scraper's bearer token is checked with a TokenReview, and its user must be
// allowed verb get on the requested non-resource URL (a SubjectAccessReview). It uses
// only client-go's typed clients, not k8s.io/apiserver's delegating authenticator.
//
// The answers are cached, as the API server's own webhook authenticator and authorizer
// cache theirs: a scrape every few seconds, or any pod that reaches the port sending
// tokens, would otherwise cost the API server two reviews (two writes through its
// authentication and admission chain) per request. A token is kept by its SHA-256
// hash, never as itself; an authorization by user (name, UID, groups, extra), verb
// and path. Review errors are not cached.
package metricsauth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// Reviewer asks the API server who a token is and what that user may do.
type Reviewer interface {
	Authenticate(ctx context.Context, token string) (*authnv1.UserInfo, bool, error)
	Authorize(ctx context.Context, user *authnv1.UserInfo, verb, path string) (bool, error)
}

// How long an answer is reused. A revoked token, or a removed binding, is refused
// within a minute; a token or binding just made is accepted within 30 seconds of a
// refusal. controller-runtime's filters keep an authorization that allowed for 5
// minutes; a minute costs a Prometheus scraping every 30 s two reviews a minute at most.
const (
	AuthenticatedTTL   = time.Minute
	UnauthenticatedTTL = 30 * time.Second
	AllowedTTL         = time.Minute
	DeniedTTL          = 30 * time.Second
)

// CacheSize bounds each cache (authentication, authorization): past it the least
// recently used answer goes. Scrapers are a handful; the bound is for a caller that
// sends many distinct tokens, each of which then costs a review but no memory.
const CacheSize = 1024

// NewFilterProvider returns a metricsserver.Options.FilterProvider whose reviews are
// cached (Cached) on clk.
func NewFilterProvider(clk clock.PassiveClock) func(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	return func(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
		cs, err := kubernetes.NewForConfigAndClient(cfg, httpClient)
		if err != nil {
			return nil, err
		}
		r := Cached(apiReviewer{cs}, clk)
		return func(log logr.Logger, next http.Handler) (http.Handler, error) {
			return Handler(r, log, next), nil
		}, nil
	}
}

// Cached is r with its answers kept for the TTLs above, at most CacheSize of each
// kind, expiring by clk. Errors are passed on, not kept.
func Cached(r Reviewer, clk clock.PassiveClock) Reviewer {
	return &cached{r: r, authn: cache.NewLRUExpireCacheWithClock(CacheSize, clk),
		authz: cache.NewLRUExpireCacheWithClock(CacheSize, clk)}
}

type cached struct {
	r            Reviewer
	authn, authz *cache.LRUExpireCache
}

type authnAnswer struct {
	user *authnv1.UserInfo
	ok   bool
}

func (c *cached) Authenticate(ctx context.Context, token string) (*authnv1.UserInfo, bool, error) {
	key := sha256.Sum256([]byte(token))
	if v, ok := c.authn.Get(key); ok {
		a := v.(authnAnswer)
		return a.user.DeepCopy(), a.ok, nil
	}
	user, ok, err := c.r.Authenticate(ctx, token)
	if err != nil {
		return nil, false, err
	}
	ttl := UnauthenticatedTTL
	if ok {
		ttl = AuthenticatedTTL
	}
	c.authn.Add(key, authnAnswer{user: user.DeepCopy(), ok: ok}, ttl)
	return user, ok, nil
}

func (c *cached) Authorize(ctx context.Context, user *authnv1.UserInfo, verb, path string) (bool, error) {
	// Everything the SubjectAccessReview is asked about (encoding/json sorts the
	// extra's keys).
	b, err := json.Marshal(struct {
		User       *authnv1.UserInfo
		Verb, Path string
	}{user, verb, path})
	if err != nil {
		return false, err
	}
	key := sha256.Sum256(b)
	if v, ok := c.authz.Get(key); ok {
		return v.(bool), nil
	}
	allowed, err := c.r.Authorize(ctx, user, verb, path)
	if err != nil {
		return false, err
	}
	ttl := DeniedTTL
	if allowed {
		ttl = AllowedTTL
	}
	c.authz.Add(key, allowed, ttl)
	return allowed, nil
}

// Handler answers 401 without a valid bearer token, 403 when its user may not get the
// path, and passes the request on otherwise. Review failures are 500s, logged; the
// token is never logged.
func Handler(r Reviewer, log logr.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		token, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		user, ok, err := r.Authenticate(req.Context(), token)
		if err != nil {
			log.Error(err, "metrics: TokenReview failed")
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		if !ok {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		verb := "get"
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			verb = strings.ToLower(req.Method)
		}
		allowed, err := r.Authorize(req.Context(), user, verb, req.URL.Path)
		if err != nil {
			log.Error(err, "metrics: SubjectAccessReview failed", "user", user.Username)
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		if !allowed {
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, req)
	})
}

type apiReviewer struct{ cs kubernetes.Interface }

func (a apiReviewer) Authenticate(ctx context.Context, token string) (*authnv1.UserInfo, bool, error) {
	tr, err := a.cs.AuthenticationV1().TokenReviews().Create(ctx,
		&authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return nil, false, err
	}
	return &tr.Status.User, tr.Status.Authenticated, nil
}

func (a apiReviewer) Authorize(ctx context.Context, user *authnv1.UserInfo, verb, path string) (bool, error) {
	extra := map[string]authzv1.ExtraValue{}
	for k, v := range user.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	sar, err := a.cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
		NonResourceAttributes: &authzv1.NonResourceAttributes{Path: path, Verb: verb},
	}}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return sar.Status.Allowed, nil
}
