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

package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// TestClaimOf: a claim is a request's by name and UID; one made before claims carried
// the UID, by name and age (a retained site's claims are older than a later request of
// the same name).
func TestClaimOf(t *testing.T) {
	born := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	req := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "disdik", UID: "u2", CreationTimestamp: metav1.NewTime(born)}}
	claim := func(request string, labels map[string]string, made time.Time) *sdv1.SubdomainClaim {
		return &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Labels: labels, CreationTimestamp: metav1.NewTime(made)},
			Spec: sdv1.SubdomainClaimSpec{Request: request}}
	}
	uid := func(u string) map[string]string { return map[string]string{sdv1.LabelRequestUID: u} }
	for _, tc := range []struct {
		name  string
		claim *sdv1.SubdomainClaim
		want  bool
	}{
		{"same name and UID", claim("disdik", uid("u2"), born.Add(time.Second)), true},
		{"same name, earlier request's UID", claim("disdik", uid("u1"), born.Add(time.Second)), false},
		{"another request", claim("dishub", uid("u2"), born.Add(time.Second)), false},
		{"no UID label, made after the request", claim("disdik", nil, born.Add(time.Minute)), true},
		{"no UID label, made in the request's first second", claim("disdik", nil, born), true},
		{"no UID label, older than the request (retained)", claim("disdik", nil, born.Add(-time.Hour)), false},
		{"no UID label, another request", claim("dishub", nil, born.Add(time.Minute)), false},
	} {
		if got := claimOf(tc.claim, req); got != tc.want {
			t.Errorf("%s: claimOf = %v, want %v", tc.name, got, tc.want)
		}
	}
}
