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
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// TestRequestWaiting: the index of waiting requests holds a request in Conflict or
// Failed under its zone, one whose name a foreign object holds under nameConflictKey
// too, one waiting for an address under addressWaitKey too, and no other.
func TestRequestWaiting(t *testing.T) {
	req := func(phase sdv1.Phase, conds ...metav1.Condition) *sdv1.SubdomainRequest {
		return &sdv1.SubdomainRequest{Spec: sdv1.SubdomainRequestSpec{Zone: "kota"},
			Status: sdv1.SubdomainRequestStatus{Phase: phase, Conditions: conds}}
	}
	cond := func(typ, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: metav1.ConditionFalse, Reason: reason}
	}
	for _, tc := range []struct {
		name string
		req  *sdv1.SubdomainRequest
		want []string
	}{
		{"Ready", req(sdv1.PhaseReady), nil},
		{"Provisioning", req(sdv1.PhaseProvisioning, cond(sdv1.ConditionAddressAssigned, reasonPoolExhausted)), nil},
		{"held by another request", req(sdv1.PhaseConflict, cond(sdv1.ConditionNameAvailable, "NameTaken")), []string{"kota"}},
		{"held by a foreign object", req(sdv1.PhaseConflict, cond(sdv1.ConditionNameAvailable, reasonNameConflict)), []string{"kota", nameConflictKey}},
		{"NameConflict but Failed", req(sdv1.PhaseFailed, cond(sdv1.ConditionNameAvailable, reasonNameConflict)), []string{"kota"}},
		{"pool full", req(sdv1.PhaseFailed, cond(sdv1.ConditionAddressAssigned, reasonPoolExhausted)), []string{"kota", addressWaitKey}},
		{"shared address held", req(sdv1.PhaseConflict, cond(sdv1.ConditionAddressAssigned, reasonAddressConflict)), []string{"kota", addressWaitKey}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := requestWaiting(tc.req)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("requestWaiting = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if got, _ := requestWaiting(&sdv1.SubdomainZone{}); got != nil {
		t.Errorf("requestWaiting(a zone) = %q", got)
	}
}
