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

// Package slimcache keeps the manager's informer caches small. Each approved request
// leaves about a dozen objects in the caches, so at thousands of requests the bytes per
// cached object decide the manager's memory:
//
//   - Transform drops managedFields and makes the metadata that many cached objects
//     repeat share one copy instead of one per decoded object: strings (the hosting
//     namespace, label keys and values, the fixed child names), whole label and
//     annotation maps and owner references (the children of a request carry equal
//     labels and the same owner), the specs of built-in objects that are alike
//     (every LimitRange, the ResourceQuotas and NetworkPolicies of a zone), and the
//     words of status conditions (type, status, reason).
//   - NewInformer builds informers without client-go's per-namespace index. The
//     operator keeps one object of a kind per hosting namespace, so that index is one
//     small set per namespace and kind; nothing lists the cache by namespace.
//
// Neither changes what a reader of the cache sees: the objects keep every value.
// Sharing a map or a spec between cached objects relies on client-go's contract that objects in
// an informer's store are never modified; controller-runtime's cache reader hands out
// deep copies, and the operator's few UnsafeDisableDeepCopy lists only read.
package slimcache

import (
	"bytes"
	"hash/maphash"
	"maps"
	"reflect"
	"slices"
	"time"
	"unique"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
)

// Transform is an informer transform: it strips managedFields (nothing reads them),
// interns the object's metadata strings, hands it the shared copy of its label and
// annotation maps and owner references and, for built-in kinds, of its spec, and
// interns its conditions' words. It changes no value, and applied twice it is a no-op
// the second time.
func Transform(in any) (any, error) {
	if u, ok := in.(*unstructured.Unstructured); ok && u.GroupVersionKind().Group == gatewayGroup {
		slimRoute(u)
	}
	obj, err := meta.Accessor(in)
	if err != nil {
		// Not an object (a tombstone, say): kept as it is.
		return in, nil //nolint:nilerr // a transform must pass on what it cannot shrink
	}
	// Only clear a non-nil slice: see kubernetes/kubernetes#124337.
	if obj.GetManagedFields() != nil {
		obj.SetManagedFields(nil)
	}
	obj.SetNamespace(intern(obj.GetNamespace()))
	obj.SetName(intern(obj.GetName()))
	if m := obj.GetLabels(); m != nil {
		obj.SetLabels(shareMap(sharedMaps, m))
	}
	if m := obj.GetAnnotations(); m != nil {
		obj.SetAnnotations(shareMap(sharedMaps, m))
	}
	if refs := obj.GetOwnerReferences(); len(refs) > 0 {
		obj.SetOwnerReferences(shareOwners(sharedOwners, refs))
	}
	f := obj.GetFinalizers()
	for i := range f {
		f[i] = intern(f[i])
	}
	shareSpec(in)
	internConditions(in)
	return in, nil
}

// gatewayGroup is the Gateway API's group: its routes are cached for their hostnames.
const gatewayGroup = "gateway.networking.k8s.io"

// slimRoute keeps of a Gateway API route (cached as unstructured, whole, in a map form
// several times a typed object's size, its status rewritten by gateway controllers)
// what the operator reads: identity, generation, deletion, labels, owner references
// and spec.hostnames. The one exception to "changes no value": a route is never
// written back from the cache.
func slimRoute(u *unstructured.Unstructured) {
	md, _ := u.Object["metadata"].(map[string]any)
	keep := map[string]any{}
	for _, k := range []string{"name", "namespace", "uid", "resourceVersion", "generation", "deletionTimestamp", "labels", "ownerReferences", "creationTimestamp"} {
		if v, ok := md[k]; ok {
			keep[k] = v
		}
	}
	out := map[string]any{"apiVersion": u.Object["apiVersion"], "kind": u.Object["kind"], "metadata": keep}
	if spec, ok := u.Object["spec"].(map[string]any); ok {
		if h, ok := spec["hostnames"]; ok {
			out["spec"] = map[string]any{"hostnames": h}
		}
	}
	u.Object = out
}

// conditionsType is the type of the status conditions of the operator's own kinds.
var conditionsType = reflect.TypeFor[[]metav1.Condition]()

// internConditions interns the type, status and reason of the conditions in obj's
// status.conditions (a request has eight, the same words in every request); messages
// name the request and are left alone.
func internConditions(obj any) {
	status := field(reflect.ValueOf(obj), "Status")
	if !status.IsValid() {
		return
	}
	f := status.FieldByName("Conditions")
	if !f.IsValid() || f.Type() != conditionsType || !f.CanInterface() {
		return
	}
	conds := f.Interface().([]metav1.Condition)
	for i := range conds {
		conds[i].Type = intern(conds[i].Type)
		conds[i].Status = metav1.ConditionStatus(intern(string(conds[i].Status)))
		conds[i].Reason = intern(conds[i].Reason)
	}
}

// intern returns the one shared copy of s. Handles are weak: a string no cached object
// holds any more is freed.
func intern(s string) string {
	if s == "" {
		return s
	}
	return unique.Make(s).Value()
}

// sharedMaps holds the shared label and annotation maps; sharedSpecs the shared specs
// of built-in kinds (pointers to the spec of the first object that had it).
var (
	sharedMaps   = newTable[map[string]string](1 << 14)
	sharedOwners = newTable[[]metav1.OwnerReference](1 << 14)
	sharedSpecs  = newTable[any](1 << 14)
	seed         = maphash.MakeSeed()
)

