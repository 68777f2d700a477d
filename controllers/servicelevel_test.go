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

package controllers_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/controllers"
	"github.com/kominfo/subdomain-operator/internal/report"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestServiceLevel: a request left waiting past the zone's approval standard is flagged
// when the deadline passes (a timed requeue, no polling), with a Warning event; the
// metrics expose the figures.
func TestServiceLevel(t *testing.T) {
	create(t, newZone("sla", "sla.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.152.0.0/24"}
		z.Spec.ServiceLevel = sdv1.ServiceLevel{Approval: &metav1.Duration{Duration: 10 * time.Second},
			Provisioning: &metav1.Duration{Duration: time.Hour}}
	}))
	// The request's first pass must find the zone and report within the standard: the
	// zone in the operator's cache first, and a standard that a loaded machine's first
	// pass (behind a resync of every other test's requests) does not outlast.
	waitCached(t, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "sla"}})
	create(t, newRequest("lambat", "sla", "lambat"))
	r := waitPhase(t, "lambat", sdv1.PhasePending)
	if c := condition(r, controllers.ConditionServiceLevel); c.Status != metav1.ConditionTrue {
		t.Errorf("within the standard at first: %+v", c)
	}
	r = waitFor(t, "lambat", "ApprovalOverdue", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, controllers.ConditionServiceLevel).Reason == "ApprovalOverdue"
	})
	if c := condition(r, controllers.ConditionServiceLevel); !strings.Contains(c.Message, "approval is overdue: the standard of 10s ended at") {
		t.Errorf("overdue message: %+v", c)
	}
	assertEvent(t, "lambat", "ApprovalOverdue")
	// Timestamps are stored to the second: approve a full second past the deadline so
	// that approvedAt - requestedAt exceeds the standard however the seconds fall.
	if wait := time.Until(r.CreationTimestamp.Add(11 * time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	annotate(t, "lambat", map[string]*string{sdv1.AnnotationApproved: ptr("lambat"), sdv1.AnnotationApprovedBy: ptr("kadis")})
	r = waitPhase(t, "lambat", sdv1.PhaseReady)
	if c := condition(r, controllers.ConditionServiceLevel); c.Reason != "ApprovalOverdue" || !strings.Contains(c.Message, "approval took") {
		t.Errorf("after a late approval: %+v", c)
	}

	if z, err := zoneWhen("sla", func(z *sdv1.SubdomainZone) bool { return z.Status.Allocated == 1 }); err != nil {
		t.Fatalf("zone sla allocated %d, want 1: %v", z.Status.Allocated, err)
	}
	// The state collector's gauges of zone sla: its one request Ready, one address of
	// the /24's 254 allocated. The collector reads the operator's cache, which may trail
	// the API server the wait above read: gather until its figures catch up (or the
	// timeout says they never do).
	want := map[string]float64{"subdomain_requests": 1, "subdomain_pool_allocated": 1, "subdomain_pool_capacity": 254}
	var got map[string]float64
	seen := map[string]bool{}
	breach := false
	for deadline := time.Now().Add(timeout); ; time.Sleep(interval) {
		got, seen, breach = slaGauges(t)
		if maps.Equal(got, want) || time.Now().After(deadline) {
			break
		}
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s{zone=sla} = %v, want %v", name, got[name], v)
		}
	}
	if !breach {
		t.Error("no breach counted for zone sla")
	}
	for _, name := range []string{"subdomain_time_to_approval_seconds", "subdomain_approval_to_ready_seconds",
		"subdomain_service_level_breaches_total", "subdomain_requests", "subdomain_pool_allocated", "subdomain_pool_capacity"} {
		if !seen[name] {
			t.Errorf("metric %s is not exposed", name)
		}
	}

	// The ledger keeps the standards in force: the annual report judges the late
	// approval against them after the zone relaxes its standard, and after the zone is
	// gone.
	ready := ledgerEntry(t, "sla", "lambat", sdv1.LedgerReady, "")
	if a, p := ready.ApprovalStandardSeconds, ready.ProvisioningStandardSeconds; a == nil || *a != 10 || p == nil || *p != 3600 {
		t.Fatalf("the Ready entry's standards: approval %v, provisioning %v; want 10 and 3600", a, p)
	}
	breaches := func(when string) {
		t.Helper()
		rep := annualReport(t, "sla", ready.At.UTC().Year())
		if len(rep.ServiceLevel) != 1 || rep.ServiceLevel[0].Approval.Breaches != 1 || rep.ServiceLevel[0].Approval.StandardSeconds == 0 {
			t.Errorf("%s: service level %+v, want one approval breach against a standard", when, rep.ServiceLevel)
		}
		if len(rep.Created) != 1 || !slices.Contains(rep.Created[0].OverStandard, "timeToApproval") || rep.Created[0].ApprovalStandardSeconds != 10 {
			t.Errorf("%s: created %+v, want the approval over its 10s standard", when, rep.Created)
		}
	}
	editZone(t, "sla", func(z *sdv1.SubdomainZone) { z.Spec.ServiceLevel.Approval = &metav1.Duration{Duration: 24 * time.Hour} })
	breaches("the zone's standard relaxed")
	if err := k8s.Delete(context.Background(), getRequest(t, "lambat")); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "lambat"}})
	if err := k8s.Delete(context.Background(), &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "sla"}}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "sla"}})
	breaches("the zone gone")
}

