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

package slimcache_test

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/slimcache"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// fresh returns a copy of s in its own memory, as a decoder would make it.
func fresh(s string) string { return string([]byte(s)) }

func same(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

func sameMap(a, b map[string]string) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// TestShare: equal maps come back as one map whatever their order of insertion,
// different ones stay apart, and the table forgets maps not asked for during two
// generations while keeping those asked for again.
func TestShare(t *testing.T) {
	share := slimcache.Share(2)
	a := share(map[string]string{"x": "1", "y": "2"})
	if b := share(map[string]string{"y": "2", "x": "1"}); !sameMap(a, b) {
		t.Error("equal maps not shared")
	}
	for _, m := range []map[string]string{{"x": "1"}, {"x": "1", "y": "3"}, {"x": "1", "y": "2", "z": ""}, {"x1": "", "y": "2"}} {
		if got := share(m); sameMap(got, a) || !maps.Equal(got, m) {
			t.Errorf("share(%v) = %v, shared with %v: %v", m, got, a, sameMap(got, a))
		}
	}
	if empty := map[string]string{}; !sameMap(share(empty), empty) {
		t.Error("an empty map was replaced")
	}
	// Size 2: a map asked for within the last two generations is still shared.
	kept := share(map[string]string{"k": "v"})
	for i := range 3 {
		share(map[string]string{"filler": fmt.Sprint(i)})
		if got := share(map[string]string{"k": "v"}); !sameMap(got, kept) {
			t.Fatalf("after %d other maps, a map asked for each time was dropped", i+1)
		}
	}
	old := share(map[string]string{"old": "1"})
	for i := range 5 {
		share(map[string]string{"filler": fmt.Sprint(10 + i)})
	}
	if got := share(map[string]string{"old": "1"}); sameMap(got, old) || got["old"] != "1" {
		t.Errorf("a map not asked for during two generations is still in the table (or lost its value: %v)", got)
	}
}

func secret(ns string) *corev1.Secret {
	yes := true
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: fresh(ns), Name: fresh("subdomain-credentials"), UID: types.UID("uid-" + ns), ResourceVersion: "7",
			Labels:      map[string]string{fresh("subdomain.kominfo.go.id/request"): fresh("dukcapil")},
			Annotations: map[string]string{fresh("note"): fresh("x")},
			Finalizers:  []string{fresh("example.com/keep")},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: fresh("subdomain.kominfo.go.id/v1alpha1"),
				Kind: fresh("SubdomainRequest"), Name: fresh("dukcapil"), UID: "owner-uid", Controller: &yes}},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m", Operation: metav1.ManagedFieldsOperationApply}},
		},
		Data: map[string][]byte{"password": []byte("secret")},
	}
}

// TestTransform: the transform drops managedFields only, shares equal strings between
// objects, is idempotent, and passes on what is not an object.
func TestTransform(t *testing.T) {
	a, b := secret("opd-a"), secret("opd-a")
	want := a.DeepCopy()
	want.ManagedFields = nil
	for _, o := range []*corev1.Secret{a, b} {
		if _, err := slimcache.Transform(o); err != nil {
			t.Fatal(err)
		}
	}
	if !equality.Semantic.DeepEqual(a, want) {
		t.Errorf("transform changed a value:\n got %+v\nwant %+v", a.ObjectMeta, want.ObjectMeta)
	}
	for _, c := range []struct{ what, x, y string }{
		{"namespace", a.Namespace, b.Namespace},
		{"name", a.Name, b.Name},
		{"label value", a.Labels["subdomain.kominfo.go.id/request"], b.Labels["subdomain.kominfo.go.id/request"]},
		{"annotation value", a.Annotations["note"], b.Annotations["note"]},
		{"finalizer", a.Finalizers[0], b.Finalizers[0]},
		{"owner kind", a.OwnerReferences[0].Kind, b.OwnerReferences[0].Kind},
		{"owner apiVersion", a.OwnerReferences[0].APIVersion, b.OwnerReferences[0].APIVersion},
		{"owner name", a.OwnerReferences[0].Name, a.Labels["subdomain.kominfo.go.id/request"]},
	} {
		if !same(c.x, c.y) {
			t.Errorf("%s: two copies of %q after the transform", c.what, c.x)
		}
	}
	for k := range a.Labels {
		for k2 := range b.Labels {
			if !same(k, k2) {
				t.Errorf("label key %q: two copies", k)
			}
		}
	}
	if !sameMap(a.Labels, b.Labels) || !sameMap(a.Annotations, b.Annotations) {
		t.Error("equal label or annotation maps of two objects are held twice")
	}
	if &a.OwnerReferences[0] != &b.OwnerReferences[0] || a.OwnerReferences[0].Controller != b.OwnerReferences[0].Controller {
		t.Error("equal owner references of two objects are held twice")
	}
	// Owner references that differ in a flag only are not shared, and keep their flag.
	c := secret("opd-a")
	c.OwnerReferences[0].Controller = nil
	wantC := c.DeepCopy()
	wantC.ManagedFields = nil
	if _, err := slimcache.Transform(c); err != nil || &c.OwnerReferences[0] == &a.OwnerReferences[0] || !equality.Semantic.DeepEqual(c, wantC) {
		t.Errorf("owner references without the controller flag: err %v, shared %v, %+v", err, &c.OwnerReferences[0] == &a.OwnerReferences[0], c.OwnerReferences)
	}
	if _, err := slimcache.Transform(a); err != nil || !equality.Semantic.DeepEqual(a, want) {
		t.Errorf("second transform: err %v, changed %v", err, !equality.Semantic.DeepEqual(a, want))
	}

	u := &unstructured.Unstructured{}
	u.SetNamespace("opd-a")
	u.SetLabels(map[string]string{"k": "v"})
	u.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "m"}})
	if _, err := slimcache.Transform(u); err != nil || u.GetManagedFields() != nil || u.GetLabels()["k"] != "v" || u.GetNamespace() != "opd-a" {
		t.Errorf("unstructured: err %v, object %v", err, u.Object)
	}
	tomb := toolscache.DeletedFinalStateUnknown{Key: "opd-a/x", Obj: secret("opd-a")}
	if got, err := slimcache.Transform(tomb); err != nil || got != any(tomb) {
		t.Errorf("tombstone: got %v, %v; want it passed on", got, err)
	}
}

