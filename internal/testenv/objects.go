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

package testenv

import (
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Ingress is an Ingress in namespace serving host at / from Service web:80, as a
// user (not the operator) would write one: the tests' foreign holders and tenants'
// own Ingresses.
func Ingress(namespace, name, host string) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{}
	ing.Namespace, ing.Name = namespace, name
	ing.Spec.Rules = []networkingv1.IngressRule{{Host: host,
		IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
			Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
				Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}
	return ing
}

// Route is a Gateway API route of kind (HTTPRoute, GRPCRoute or TLSRoute, version v1)
// in namespace, with hostnames (nil leaves the field out), attached to a Gateway named
// shared: the tests' routes of users (GatewayAPICRDs must be installed).
func Route(kind, namespace, name string, hostnames []any) *unstructured.Unstructured {
	spec := map[string]any{"parentRefs": []any{map[string]any{"name": "shared"}}}
	if hostnames != nil {
		spec["hostnames"] = hostnames
	}
	if kind == "TLSRoute" {
		spec["rules"] = []any{map[string]any{"backendRefs": []any{map[string]any{"name": "web", "port": int64(443)}}}}
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion("gateway.networking.k8s.io/v1")
	u.SetKind(kind)
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

// MergeAnnotations sets kv on o's annotations, a nil value removing the key: what
// tests write as a user or an approver annotating a request.
func MergeAnnotations(o metav1.Object, kv map[string]*string) {
	a := o.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	for k, v := range kv {
		if v == nil {
			delete(a, k)
		} else {
			a[k] = *v
		}
	}
	o.SetAnnotations(a)
}