// ledgerEntry waits for the first ledger entry of request in zone of type typ (and of
// name fqdn, unless "") and returns it.
func ledgerEntry(t *testing.T, zone, request string, typ sdv1.LedgerEntryType, fqdn string) sdv1.LedgerEntry {
	t.Helper()
	var found sdv1.LedgerEntry
	if err := waitForLedger(t, zone, request, func(entries []sdv1.LedgerEntry) bool {
		i := slices.IndexFunc(entries, func(e sdv1.LedgerEntry) bool { return e.Type == typ && (fqdn == "" || e.FQDN == fqdn) })
		if i >= 0 {
			found = entries[i]
		}
		return i >= 0
	}); err != nil {
		t.Fatalf("no %s entry of %s %s: %v", typ, request, fqdn, err)
	}
	return found
}

// annualReport is zone's report of year, made as the plugin makes it: from the zones,
// requests and ledgers the API server holds now.
func annualReport(t *testing.T, zone string, year int) report.Report {
	t.Helper()
	zones, requests, ledgers := &sdv1.SubdomainZoneList{}, &sdv1.SubdomainRequestList{}, &sdv1.SubdomainLedgerList{}
	for _, l := range []client.ObjectList{zones, requests, ledgers} {
		if err := k8s.List(context.Background(), l); err != nil {
			t.Fatal(err)
		}
	}
	return report.Build(report.Input{Year: year, Zone: zone, Now: time.Now(), Zones: zones.Items, Requests: requests.Items, Ledgers: ledgers.Items})
}

// slaGauges gathers the registry once: zone sla's gauges (its Ready requests only),
// every metric name exposed, and whether a service-level breach of zone sla is counted.
func slaGauges(t *testing.T) (got map[string]float64, seen map[string]bool, breach bool) {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got, seen = map[string]float64{}, map[string]bool{}
	for _, f := range families {
		seen[f.GetName()] = true
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["zone"] != "sla" {
				continue
			}
			switch f.GetName() {
			case "subdomain_requests":
				if labels["phase"] == string(sdv1.PhaseReady) {
					got[f.GetName()] += m.GetGauge().GetValue()
				}
			case "subdomain_pool_allocated", "subdomain_pool_capacity":
				got[f.GetName()] += m.GetGauge().GetValue()
			case "subdomain_service_level_breaches_total":
				breach = true
			}
		}
	}
	return got, seen, breach
}