// TestShareSpec: built-in objects with equal specs share one (down to the slices and
// maps in it), unequal ones keep their own, and custom resources are left alone.
func TestShareSpec(t *testing.T) {
	limits := func(cpu string) *corev1.LimitRange {
		return &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Namespace: fresh("opd-" + cpu), Name: "subdomain-hosting"},
			Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer,
				Default: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}}
	}
	a, b, other := limits("500m"), limits("500m"), limits("250m")
	want := other.Spec.DeepCopy()
	for _, o := range []client.Object{a, b, other} {
		if _, err := slimcache.Transform(o); err != nil {
			t.Fatal(err)
		}
	}
	if &a.Spec.Limits[0] != &b.Spec.Limits[0] {
		t.Error("two equal LimitRange specs are held twice")
	}
	if &a.Spec.Limits[0] == &other.Spec.Limits[0] || !equality.Semantic.DeepEqual(&other.Spec, want) {
		t.Errorf("a different spec was shared or changed: %+v", other.Spec)
	}
	// Every hosting namespace has the same spec too.
	ns1, ns2 := &corev1.Namespace{Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}},
		&corev1.Namespace{Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}}
	for _, o := range []client.Object{ns1, ns2} {
		if _, err := slimcache.Transform(o); err != nil {
			t.Fatal(err)
		}
	}
	if &ns1.Spec.Finalizers[0] != &ns2.Spec.Finalizers[0] {
		t.Error("two equal Namespace specs are held twice")
	}
	r1, r2 := &sdv1.SubdomainRequest{Spec: sdv1.SubdomainRequestSpec{Zone: fresh("pontianak")}},
		&sdv1.SubdomainRequest{Spec: sdv1.SubdomainRequestSpec{Zone: fresh("pontianak")}}
	for _, o := range []client.Object{r1, r2} {
		if _, err := slimcache.Transform(o); err != nil {
			t.Fatal(err)
		}
	}
	if same(r1.Spec.Zone, r2.Spec.Zone) {
		t.Error("a custom resource's spec was shared; it has no protobuf encoding to compare")
	}
}

// TestConditions: the words of two requests' conditions are held once, their
// messages and every value are kept.
func TestConditions(t *testing.T) {
	req := func(msg string) *sdv1.SubdomainRequest {
		r := &sdv1.SubdomainRequest{}
		r.Status.Conditions = []metav1.Condition{{Type: fresh(sdv1.ConditionReady), Status: metav1.ConditionStatus(fresh("True")),
			Reason: fresh("Provisioned"), Message: fresh(msg), ObservedGeneration: 2, LastTransitionTime: metav1.Unix(1, 0)}}
		return r
	}
	a, b := req("dinkes.pontianak.go.id is served"), req("dinkes.pontianak.go.id is served")
	want := a.DeepCopy()
	for _, o := range []client.Object{a, b} {
		if _, err := slimcache.Transform(o); err != nil {
			t.Fatal(err)
		}
	}
	if !equality.Semantic.DeepEqual(a, want) {
		t.Errorf("transform changed a condition: %+v", a.Status.Conditions)
	}
	ca, cb := a.Status.Conditions[0], b.Status.Conditions[0]
	if !same(ca.Type, cb.Type) || !same(string(ca.Status), string(cb.Status)) || !same(ca.Reason, cb.Reason) {
		t.Error("a condition's type, status or reason is held twice")
	}
}

