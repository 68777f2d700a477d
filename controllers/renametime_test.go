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
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/ledger"
)

// TestRenameTimeFromWindow is a table test of summarise's Ready record: a rename
// approved on Friday 12:00 WITA, after the SOP window closed, and made on Monday
// 09:00, took an hour, not 69: it could not be made before Monday 08:00. A creation is
// not held by the window, so its time counts from the approval.
func TestRenameTimeFromWindow(t *testing.T) {
	sch := testScheme(t)
	wita := time.FixedZone("WITA", 8*3600)
	approved := metav1.NewTime(time.Date(2026, 11, 27, 12, 0, 0, 0, wita))
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, wita)
	zone := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "z"}, Spec: sdv1.SubdomainZoneSpec{Domain: "z.go.id",
		ChangeWindow: &sdv1.ChangeWindow{TimeZone: "Asia/Makassar", Windows: []sdv1.Window{
			{Days: []sdv1.Weekday{"Mon", "Tue", "Wed", "Thu"}, Start: "08:00", End: "16:00"},
			{Days: []sdv1.Weekday{"Fri"}, Start: "08:00", End: "11:30"}}}}}
	for _, tc := range []struct {
		name   string
		rename bool
		want   int64
	}{{"rename", true, 3600}, {"creation", false, int64(now.Sub(approved.Time) / time.Second)}} {
		t.Run(tc.name, func(t *testing.T) {
			uid := "u-" + tc.name
			var conds []metav1.Condition
			for _, typ := range provisioningConditions {
				conds = append(conds, metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: "Ok", ObservedGeneration: 2,
					LastTransitionTime: approved})
			}
			stored := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: tc.name, UID: types.UID(uid), Generation: 2},
				Spec: sdv1.SubdomainRequestSpec{Zone: "z", OPD: sdv1.OPD{Name: "Dinas"}}}
			if tc.rename {
				ready := metav1.NewTime(approved.AddDate(0, -1, 0))
				stored.Status = sdv1.SubdomainRequestStatus{Phase: sdv1.PhaseReady, FQDN: "lama.z.go.id", ReadyAt: &ready,
					Conditions: append(conds[:len(conds):len(conds)], metav1.Condition{Type: sdv1.ConditionReady, Status: metav1.ConditionTrue,
						Reason: "Ready", ObservedGeneration: 1, LastTransitionTime: ready})}
			}
			c := fake.NewClientBuilder().WithScheme(sch).WithObjects(stored).WithStatusSubresource(stored).Build()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			lw := ledger.NewWriter(c, c)
			go func() { _ = lw.Start(ctx) }()
			clk := clocktesting.NewFakePassiveClock(now)
			r := &SubdomainRequestReconciler{Client: c, Scheme: sch, Recorder: events.NewFakeRecorder(10), Clock: clk, Ledger: lw}
			base := stored.DeepCopy()
			if err := c.Get(ctx, client.ObjectKeyFromObject(stored), base); err != nil {
				t.Fatal(err)
			}
			req := base.DeepCopy()
			req.Status.FQDN, req.Status.Conditions = "baru.z.go.id", conds
			req.Status.Approval = &sdv1.Approval{Name: "baru", ApprovedBy: "kadis", ApprovedAt: &approved}
			req.Status.ApprovedAt = &approved
			s := &requestScope{req: req, zone: zone, now: now, label: "baru", fqdn: "baru.z.go.id"}
			if _, err := r.summarise(ctx, s, base, ctrl.Result{}, nil); err != nil {
				t.Fatal(err)
			}
			ledgers := &sdv1.SubdomainLedgerList{}
			if err := c.List(ctx, ledgers); err != nil {
				t.Fatal(err)
			}
			var got *int64
			for _, l := range ledgers.Items {
				for _, e := range l.Spec.Entries {
					if e.Type == sdv1.LedgerReady && e.FQDN == "baru.z.go.id" {
						got = e.Seconds
					}
				}
			}
			if got == nil || *got != tc.want {
				v := "none"
				if got != nil {
					v = fmt.Sprint(*got)
				}
				t.Errorf("Ready entry's seconds = %s, want %d", v, tc.want)
			}
		})
	}
}
