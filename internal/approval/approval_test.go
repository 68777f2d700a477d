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

package approval

import (
	"testing"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

func TestEvaluate(t *testing.T) {
	rec := &sdv1.Approval{Name: "dinkes", ApprovedBy: "kadis"}
	ann := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name     string
		in       Input
		approved bool
		reason   string
		target   string
		record   bool
		rejected bool
	}{
		{"nothing", Input{Subdomain: "dinkes"}, false, ReasonAwaitingApproval, "", false, false},
		{"approved", Input{Subdomain: "dinkes", Annotations: ann(sdv1.AnnotationApproved, "dinkes", sdv1.AnnotationApprovedBy, "kadis")}, true, ReasonApproved, "dinkes", true, false},
		{"approved again is not recorded twice", Input{Subdomain: "dinkes", Recorded: rec, Served: "dinkes", Annotations: ann(sdv1.AnnotationApproved, "dinkes")}, true, ReasonApproved, "dinkes", false, false},
		{"wrong label", Input{Subdomain: "dinkes", Annotations: ann(sdv1.AnnotationApproved, "dinkess")}, false, ReasonApprovalStale, "", false, false},
		{"empty label", Input{Subdomain: "dinkes", Annotations: ann(sdv1.AnnotationApproved, "")}, false, ReasonApprovalStale, "", false, false},
		{"rename waits, old name served", Input{Subdomain: "kesehatan", Recorded: rec, Served: "dinkes", Annotations: ann(sdv1.AnnotationApproved, "dinkes")}, false, ReasonApprovalStale, "dinkes", false, false},
		{"rename approved", Input{Subdomain: "kesehatan", Recorded: rec, Served: "dinkes", Annotations: ann(sdv1.AnnotationApproved, "kesehatan")}, true, ReasonApproved, "kesehatan", true, false},
		{"rejected wins", Input{Subdomain: "dinkes", Annotations: ann(sdv1.AnnotationApproved, "dinkes", sdv1.AnnotationRejected, "no")}, false, ReasonRejected, "", false, true},
		{"rejected after approval keeps the site", Input{Subdomain: "dinkes", Recorded: rec, Served: "dinkes", Annotations: ann(sdv1.AnnotationRejected, "no")}, false, ReasonRejected, "dinkes", false, false},
		{"withdrawn", Input{Subdomain: "dinkes", Recorded: rec, Served: "dinkes"}, false, ReasonApprovalWithdrawn, "dinkes", false, false},
		// Approved but never Ready (a Conflict, no address left): nothing is kept, so
		// nothing is provisioned when the name or an address frees up.
		{"rejected after approval, never served", Input{Subdomain: "dinkes", Recorded: rec, Annotations: ann(sdv1.AnnotationRejected, "no")}, false, ReasonRejected, "", false, true},
		{"withdrawn, never served", Input{Subdomain: "dinkes", Recorded: rec}, false, ReasonAwaitingApproval, "", false, false},
		{"spec changed before it served", Input{Subdomain: "kesehatan", Recorded: rec, Annotations: ann(sdv1.AnnotationApproved, "dinkes")}, false, ReasonApprovalStale, "", false, false},
		// A rename approved but not yet served (its new name in Conflict): the old name stays.
		// Given again after a withdrawal, or by another approver: a new decision on record.
		{"approved again after a withdrawal", Input{Subdomain: "dinkes", Recorded: rec, Served: "dinkes", Withdrawn: true, Annotations: ann(sdv1.AnnotationApproved, "dinkes", sdv1.AnnotationApprovedBy, "kadis")}, true, ReasonApproved, "dinkes", true, false},
		{"approved again by another approver", Input{Subdomain: "dinkes", Recorded: rec, Served: "dinkes", Annotations: ann(sdv1.AnnotationApproved, "dinkes", sdv1.AnnotationApprovedBy, "sekda")}, true, ReasonApproved, "dinkes", true, false},
		{"approved-by dropped by an apply", Input{Subdomain: "dinkes", Recorded: rec, Served: "dinkes", Annotations: ann(sdv1.AnnotationApproved, "dinkes")}, true, ReasonApproved, "dinkes", false, false},
		{"rejected during a rename", Input{Subdomain: "kesehatan", Recorded: &sdv1.Approval{Name: "kesehatan"}, Served: "dinkes", Annotations: ann(sdv1.AnnotationRejected, "no")}, false, ReasonRejected, "dinkes", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Evaluate(tc.in)
			if d.Approved != tc.approved || d.Reason != tc.reason || d.Target != tc.target || (d.Record != nil) != tc.record || d.Rejected != tc.rejected {
				t.Errorf("got %+v", d)
			}
			if d.Renewed != (tc.in.Withdrawn && d.Record != nil) {
				t.Errorf("renewed %v", d.Renewed)
			}
			if d.Record != nil && d.Record.ApprovedBy != tc.in.Annotations[sdv1.AnnotationApprovedBy] {
				t.Errorf("recorded approver %q", d.Record.ApprovedBy)
			}
			if d.Message == "" {
				t.Error("every decision explains itself")
			}
		})
	}
}
