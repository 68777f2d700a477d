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

package report

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func at(s string) metav1.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return metav1.NewTime(t)
}

func secs(v int64) *int64 { return &v }

// fixture: a year in Pontianak: dinkes created and renamed (entries as earlier versions
// wrote them: Requested, Approved, Ready), dishub created (one Ready entry, as written
// now) and deleted, ditolak rejected, and one entry of 2025 that must not count. Entry
// ids use the request name for the UID; the report is made in December 2026.
func fixture() Input {
	zone := sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "pontianak"}, Spec: sdv1.SubdomainZoneSpec{
		Domain: "pontianak.go.id", ServiceLevel: sdv1.ServiceLevel{
			Approval: &metav1.Duration{Duration: 24 * time.Hour}, Provisioning: &metav1.Duration{Duration: 4 * time.Hour}}}}
	req := sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "dinkes", UID: "dinkes", CreationTimestamp: at("2026-03-02T01:00:00Z")},
		Spec: sdv1.SubdomainRequestSpec{Zone: "pontianak", OPD: sdv1.OPD{Name: "Dinas Kesehatan"}},
		Status: sdv1.SubdomainRequestStatus{Phase: sdv1.PhaseReady, FQDN: "kesehatan.pontianak.go.id", Address: "10.20.0.1",
			Namespace: "opd-dinkes", Approval: &sdv1.Approval{Name: "kesehatan", ApprovedBy: "kadis"}}}
	pending := sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "waiting"}, Spec: sdv1.SubdomainRequestSpec{Zone: "pontianak"},
		Status: sdv1.SubdomainRequestStatus{Phase: sdv1.PhasePending}}
	e := func(typ sdv1.LedgerEntryType, t, req, opd, fqdn string, mut ...func(*sdv1.LedgerEntry)) sdv1.LedgerEntry {
		x := sdv1.LedgerEntry{ID: req + "/" + string(typ) + "/" + fqdn, Type: typ, At: at(t), Request: req, OPD: opd, FQDN: fqdn}
		for _, m := range mut {
			m(&x)
		}
		return x
	}
	return Input{Year: 2026, Now: at("2026-12-01T00:00:00Z").Time, Zones: []sdv1.SubdomainZone{zone}, Requests: []sdv1.SubdomainRequest{req, pending},
		Ledgers: []sdv1.SubdomainLedger{
			{Spec: sdv1.SubdomainLedgerSpec{Zone: "pontianak", Year: 2026, Month: 3, Entries: []sdv1.LedgerEntry{
				e(sdv1.LedgerRequested, "2026-03-02T01:00:00Z", "dinkes", "Dinas Kesehatan", "dinkes.pontianak.go.id"),
				e(sdv1.LedgerApproved, "2026-03-02T05:00:00Z", "dinkes", "Dinas Kesehatan", "dinkes.pontianak.go.id",
					func(x *sdv1.LedgerEntry) { x.ApprovedBy = "kadis"; x.Seconds = secs(4 * 3600) }),
				e(sdv1.LedgerReady, "2026-03-02T05:00:02Z", "dinkes", "Dinas Kesehatan", "dinkes.pontianak.go.id",
					func(x *sdv1.LedgerEntry) { x.ApprovedBy = "kadis"; x.Address = "10.20.0.1"; x.Seconds = secs(2) }),
				// dishub as written now: one Ready entry carrying the time-to-approval.
				e(sdv1.LedgerReady, "2026-03-05T02:00:03Z", "dishub", "Dinas Perhubungan", "dishub.pontianak.go.id",
					func(x *sdv1.LedgerEntry) {
						x.ApprovedBy = "sekda"
						x.Address = "10.20.0.2"
						x.Seconds = secs(3)
						x.ApprovalSeconds = secs(30 * 3600)
					}),
			}}},
			// Page 2 of September, listed first: it repeats page 1's deletion (the
			// first of equal ids counts) and adds nothing else.
			{Spec: sdv1.SubdomainLedgerSpec{Zone: "pontianak", Year: 2026, Month: 9, Page: 2, Entries: []sdv1.LedgerEntry{
				e(sdv1.LedgerDeleted, "2026-09-10T01:00:00Z", "dishub", "Dinas Perhubungan", "dishub.pontianak.go.id",
					func(x *sdv1.LedgerEntry) { x.Address = "10.20.0.2" }),
			}}},
			{Spec: sdv1.SubdomainLedgerSpec{Zone: "pontianak", Year: 2026, Month: 9, Page: 1, Entries: []sdv1.LedgerEntry{
				e(sdv1.LedgerRenamed, "2026-09-01T01:00:00Z", "dinkes", "Dinas Kesehatan", "kesehatan.pontianak.go.id",
					func(x *sdv1.LedgerEntry) { x.PreviousFQDN = "dinkes.pontianak.go.id"; x.Address = "10.20.0.1" }),
				e(sdv1.LedgerReady, "2026-09-01T01:00:01Z", "dinkes", "Dinas Kesehatan", "kesehatan.pontianak.go.id",
					func(x *sdv1.LedgerEntry) { x.ApprovedBy = "kadis"; x.Seconds = secs(5 * 3600) }),
				e(sdv1.LedgerDeleted, "2026-09-10T01:00:00Z", "dishub", "Dinas Perhubungan", "dishub.pontianak.go.id",
					func(x *sdv1.LedgerEntry) { x.Address = "10.20.0.2" }),
				e(sdv1.LedgerRejected, "2026-09-11T01:00:00Z", "ditolak", "Dinas Lain", "ditolak.pontianak.go.id",
					func(x *sdv1.LedgerEntry) { x.Reason = "duplicate of dinkes" }),
			}}},
			{Spec: sdv1.SubdomainLedgerSpec{Zone: "pontianak", Year: 2025, Month: 12, Entries: []sdv1.LedgerEntry{
				e(sdv1.LedgerDeleted, "2025-12-30T01:00:00Z", "old", "Old", "old.pontianak.go.id"),
			}}},
		}}
}

