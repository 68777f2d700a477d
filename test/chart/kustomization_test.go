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

package chart_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestKustomizationsListEveryFile: the chart takes every CRD and policy file (it globs
// files/crds and files/policies, which make manifests fills from config/), while the
// kustomizations list theirs by hand. A file added to config/crd/bases or
// config/policies and not listed would be installed by the chart and not by
// `make deploy`; one listed after its file is gone breaks kustomize.
func TestKustomizationsListEveryFile(t *testing.T) {
	for _, c := range []struct{ kustomization, files string }{
		{"config/crd/kustomization.yaml", "config/crd/bases/*.yaml"},
		{"config/policies/kustomization.yaml", "config/policies/*.yaml"},
	} {
		root := testenv.RepoRoot()
		raw, err := os.ReadFile(filepath.Join(root, c.kustomization))
		if err != nil {
			t.Fatal(err)
		}
		var k struct{ Resources []string }
		if err := yaml.Unmarshal(raw, &k); err != nil {
			t.Fatalf("%s: %v", c.kustomization, err)
		}
		dir := filepath.Dir(c.kustomization)
		listed := map[string]bool{}
		for _, r := range k.Resources {
			listed[filepath.Join(dir, r)] = true
		}
		paths, err := filepath.Glob(filepath.Join(root, c.files))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]bool{}
		for _, p := range paths {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				t.Fatal(err)
			}
			if rel != c.kustomization {
				files[rel] = true
			}
		}
		if len(files) == 0 {
			t.Errorf("no files match %s", c.files)
		}
		for _, f := range slices.Sorted(maps.Keys(files)) {
			if !listed[f] {
				t.Errorf("%s is not among the resources of %s", f, c.kustomization)
			}
		}
		for _, r := range slices.Sorted(maps.Keys(listed)) {
			if !files[r] {
				t.Errorf("%s lists %s, which is not one of %s", c.kustomization, r, c.files)
			}
		}
	}
}