// TestServiceLevelChanged: a zone's standard changed after a request became Ready is
// no breach of the request's: the condition is judged again against the standard in
// force, but nothing is counted (before, each tightening counted the old request again);
// and a zone without standards has no ServiceLevel condition (before, the last one
// stayed for good).
func TestServiceLevelChanged(t *testing.T) {
	create(t, newZone("slaubah", "slaubah.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.175.0.0/24"}
		z.Spec.ServiceLevel = sdv1.ServiceLevel{Approval: &metav1.Duration{Duration: time.Hour}}
	}))
	create(t, newRequest("ubahsla", "slaubah", "ubahsla"))
	r := waitPhase(t, "ubahsla", sdv1.PhasePending)
	// Timestamps are stored to the second: approve two seconds on, so that the
	// approval took longer than the tight standard below however the seconds fall.
	if wait := time.Until(r.CreationTimestamp.Add(2 * time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	annotate(t, "ubahsla", map[string]*string{sdv1.AnnotationApproved: ptr("ubahsla")})
	r = waitPhase(t, "ubahsla", sdv1.PhaseReady)
	if c := condition(r, controllers.ConditionServiceLevel); c.Reason != "WithinServiceLevel" {
		t.Fatalf("within the standard: %+v", c)
	}
	// Each change of the standard changes the condition: wait for that, then count.
	standard := func(sl sdv1.ServiceLevel, what string, judged func(*metav1.Condition) bool) {
		t.Helper()
		editZone(t, "slaubah", func(z *sdv1.SubdomainZone) { z.Spec.ServiceLevel = sl })
		waitFor(t, "ubahsla", what, func(r *sdv1.SubdomainRequest) bool {
			return judged(meta.FindStatusCondition(r.Status.Conditions, controllers.ConditionServiceLevel))
		})
	}
	reason := func(want string) func(*metav1.Condition) bool {
		return func(c *metav1.Condition) bool { return c != nil && c.Reason == want }
	}
	tight := sdv1.ServiceLevel{Approval: &metav1.Duration{Duration: time.Millisecond}}
	loose := sdv1.ServiceLevel{Approval: &metav1.Duration{Duration: time.Hour}}
	for i, sl := range []sdv1.ServiceLevel{tight, loose, tight} {
		want := "WithinServiceLevel"
		if sl == tight {
			want = "ApprovalOverdue"
		}
		standard(sl, "judged "+want, reason(want))
		if n := breachCount(t, "slaubah"); n != 0 {
			t.Errorf("standard %d: %v breaches counted for zone slaubah, want 0: the request was approved before the change", i, n)
		}
	}
	standard(sdv1.ServiceLevel{}, "without a ServiceLevel condition", func(c *metav1.Condition) bool { return c == nil })
}

// breachCount is subdomain_service_level_breaches_total of zone, all stages.
func breachCount(t *testing.T, zone string) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0.0
	for _, f := range families {
		if f.GetName() != "subdomain_service_level_breaches_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "zone" && l.GetValue() == zone {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// TestLateApprovalThenLateProvisioning: a request approved late whose provisioning is
// late too (it stays in Conflict: its namespace is someone else's) is reported and
// counted for both stages: ProvisioningOverdue, saying both, a Warning Event, a
// second breach. Before, the approval's breach hid the provisioning's for good.
func TestLateApprovalThenLateProvisioning(t *testing.T) {
	create(t, newZone("slaganda", "slaganda.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.178.5.0/24"}
		z.Spec.ServiceLevel = sdv1.ServiceLevel{Approval: &metav1.Duration{Duration: 2 * time.Second},
			Provisioning: &metav1.Duration{Duration: 4 * time.Second}}
	}))
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-gandalambat"}})
	create(t, newRequest("gandalambat", "slaganda", "gandalambat"))
	r := waitPhase(t, "gandalambat", sdv1.PhasePending)
	// Timestamps are stored to the second: approve a full second past the standard.
	if wait := time.Until(r.CreationTimestamp.Add(3 * time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	annotate(t, "gandalambat", map[string]*string{sdv1.AnnotationApproved: ptr("gandalambat")})
	r = waitFor(t, "gandalambat", "ProvisioningOverdue", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, controllers.ConditionServiceLevel).Reason == "ProvisioningOverdue"
	})
	if c := condition(r, controllers.ConditionServiceLevel); !strings.Contains(c.Message, "approval took") ||
		!strings.Contains(c.Message, "provisioning is overdue: the standard of 4s ended at") {
		t.Errorf("ServiceLevel: %+v", c)
	}
	if r.Status.Phase != sdv1.PhaseConflict {
		t.Errorf("phase %s, want Conflict (the namespace is someone else's)", r.Status.Phase)
	}
	assertEvent(t, "gandalambat", "ProvisioningOverdue")
	// The counter is incremented after the status write the wait above saw.
	err := testenv.Eventually(context.Background(), timeout, interval, func() (bool, error) {
		return breachCount(t, "slaganda") == 2, nil
	})
	if err != nil {
		t.Errorf("breaches counted for zone slaganda: %v, want 2 (approval, provisioning)", breachCount(t, "slaganda"))
	}
}

