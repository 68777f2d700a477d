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

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// TestUserTextInert: describe and list print a request's user text - stored before
// the CRD refused control characters, or quoted from a rejection's annotation in a
// condition - with its line breaks and escape sequences written as escapes, so it
// cannot forge a line of the change report or rewrite the terminal. (The CRD's
// refusal itself is TestValidation's, against the API server.)
func TestUserTextInert(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := sdv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	forged := "\nApproved:    \"palsu\" by kadis at 2026-01-01T00:00:00Z"
	r := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "palsu"},
		Spec: sdv1.SubdomainRequestSpec{Zone: "z", Subdomain: "palsu",
			OPD:    sdv1.OPD{Name: "Dinas Palsu" + forged, Code: "palsu", AdminGroup: "opd:palsu\x1b[2J", Contact: sdv1.Contact{Name: "Budi\u202e"}},
			Letter: sdv1.Letter{Number: "400/1" + forged}},
		Status: sdv1.SubdomainRequestStatus{Phase: sdv1.PhaseRejected,
			Approval:   &sdv1.Approval{Name: "palsu", ApprovedBy: "kadis" + forged},
			Conditions: []metav1.Condition{{Type: sdv1.ConditionApproved, Status: metav1.ConditionFalse, Reason: "Rejected", Message: "rejected: dup" + forged}}}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(r).Build()
	for _, cmd := range []string{"describe", "list"} {
		var out bytes.Buffer
		var err error
		if cmd == "describe" {
			err = describe(context.Background(), c, []string{"palsu"}, &out)
		} else {
			err = list(context.Background(), c, &out)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{forged, "\x1b", "\u202e"} {
			if strings.Contains(out.String(), bad) {
				t.Errorf("%s prints %q raw:\n%s", cmd, bad, out.String())
			}
		}
		if !strings.Contains(out.String(), `Dinas Palsu\u000aApproved:`) {
			t.Errorf("%s lacks the OPD's name with its line break escaped:\n%s", cmd, out.String())
		}
	}
}
