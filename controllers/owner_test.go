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
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// TestOwnerRequest: a child maps to the request that controls it, and to nothing when
// its controller is something else or a request of another group, or when the request
// only owns it without controlling it (Owns with OnlyControllerOwner did the same).
func TestOwnerRequest(t *testing.T) {
	ref := func(apiVersion, kind, name string, controller bool) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: "u", Controller: ptr.To(controller)}
	}
	ours := sdv1.GroupVersion.String()
	for _, tc := range []struct {
		name string
		refs []metav1.OwnerReference
		want string
	}{
		{"controlled by a request", []metav1.OwnerReference{ref(ours, "SubdomainRequest", "dinkes", true)}, "dinkes"},
		{"another version of the group", []metav1.OwnerReference{ref(sdv1.GroupVersion.Group+"/v1", "SubdomainRequest", "dinkes", true)}, "dinkes"},
		{"after another owner", []metav1.OwnerReference{ref("v1", "ConfigMap", "x", false), ref(ours, "SubdomainRequest", "disdik", true)}, "disdik"},
		{"owned, not controlled", []metav1.OwnerReference{ref(ours, "SubdomainRequest", "dinkes", false)}, ""},
		{"controlled by another kind", []metav1.OwnerReference{ref(ours, "SubdomainZone", "z", true)}, ""},
		{"a SubdomainRequest of another group", []metav1.OwnerReference{ref("example.com/v1", "SubdomainRequest", "dinkes", true)}, ""},
		{"a core kind named alike", []metav1.OwnerReference{ref("v1", "SubdomainRequest", "dinkes", true)}, ""},
		{"no owner", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ownerRequest(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-x", Name: "s", OwnerReferences: tc.refs}})
			switch {
			case tc.want == "" && len(got) != 0:
				t.Errorf("got %v, want nothing", got)
			case tc.want != "" && (len(got) != 1 || got[0].Name != tc.want || got[0].Namespace != ""):
				t.Errorf("got %v, want the cluster-scoped %s", got, tc.want)
			}
		})
	}
}