// TestRenameTimeToApproval: a rename's approval is measured too, from when the rename
// was asked (the approval on record turned stale) to its approval: the ledger's
// Approved entry of the new name carries it with the standard in force, and the annual
// report judges the rename against it. Before, only the first approval was measured.
func TestRenameTimeToApproval(t *testing.T) {
	create(t, newZone("slaganti", "slaganti.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.178.17.0/24"}
		z.Spec.ServiceLevel = sdv1.ServiceLevel{Approval: &metav1.Duration{Duration: time.Second}}
	}))
	create(t, newRequest("gantilambat", "slaganti", "lama", approved("kadis")))
	waitPhase(t, "gantilambat", sdv1.PhaseReady)
	setSubdomain(t, "gantilambat", "baru")
	r := waitFor(t, "gantilambat", "the rename waiting for approval", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionApproved).Reason == "ApprovalStale"
	})
	asked := condition(r, sdv1.ConditionApproved).LastTransitionTime.Time
	// Timestamps are stored to the second: approve two full seconds after.
	time.Sleep(time.Until(asked.Add(2100 * time.Millisecond)))
	annotate(t, "gantilambat", map[string]*string{sdv1.AnnotationApproved: ptr("baru")})
	waitServing(t, "gantilambat", "baru.slaganti.go.id")

	approvedEntry := ledgerEntry(t, "slaganti", "gantilambat", sdv1.LedgerApproved, "baru.slaganti.go.id")
	if s, std := approvedEntry.Seconds, approvedEntry.ApprovalStandardSeconds; s == nil || *s < 2 || *s > 60 || std == nil || *std != 1 {
		t.Errorf("the rename's Approved entry: seconds %v, standard %v; want 2 or more against 1", s, std)
	}
	// The zone sets no provisioning standard: the Ready entry records that (0), so a
	// standard set later does not judge it.
	for _, e := range ledgerOf(t, "slaganti", "gantilambat") {
		if e.Type == sdv1.LedgerReady && e.FQDN == "baru.slaganti.go.id" && (e.ProvisioningStandardSeconds == nil || *e.ProvisioningStandardSeconds != 0) {
			t.Errorf("the rename's Ready entry: provisioning standard %v, want 0 (none then)", e.ProvisioningStandardSeconds)
		}
	}
	rep := annualReport(t, "slaganti", approvedEntry.At.UTC().Year())
	if len(rep.Renamed) != 1 || rep.Renamed[0].TimeToApprovalSeconds == nil || !slices.Contains(rep.Renamed[0].OverStandard, "timeToApproval") {
		t.Errorf("renamed %+v, want its time to approval over the standard", rep.Renamed)
	}

	// Approved turned False before the rename was asked (the approval withdrawn):
	// when the rename was asked is not known, and no time is recorded - not the
	// time since the withdrawal.
	annotate(t, "gantilambat", map[string]*string{sdv1.AnnotationApproved: nil})
	r = waitFor(t, "gantilambat", "the approval withdrawn", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionApproved).Reason == "ApprovalWithdrawn"
	})
	time.Sleep(time.Until(condition(r, sdv1.ConditionApproved).LastTransitionTime.Add(2100 * time.Millisecond)))
	editRequest(t, "gantilambat", func(r *sdv1.SubdomainRequest) {
		r.Spec.Subdomain = "ketiga"
		r.Annotations[sdv1.AnnotationApproved] = "ketiga"
	})
	waitServing(t, "gantilambat", "ketiga.slaganti.go.id")
	approvedEntry = ledgerEntry(t, "slaganti", "gantilambat", sdv1.LedgerApproved, "ketiga.slaganti.go.id")
	if approvedEntry.Seconds != nil {
		t.Errorf("the rename asked and approved in one write after a withdrawal: seconds %d, want none recorded", *approvedEntry.Seconds)
	}
}