func TestGolden(t *testing.T) {
	rep := Build(fixture())
	// Active: dinkes (serving) and dishub (served until its deletion in September).
	if len(rep.Active) != 2 || len(rep.Created) != 2 || len(rep.Renamed) != 1 || len(rep.Deleted) != 1 || len(rep.Rejected) != 1 {
		t.Fatalf("counts: %+v", rep)
	}
	sl := rep.ServiceLevel[0]
	if sl.Approval.Count != 2 || sl.Approval.Breaches != 1 || sl.Approval.MedianSeconds != 4*3600 || sl.Approval.P90Seconds != 30*3600 {
		t.Errorf("approval stats %+v", sl.Approval)
	}
	if sl.Provisioning.Count != 3 || sl.Provisioning.Breaches != 1 || sl.Provisioning.MedianSeconds != 3 {
		t.Errorf("provisioning stats %+v", sl.Provisioning)
	}
	// Each creation's and rename's own times, against the standards (24h, 4h): dinkes's
	// time-to-approval from its Approved entry (as earlier versions wrote it), dishub's
	// from its Ready entry; the rename's approval-to-ready from the Ready entry of its
	// new name.
	for _, tc := range []struct {
		ev                  Event
		toApproval, toReady int64 // -1: absent
		over                []string
	}{
		{rep.Created[0], 4 * 3600, 2, nil},
		{rep.Created[1], 30 * 3600, 3, []string{"timeToApproval"}},
		{rep.Renamed[0], -1, 5 * 3600, []string{"approvalToReady"}},
	} {
		got := func(v *int64) int64 {
			if v == nil {
				return -1
			}
			return *v
		}
		if e := tc.ev; got(e.TimeToApprovalSeconds) != tc.toApproval || got(e.ApprovalToReadySeconds) != tc.toReady || !slices.Equal(e.OverStandard, tc.over) {
			t.Errorf("%s: times %d / %d over %v, want %d / %d over %v", e.FQDN, got(e.TimeToApprovalSeconds), got(e.ApprovalToReadySeconds),
				e.OverStandard, tc.toApproval, tc.toReady, tc.over)
		}
	}
	for _, format := range []string{"markdown", "csv", "json"} {
		var buf bytes.Buffer
		if err := rep.Render(&buf, format); err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "report-2026."+map[string]string{"markdown": "md", "csv": "csv", "json": "json"}[format])
		if *update {
			if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s differs from %s:\n%s", format, golden, buf.String())
		}
	}
	if err := rep.Render(&bytes.Buffer{}, "pdf"); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestUserTextIsInert: user text in a report (an OPD's name, a rejection's reason, an
// approver) neither breaks a markdown table, nor sends a terminal escape sequence in
// it, nor runs as a spreadsheet formula (CSV keeps the text as it is: its quoting
// holds line breaks, and it is data for a spreadsheet).
func TestUserTextIsInert(t *testing.T) {
	rep := Report{Year: 2026, Active: []Site{{Zone: "z", OPD: `=HYPERLINK("http://x","y")`, FQDN: "a.z.go.id", ApprovedBy: "@kadis",
		Created: at("2026-03-02T01:00:00Z").Time}},
		Rejected: []Event{{At: at("2026-03-03T01:00:00Z").Time, Zone: "z", OPD: "Dinas | Satu", FQDN: "b.z.go.id", Reason: "-1 baris\nkedua | ketiga\x1b[2J"}}}
	var md, csv bytes.Buffer
	if err := rep.Render(&md, "markdown"); err != nil {
		t.Fatal(err)
	}
	if err := rep.Render(&csv, "csv"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`| Dinas \| Satu | b.z.go.id | -1 baris kedua \| ketiga\u001b[2J |`, `| =HYPERLINK("http://x","y") | a.z.go.id |`} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	for _, want := range []string{`"'=HYPERLINK(""http://x"",""y"")"`, ",'@kadis,", "\"'-1 baris\nkedua | ketiga\x1b[2J\""} {
		if !strings.Contains(csv.String(), want) {
			t.Errorf("csv lacks %q:\n%s", want, csv.String())
		}
	}
}

// TestZeroIsAFigure: a median of 0s (provisioning within the second) is printed as
// such, not as the "-" of a stage without samples.
func TestZeroIsAFigure(t *testing.T) {
	rep := Report{Year: 2026, ServiceLevel: []ZoneStats{{Zone: "z", Provisioning: Stats{Count: 3}}}}
	var md bytes.Buffer
	if err := rep.Render(&md, "markdown"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| z | time to approval | 0 | - | - | - | 0 |", "| z | approval to ready | 3 | 0s | 0s | - | 0 |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}

// TestStandardsOnRecord: a time is judged against the standard the ledger recorded
// with it, not the zone's of today: dishub's 30 h approval stays a breach of the 24 h
// standard in force then after the zone relaxes it to 48 h, and after the zone is gone
// (its standard shown is then the last one recorded). Entries without one (earlier
// versions) are judged against the zone's now.
func TestStandardsOnRecord(t *testing.T) {
	for _, tc := range []struct {
		name  string
		zones func([]sdv1.SubdomainZone) []sdv1.SubdomainZone
		std   int64
	}{
		{"relaxed", func(z []sdv1.SubdomainZone) []sdv1.SubdomainZone {
			z[0].Spec.ServiceLevel.Approval = &metav1.Duration{Duration: 48 * time.Hour}
			return z
		}, 48 * 3600},
		{"gone", func([]sdv1.SubdomainZone) []sdv1.SubdomainZone { return nil }, 24 * 3600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := fixture()
			for i, e := range in.Ledgers[0].Spec.Entries {
				if e.Request == "dishub" && e.Type == sdv1.LedgerReady {
					in.Ledgers[0].Spec.Entries[i].ApprovalStandardSeconds = secs(24 * 3600)
					in.Ledgers[0].Spec.Entries[i].ProvisioningStandardSeconds = secs(4 * 3600)
				}
			}
			in.Zones = tc.zones(in.Zones)
			rep := Build(in)
			if len(rep.ServiceLevel) != 1 {
				t.Fatalf("service level %+v", rep.ServiceLevel)
			}
			if a := rep.ServiceLevel[0].Approval; a.Breaches != 1 || a.StandardSeconds != tc.std {
				t.Errorf("time to approval %+v, want 1 breach, standard shown %d", a, tc.std)
			}
			for _, e := range rep.Created {
				if e.Request == "dishub" && (!slices.Contains(e.OverStandard, stageApproval) || e.ApprovalStandardSeconds != 24*3600) {
					t.Errorf("dishub %+v: want its approval over the 24h standard", e)
				}
			}
			var out bytes.Buffer
			if _, err := Describe(&out, "dishub", in.Ledgers, in.Zones); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "(standard 24h0m0s: BREACHED)") {
				t.Errorf("describe dishub:\n%s", out.String())
			}
		})
	}
}