// shareMap returns the shared map equal to m, adding a copy of m (interned keys and
// values) when there is none. Empty maps are kept as they are.
func shareMap(t *table[map[string]string], m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	// The hash does not depend on the map's order: a sum of the pairs' hashes.
	var sum uint64
	for k, v := range m {
		var h maphash.Hash
		h.SetSeed(seed)
		_, _ = h.WriteString(k)
		_ = h.WriteByte(0)
		_, _ = h.WriteString(v)
		sum += h.Sum64()
	}
	return t.share(sum, func(c map[string]string) bool { return maps.Equal(c, m) }, func() map[string]string {
		s := make(map[string]string, len(m))
		for k, v := range m {
			s[intern(k)] = intern(v)
		}
		return s
	})
}

// shareOwners returns the shared owner references equal to refs, adding a copy of refs
// (interned strings, shared flags) when there are none: a request's children all have
// the request as their one controller owner.
func shareOwners(t *table[[]metav1.OwnerReference], refs []metav1.OwnerReference) []metav1.OwnerReference {
	var h maphash.Hash
	h.SetSeed(seed)
	for _, r := range refs {
		for _, s := range []string{r.APIVersion, r.Kind, r.Name, string(r.UID), flag(r.Controller), flag(r.BlockOwnerDeletion)} {
			_, _ = h.WriteString(s)
			_ = h.WriteByte(0)
		}
	}
	return t.share(h.Sum64(), func(c []metav1.OwnerReference) bool {
		return slices.EqualFunc(c, refs, func(a, b metav1.OwnerReference) bool {
			return a.APIVersion == b.APIVersion && a.Kind == b.Kind && a.Name == b.Name && a.UID == b.UID &&
				flag(a.Controller) == flag(b.Controller) && flag(a.BlockOwnerDeletion) == flag(b.BlockOwnerDeletion)
		})
	}, func() []metav1.OwnerReference {
		s := make([]metav1.OwnerReference, len(refs))
		for i, r := range refs {
			s[i] = metav1.OwnerReference{APIVersion: intern(r.APIVersion), Kind: intern(r.Kind), Name: intern(r.Name),
				UID: types.UID(intern(string(r.UID))), Controller: sharedFlag(r.Controller), BlockOwnerDeletion: sharedFlag(r.BlockOwnerDeletion)}
		}
		return s
	})
}

// flag spells an optional bool for hashing and comparing: unset, true or false.
func flag(b *bool) string {
	switch {
	case b == nil:
		return ""
	case *b:
		return "t"
	}
	return "f"
}

// sharedFlag is one of two package-wide pointers, or nil.
func sharedFlag(b *bool) *bool {
	if b == nil {
		return nil
	}
	if *b {
		return &flagTrue
	}
	return &flagFalse
}

var flagTrue, flagFalse = true, false

// field is the struct field name of the struct v points to, when both are structs;
// else the zero Value.
func field(v reflect.Value, name string) reflect.Value {
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	if f := v.Elem().FieldByName(name); f.IsValid() && f.Kind() == reflect.Struct {
		return f
	}
	return reflect.Value{}
}

// protoMarshaler is what the built-in kinds' generated protobuf code provides.
type protoMarshaler interface{ Marshal() ([]byte, error) }

// shareSpec makes obj's Spec the shared one of the same kind with the same protobuf
// encoding, when obj has a Spec with one (the built-in kinds): the hosting namespaces'
// LimitRanges, and the ResourceQuotas and NetworkPolicies of a zone, are all alike.
// Custom resources have no protobuf encoding and are left alone.
func shareSpec(obj any) {
	spec := field(reflect.ValueOf(obj), "Spec")
	if !spec.IsValid() || !spec.CanSet() {
		return
	}
	m, ok := spec.Addr().Interface().(protoMarshaler)
	if !ok {
		return
	}
	b, err := m.Marshal()
	if err != nil {
		return
	}
	var h maphash.Hash
	h.SetSeed(seed)
	_, _ = h.WriteString(spec.Type().PkgPath() + "." + spec.Type().Name())
	_, _ = h.Write(b)
	mine := spec.Addr().Interface()
	shared := sharedSpecs.share(h.Sum64(), func(c any) bool {
		cm, ok := c.(protoMarshaler)
		if !ok || reflect.TypeOf(c) != reflect.TypeOf(mine) {
			return false
		}
		cb, err := cm.Marshal()
		return err == nil && bytes.Equal(cb, b)
	}, func() any { return mine })
	if shared != mine {
		spec.Set(reflect.ValueOf(shared).Elem())
	}
}

// NewInformer is cache.Options.NewInformer: client-go's shared informer with the
// indexers asked for except the namespace index. A List of the cache with
// client.InNamespace then fails with "index with name namespace does not exist";
// list by label or by a field index instead.
func NewInformer(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
	kept := toolscache.Indexers{}
	for name, fn := range indexers {
		if name != toolscache.NamespaceIndex {
			kept[name] = fn
		}
	}
	return toolscache.NewSharedIndexInformer(lw, obj, resync, kept)
}
