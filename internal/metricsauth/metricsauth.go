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
package metricsauth

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-logr/logr"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// Reviewer asks the API server who a token is and what that user may do.
type Reviewer interface {
	Authenticate(ctx context.Context, token string) (*authnv1.UserInfo, bool, error)
	Authorize(ctx context.Context, user *authnv1.UserInfo, verb, path string) (bool, error)
}

// FilterProvider is a metricsserver.Options.FilterProvider.
func FilterProvider(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	cs, err := kubernetes.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	r := apiReviewer{cs}
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return Handler(r, log, next), nil
	}, nil
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