// BenchmarkBuildRetained: the annual report over 30,000 entries of 10,000 sites, half
// of them deleted with Retain before the year (each a Ready, a Renamed and a Retained
// entry). Before takenAfter used an index, each retained site walked every other
// site's entries: 12.5 s a report here (2026-11-24), 0.10 s with it.
// go test -run - -bench BuildRetained ./internal/report
func BenchmarkBuildRetained(b *testing.B) {
	const sites = 10000
	var ledgers []sdv1.SubdomainLedger
	for i := range sites {
		name, uid := fmt.Sprintf("site%05d", i), fmt.Sprintf("uid%05d", i)
		entries := []sdv1.LedgerEntry{
			{ID: uid + "/Ready/a", Type: sdv1.LedgerReady, At: at("2024-03-02T05:00:00Z"), Request: name, FQDN: name + ".z.go.id"},
			{ID: uid + "/Renamed/b", Type: sdv1.LedgerRenamed, At: at("2024-04-02T05:00:00Z"), Request: name, FQDN: name + "b.z.go.id", PreviousFQDN: name + ".z.go.id"},
		}
		typ := sdv1.LedgerDeleted
		if i%2 == 0 {
			typ = sdv1.LedgerRetained
		}
		entries = append(entries, sdv1.LedgerEntry{ID: uid + "/" + string(typ), Type: typ, At: at("2025-05-02T05:00:00Z"), Request: name, FQDN: name + "b.z.go.id"})
		ledgers = append(ledgers, sdv1.SubdomainLedger{Spec: sdv1.SubdomainLedgerSpec{Zone: "z", Year: 2024, Month: 3, Page: int32(i + 1), Entries: entries}})
	}
	in := Input{Year: 2026, Now: at("2026-12-01T00:00:00Z").Time, Ledgers: ledgers}
	for b.Loop() {
		if rep := Build(in); len(rep.Active) != sites/2 {
			b.Fatalf("%d active, want the %d retained", len(rep.Active), sites/2)
		}
	}
}