// TestCache runs an informer cache built with Transform and NewInformer against the
// API server: reads give every field the API server has but managedFields, equal
// strings of two cached objects share memory, field indexes work, and a List by
// namespace fails with a clear error rather than returning nothing.
func TestCache(t *testing.T) {
	env, err := testenv.Start(testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := env.CreateNamespaces(ctx, "opd-a", "opd-b"); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"opd-a", "opd-b"} {
		for i := range 2 {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("cm-%d", i),
				Labels: map[string]string{"subdomain.kominfo.go.id/request": "dukcapil"}}, Data: map[string]string{"i": fmt.Sprint(i)}}
			if err := env.Client.Create(ctx, cm); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, err := cache.New(env.Config, cache.Options{Scheme: manager.Scheme(),
		DefaultTransform: slimcache.Transform, NewInformer: slimcache.NewInformer})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.IndexField(ctx, &corev1.ConfigMap{}, "data.i", func(o client.Object) []string {
		return []string{o.(*corev1.ConfigMap).Data["i"]}
	}); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}

	var cached [2]*corev1.ConfigMap
	for i, ns := range []string{"opd-a", "opd-b"} {
		key := client.ObjectKey{Namespace: ns, Name: "cm-1"}
		live := &corev1.ConfigMap{}
		if err := env.Client.Get(ctx, key, live); err != nil {
			t.Fatal(err)
		}
		live.ManagedFields, live.TypeMeta = nil, metav1.TypeMeta{}
		got := &corev1.ConfigMap{}
		if err := c.Get(ctx, key, got); err != nil {
			t.Fatal(err)
		}
		got.TypeMeta = metav1.TypeMeta{}
		if !equality.Semantic.DeepEqual(got, live) {
			t.Errorf("%s: cached %+v\nAPI server %+v", key, got, live)
		}
		cached[i] = got
	}
	if !same(cached[0].Name, cached[1].Name) || !same(cached[0].Labels["subdomain.kominfo.go.id/request"], cached[1].Labels["subdomain.kominfo.go.id/request"]) {
		t.Errorf("equal strings of two cached objects are held twice: name %v, label %v", same(cached[0].Name, cached[1].Name),
			same(cached[0].Labels["subdomain.kominfo.go.id/request"], cached[1].Labels["subdomain.kominfo.go.id/request"]))
	}

	// Each read is the reader's own copy, even of a map the cached objects share.
	cached[0].Labels["subdomain.kominfo.go.id/request"] = "changed"
	again := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "opd-b", Name: "cm-1"}, again); err != nil || again.Labels["subdomain.kominfo.go.id/request"] != "dukcapil" {
		t.Errorf("changing a read object changed the cache: %v, %v", again.Labels, err)
	}

	byField := &corev1.ConfigMapList{}
	if err := c.List(ctx, byField, client.MatchingFields{"data.i": "1"}); err != nil || len(byField.Items) != 2 {
		t.Errorf("list by field index: %d items, %v; want 2", len(byField.Items), err)
	}
	byLabel := &corev1.ConfigMapList{}
	if err := c.List(ctx, byLabel, client.MatchingLabels{"subdomain.kominfo.go.id/request": "dukcapil"}); err != nil || len(byLabel.Items) != 4 {
		t.Errorf("list by label: %d items, %v; want 4", len(byLabel.Items), err)
	}
	inNS := &corev1.ConfigMapList{}
	err = c.List(ctx, inNS, client.InNamespace("opd-a"))
	if err == nil || !strings.Contains(err.Error(), "namespace") {
		t.Errorf("list in a namespace: %d items, err %v; want an error naming the missing namespace index", len(inNS.Items), err)
	}
}

// TestSlimRoute: a Gateway API route, cached as unstructured, keeps only what the
// operator reads - identity, generation, labels, owner references, spec.hostnames -
// and loses its rules, status and annotations (a gateway controller's status, an
// applied configuration), which would otherwise stay in the cache in map form.
func TestSlimRoute(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"name": "web", "namespace": "team-x", "uid": "u1", "resourceVersion": "7", "generation": int64(3),
			"labels":        map[string]any{"app": "web"},
			"annotations":   map[string]any{"kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("x", 4096)},
			"managedFields": []any{map[string]any{"manager": "kubectl"}}},
		"spec":   map[string]any{"hostnames": []any{"web.z.go.id"}, "rules": []any{map[string]any{"backendRefs": []any{map[string]any{"name": "web"}}}}},
		"status": map[string]any{"parents": []any{map[string]any{"controllerName": "gw"}}},
	}}
	if _, err := slimcache.Transform(u); err != nil {
		t.Fatal(err)
	}
	hosts, _, _ := unstructured.NestedStringSlice(u.Object, "spec", "hostnames")
	if u.GetName() != "web" || u.GetNamespace() != "team-x" || u.GetGeneration() != 3 || u.GetLabels()["app"] != "web" ||
		len(hosts) != 1 || hosts[0] != "web.z.go.id" || u.GetKind() != "HTTPRoute" {
		t.Errorf("lost what the operator reads: %v", u.Object)
	}
	if _, ok := u.Object["status"]; ok || u.GetAnnotations() != nil || u.GetManagedFields() != nil {
		t.Errorf("kept what nothing reads: %v", u.Object)
	}
	if _, found, _ := unstructured.NestedSlice(u.Object, "spec", "rules"); found {
		t.Errorf("kept the rules: %v", u.Object)
	}
}
