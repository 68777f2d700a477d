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
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DropCRDRules updates CustomResourceDefinition name as an older version shipped it:
// without the CEL rules (x-kubernetes-validations) of one schema node of its first
// version whose rule contains substr. path names the node by its property names below
// the schema's root (none: the root). It returns how many rules it dropped (0: it
// changed nothing) and restore, which puts the CRD's spec back as it was - the
// upgrade. The API server takes either change in a moment, not at once: the caller
// waits for a write the change allows or refuses.
func DropCRDRules(ctx context.Context, c client.Client, name string, path []string, substr string) (dropped int, restore func() error, err error) {
	get := func() (*unstructured.Unstructured, error) {
		crd := &unstructured.Unstructured{}
		crd.SetAPIVersion("apiextensions.k8s.io/v1")
		crd.SetKind("CustomResourceDefinition")
		return crd, c.Get(ctx, client.ObjectKey{Name: name}, crd)
	}
	crd, err := get()
	if err != nil {
		return 0, nil, err
	}
	current := crd.DeepCopy().Object["spec"] // SetNestedSlice below changes crd.Object["spec"] in place
	versions, _, err := unstructured.NestedSlice(crd.Object, "spec", "versions")
	if err != nil || len(versions) == 0 {
		return 0, nil, fmt.Errorf("CRD %s has no versions (%v)", name, err)
	}
	node, ok := versions[0].(map[string]any)["schema"].(map[string]any)["openAPIV3Schema"].(map[string]any)
	for _, p := range path {
		if node, ok = node["properties"].(map[string]any)[p].(map[string]any); !ok {
			return 0, nil, fmt.Errorf("CRD %s has no property %s", name, strings.Join(path, "."))
		}
	}
	rules, _ := node["x-kubernetes-validations"].([]any)
	kept := slices.DeleteFunc(slices.Clone(rules), func(r any) bool {
		return strings.Contains(r.(map[string]any)["rule"].(string), substr)
	})
	if dropped = len(rules) - len(kept); dropped == 0 {
		return 0, nil, nil
	}
	node["x-kubernetes-validations"] = kept
	if err := unstructured.SetNestedSlice(crd.Object, versions, "spec", "versions"); err != nil {
		return 0, nil, err
	}
	if err := c.Update(ctx, crd); err != nil {
		return 0, nil, err
	}
	return dropped, func() error {
		crd, err := get()
		if err != nil {
			return err
		}
		crd.Object["spec"] = current
		return c.Update(ctx, crd)
	}, nil
}