// TestNeverServedNotDeleted: a request that claimed a name but never served (its
// hosting namespace was someone else's: Conflict) and was deleted gave back that name,
// which the ledger records; it is no subdomain deleted in the year. Before, the report
// listed it ("deleted: 1" with no creation, and "address  released").
func TestNeverServedNotDeleted(t *testing.T) {
	in := fixture()
	in.Ledgers = append(in.Ledgers, sdv1.SubdomainLedger{Spec: sdv1.SubdomainLedgerSpec{Zone: "pontianak", Year: 2026, Month: 10, Entries: []sdv1.LedgerEntry{
		{ID: "konflik/Deleted", Type: sdv1.LedgerDeleted, At: at("2026-10-01T01:00:00Z"), Request: "konflik", FQDN: "konflik.pontianak.go.id"},
	}}})
	rep := Build(in)
	for _, e := range rep.Deleted {
		if e.Request == "konflik" {
			t.Errorf("a request that never served is listed as deleted: %+v", e)
		}
	}
	if len(rep.Deleted) != 1 || rep.Deleted[0].Request != "dishub" {
		t.Errorf("deleted %+v, want dishub alone", rep.Deleted)
	}
	var out bytes.Buffer
	if _, err := Describe(&out, "konflik", in.Ledgers, in.Zones); err != nil || !strings.Contains(out.String(), "Deleted:") {
		t.Errorf("describe konflik (%v):\n%s", err, out.String())
	}
}

// TestNoStandardThen: an entry written while the zone had no standard (recorded as 0)
// is not judged against one the zone set later.
func TestNoStandardThen(t *testing.T) {
	in := fixture()
	for i, e := range in.Ledgers[0].Spec.Entries {
		if e.Request == "dishub" && e.Type == sdv1.LedgerReady {
			in.Ledgers[0].Spec.Entries[i].ApprovalStandardSeconds = secs(0)
			in.Ledgers[0].Spec.Entries[i].ProvisioningStandardSeconds = secs(0)
		}
	}
	rep := Build(in)
	for _, e := range rep.Created {
		if e.Request == "dishub" && len(e.OverStandard) != 0 {
			t.Errorf("dishub judged against a standard set later: %+v", e)
		}
	}
	if a := rep.ServiceLevel[0].Approval; a.Breaches != 0 {
		t.Errorf("time to approval %+v, want no breach", a)
	}
	var out bytes.Buffer
	if _, err := Describe(&out, "dishub", in.Ledgers, in.Zones); err != nil || strings.Contains(out.String(), "BREACHED") {
		t.Errorf("describe dishub (%v):\n%s", err, out.String())
	}
}

// TestRejectedRename: a served site's rename rejected reads as that, not as a request
// rejected: the site stayed.
func TestRejectedRename(t *testing.T) {
	in := fixture()
	in.Ledgers = append(in.Ledgers, sdv1.SubdomainLedger{Spec: sdv1.SubdomainLedgerSpec{Zone: "pontianak", Year: 2026, Month: 10, Entries: []sdv1.LedgerEntry{
		{ID: "dinkes/Rejected/x@5", Type: sdv1.LedgerRejected, At: at("2026-10-01T01:00:00Z"), Request: "dinkes",
			FQDN: "sehat.pontianak.go.id", PreviousFQDN: "kesehatan.pontianak.go.id", Reason: "bukan nama resmi"},
	}}})
	var md bytes.Buffer
	if err := Build(in).Render(&md, "markdown"); err != nil {
		t.Fatal(err)
	}
	if want := "| sehat.pontianak.go.id | rename from kesehatan.pontianak.go.id (the site stays): bukan nama resmi |"; !strings.Contains(md.String(), want) {
		t.Errorf("markdown lacks %q:\n%s", want, md.String())
	}
}
