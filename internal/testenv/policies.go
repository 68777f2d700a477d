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
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// WaitForPolicies waits until the API server applies the shipped admission policies
// (config/policies, given as ExtraManifests) to SubdomainRequests: right after they are
// created it may not have type-checked them against the new kind, and the finalizer
// policy, failing open, would skip the first requests. It dry-runs the create of an
// approved request until the finalizer and approved-by are stamped on it.
func WaitForPolicies(ctx context.Context, c client.Client) error {
	err := Eventually(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
		probe := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "probe", Annotations: map[string]string{sdv1.AnnotationApproved: "probe"}},
			Spec: sdv1.SubdomainRequestSpec{Zone: "probe", Subdomain: "probe", OPD: sdv1.OPD{Name: "probe", Code: "probe", AdminGroup: "g"}}}
		if err := c.Create(ctx, probe, client.DryRunAll); err != nil {
			return false, nil
		}
		return slices.Contains(probe.Finalizers, sdv1.Finalizer) && probe.Annotations[sdv1.AnnotationApprovedBy] != "", nil
	})
	if err != nil {
		return fmt.Errorf("the admission policies are not applied: %w", err)
	}
	return nil
}
