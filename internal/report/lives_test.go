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
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// le is a ledger entry of request uid (named req unless set otherwise) as the operator
// writes it: id <uid>/<type>/<fqdn>.
func le(typ sdv1.LedgerEntryType, t, uid, fqdn string, mut ...func(*sdv1.LedgerEntry)) sdv1.LedgerEntry {
	e := sdv1.LedgerEntry{ID: uid + "/" + string(typ) + "/" + fqdn, Type: typ, At: at(t), Request: uid, OPD: "OPD " + uid, FQDN: fqdn}
	for _, m := range mut {
		m(&e)
	}
	return e
}

func by(who string) func(*sdv1.LedgerEntry) { return func(e *sdv1.LedgerEntry) { e.ApprovedBy = who } }

func from(fqdn string) func(*sdv1.LedgerEntry) {
	return func(e *sdv1.LedgerEntry) { e.PreviousFQDN = fqdn }
}

func named(req string) func(*sdv1.LedgerEntry) { return func(e *sdv1.LedgerEntry) { e.Request = req } }

// pages puts entries on the ledger pages of zone their times fall in, as the writer does.
func pages(zone string, entries ...sdv1.LedgerEntry) []sdv1.SubdomainLedger {
	var ls []sdv1.SubdomainLedger
	idx := map[string]int{}
	for _, e := range entries {
		t := e.At.UTC()
		key := fmt.Sprintf("%d-%d", t.Year(), t.Month())
		i, ok := idx[key]
		if !ok {
			i = len(ls)
			idx[key] = i
			ls = append(ls, sdv1.SubdomainLedger{Spec: sdv1.SubdomainLedgerSpec{Zone: zone, Year: int32(t.Year()), Month: int32(t.Month()), Page: 1}})
		}
		ls[i].Spec.Entries = append(ls[i].Spec.Entries, e)
	}
	return ls
}

func liveReq(uid, fqdn string, phase sdv1.Phase) sdv1.SubdomainRequest {
	return sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: uid, UID: types.UID(uid), CreationTimestamp: at("2026-01-02T00:00:00Z")},
		Spec:   sdv1.SubdomainRequestSpec{Zone: "z", OPD: sdv1.OPD{Name: "OPD " + uid}},
		Status: sdv1.SubdomainRequestStatus{Phase: phase, FQDN: fqdn}}
}

// TestActiveInYear: active in year Y is "served at some time during Y", from the ledger.
func TestActiveInYear(t *testing.T) {
	const a, b = "a.z.go.id", "b.z.go.id"
	retain := func(e *sdv1.LedgerEntry) { e.Type = sdv1.LedgerRetained; e.ID = "a/Retained/" }
	for _, tc := range []struct {
		name     string
		year     int
		now      string
		zone     string
		ledgers  []sdv1.SubdomainLedger
		requests []sdv1.SubdomainRequest
		want     []string // fqdn, request and state
	}{{
		name: "created last year, serving, in Conflict now", year: 2026, now: "2026-06-01T00:00:00Z",
		ledgers:  pages("z", le(sdv1.LedgerReady, "2025-05-01T00:00:00Z", "a", a)),
		requests: []sdv1.SubdomainRequest{liveReq("a", a, sdv1.PhaseConflict)},
		want:     []string{a + " a Conflict"},
	}, {
		name: "last year's report shows no phase of now", year: 2025, now: "2026-06-01T00:00:00Z",
		ledgers:  pages("z", le(sdv1.LedgerReady, "2025-05-01T00:00:00Z", "a", a)),
		requests: []sdv1.SubdomainRequest{liveReq("a", a, sdv1.PhaseConflict)},
		want:     []string{a + " a serving"},
	}, {
		name: "a year before it was created", year: 2024, now: "2026-06-01T00:00:00Z",
		ledgers:  pages("z", le(sdv1.LedgerReady, "2025-05-01T00:00:00Z", "a", a)),
		requests: []sdv1.SubdomainRequest{liveReq("a", a, sdv1.PhaseReady)},
	}, {
		name: "deleted during the year", year: 2026, now: "2026-06-01T00:00:00Z",
		ledgers: pages("z", le(sdv1.LedgerReady, "2025-05-01T00:00:00Z", "a", a),
			le(sdv1.LedgerDeleted, "2026-03-04T00:00:00Z", "a", a)),
		want: []string{a + " a deleted 2026-03-04"},
	}, {
		name: "deleted the year before", year: 2027, now: "2027-06-01T00:00:00Z",
		ledgers: pages("z", le(sdv1.LedgerReady, "2025-05-01T00:00:00Z", "a", a),
			le(sdv1.LedgerDeleted, "2026-03-04T00:00:00Z", "a", a)),
	}, {
		name: "deleted in the last second before the year", year: 2026, now: "2026-06-01T00:00:00Z",
		ledgers: pages("z", le(sdv1.LedgerReady, "2025-05-01T00:00:00Z", "a", a),
			le(sdv1.LedgerDeleted, "2025-12-31T23:59:59Z", "a", a)),
	}, {
		name: "deleted at the year's first instant", year: 2026, now: "2026-06-01T00:00:00Z",
		ledgers: pages("z", le(sdv1.LedgerReady, "2025-05-01T00:00:00Z", "a", a),
			le(sdv1.LedgerDeleted, "2026-01-01T00:00:00Z", "a", a)),
		want: []string{a + " a deleted 2026-01-01"},
	}, {
		name: "Ready in the year's last second", year: 2026, now: "2027-06-01T00:00:00Z",
		ledgers: pages("z", le(sdv1.LedgerReady, "2026-12-31T23:59:59Z", "a", a)),
		want:    []string{a + " a serving"},
	}, {
		name: "Ready at the next year's first instant", year: 2026, now: "2027-06-01T00:00:00Z",
		ledgers: pages("z", le(sdv1.LedgerReady, "2027-01-01T00:00:00Z", "a", a)),
	}, {
		name: "held a name, never served, deleted", year: 2026, now: "2026-06-01T00:00:00Z",
		ledgers: pages("z", le(sdv1.LedgerDeleted, "2026-03-04T00:00:00Z", "a", a)),
	}, {
		name: "rejected", year: 2026, now: "2026-06-01T00:00:00Z",
		ledgers: pages("z", le(sdv1.LedgerRejected, "2026-03-04T00:00:00Z", "a", a)),
	}, {
		name: "retained the year before: the site still serves", year: 2026, now: "2026-06-01T00:00:00Z",
		ledgers: pages("z", le(sdv1.LedgerReady, "2025-05-01T00:00:00Z", "a", a),
			le(sdv1.LedgerDeleted, "2025-06-01T00:00:00Z", "a", a, retain)),
		want: []string{a + " a deleted 2025-06-01, retained: site left in place, nothing released"},
	}, {
		name: "retained, then its name taken by another request before the year", year: 2026, now: "2026-06-01T00:00:00Z",
		ledgers: pages("z", le(sdv1.LedgerReady, "2025-05-01T00:00:00Z", "a", a),
			le(sdv1.LedgerDeleted, "2025-06-01T00:00:00Z", "a", a, retain),
			le(sdv1.LedgerReady, "2025-09-01T00:00:00Z", "c", a)),
		requests: []sdv1.SubdomainRequest{liveReq("c", a, sdv1.PhaseReady)},
		want:     []string{a + " c Ready"},
	}, {
		name: "retained, its name taken during the year: both served in it", year: 2026, now: "2026-06-01T00:00:00Z",
		ledgers: pages("z", le(sdv1.LedgerReady, "2025-05-01T00:00:00Z", "a", a),
			le(sdv1.LedgerDeleted, "2025-06-01T00:00:00Z", "a", a, retain),
			le(sdv1.LedgerReady, "2026-02-01T00:00:00Z", "c", a)),
		requests: []sdv1.SubdomainRequest{liveReq("c", a, sdv1.PhaseReady)},
		want:     []string{a + " a deleted 2025-06-01, retained: site left in place, nothing released", a + " c Ready"},
	}, {
		name: "Ready now without a ledger record, this year", year: 2026, now: "2026-06-01T00:00:00Z",
		requests: []sdv1.SubdomainRequest{liveReq("b", b, sdv1.PhaseReady), liveReq("c", "c.z.go.id", sdv1.PhaseScheduled),
			liveReq("d", "d.z.go.id", sdv1.PhaseProvisioning), liveReq("e", "", sdv1.PhasePending)},
		want: []string{b + " b Ready", "c.z.go.id c Scheduled"},
	}, {
		name: "Ready now without a ledger record, last year's report", year: 2025, now: "2026-06-01T00:00:00Z",
		requests: []sdv1.SubdomainRequest{liveReq("b", b, sdv1.PhaseReady)},
	}, {
		name: "Provisioning now, served earlier in the year", year: 2026, now: "2026-06-01T00:00:00Z",
		ledgers:  pages("z", le(sdv1.LedgerReady, "2026-02-01T00:00:00Z", "a", a)),
		requests: []sdv1.SubdomainRequest{liveReq("a", a, sdv1.PhaseProvisioning)},
		want:     []string{a + " a Provisioning"},
	}, {
		name: "renamed in the year: the year's last name", year: 2026, now: "2027-06-01T00:00:00Z",
		ledgers: pages("z", le(sdv1.LedgerReady, "2025-05-01T00:00:00Z", "a", a),
			le(sdv1.LedgerRenamed, "2026-05-01T00:00:00Z", "a", b), le(sdv1.LedgerReady, "2026-05-01T00:00:01Z", "a", b)),
		want: []string{b + " a serving"},
	}, {
		name: "renamed the next year: the year's name", year: 2025, now: "2027-06-01T00:00:00Z",
		ledgers: pages("z", le(sdv1.LedgerReady, "2025-05-01T00:00:00Z", "a", a),
			le(sdv1.LedgerRenamed, "2026-05-01T00:00:00Z", "a", b), le(sdv1.LedgerReady, "2026-05-01T00:00:01Z", "a", b)),
		want: []string{a + " a serving"},
	}, {
		name: "a name used again: the deleted request and the new one", year: 2026, now: "2026-06-01T00:00:00Z",
		ledgers: pages("z", le(sdv1.LedgerReady, "2025-05-01T00:00:00Z", "uid1", a, named("a")),
			le(sdv1.LedgerDeleted, "2026-02-01T00:00:00Z", "uid1", a, named("a")),
			le(sdv1.LedgerReady, "2026-03-01T00:00:00Z", "uid2", a, named("a"))),
		requests: []sdv1.SubdomainRequest{func() sdv1.SubdomainRequest {
			r := liveReq("uid2", a, sdv1.PhaseReady)
			r.Name = "a"
			return r
		}()},
		want: []string{a + " a deleted 2026-02-01", a + " a Ready"},
	}, {
		name: "another zone", year: 2026, now: "2026-06-01T00:00:00Z", zone: "z",
		ledgers: slices.Concat(pages("z", le(sdv1.LedgerReady, "2026-02-01T00:00:00Z", "a", a)),
			pages("other", le(sdv1.LedgerReady, "2026-02-01T00:00:00Z", "x", "x.other.go.id"))),
		requests: []sdv1.SubdomainRequest{func() sdv1.SubdomainRequest {
			r := liveReq("y", "y.other.go.id", sdv1.PhaseReady)
			r.Spec.Zone = "other"
			return r
		}()},
		want: []string{a + " a serving"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			rep := Build(Input{Year: tc.year, Zone: tc.zone, Now: at(tc.now).Time, Ledgers: tc.ledgers, Requests: tc.requests})
			var got []string
			for _, s := range rep.Active {
				got = append(got, s.FQDN+" "+s.Request+" "+s.State())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("active:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestRenameApprover: a rename row names its approver: the Renamed entry's own, else the
// request's last approval of that name in the ledger, else the Ready entry that followed.
func TestRenameApprover(t *testing.T) {
	const a, b = "a.z.go.id", "b.z.go.id"
	ready := le(sdv1.LedgerReady, "2025-05-01T00:00:00Z", "a", a, by("kadis"))
	for _, tc := range []struct {
		name    string
		entries []sdv1.LedgerEntry
		want    string
	}{{
		name: "the entry carries it",
		entries: []sdv1.LedgerEntry{ready, le(sdv1.LedgerApproved, "2026-05-01T00:00:00Z", "a", b, by("sekda")),
			le(sdv1.LedgerRenamed, "2026-05-02T00:00:00Z", "a", b, from(a), by("walikota"))},
		want: "walikota",
	}, {
		name:    "the approval of that name",
		entries: []sdv1.LedgerEntry{ready, le(sdv1.LedgerApproved, "2026-05-01T00:00:00Z", "a", b, by("sekda")), le(sdv1.LedgerRenamed, "2026-05-02T00:00:00Z", "a", b, from(a))},
		want:    "sekda",
	}, {
		name: "approved last year, renamed in this year's change window",
		entries: []sdv1.LedgerEntry{ready, le(sdv1.LedgerApproved, "2025-12-31T15:00:00Z", "a", b, by("sekda")),
			le(sdv1.LedgerRenamed, "2026-01-05T00:30:00Z", "a", b, from(a))},
		want: "sekda",
	}, {
		name: "an approval after the rename is not the rename's",
		entries: []sdv1.LedgerEntry{ready, le(sdv1.LedgerApproved, "2026-05-01T00:00:00Z", "a", b, by("sekda")),
			le(sdv1.LedgerRenamed, "2026-05-02T00:00:00Z", "a", b, from(a)),
			func() sdv1.LedgerEntry {
				e := le(sdv1.LedgerApproved, "2026-07-01T00:00:00Z", "a", b, by("later"))
				e.ID += "/again"
				return e
			}()},
		want: "sekda",
	}, {
		name: "approvals of another name or request do not count; the Ready entry that followed does",
		entries: []sdv1.LedgerEntry{ready, le(sdv1.LedgerApproved, "2026-04-01T00:00:00Z", "a", "c.z.go.id", by("other")),
			le(sdv1.LedgerApproved, "2026-04-01T00:00:00Z", "x", b, by("stranger")),
			le(sdv1.LedgerRenamed, "2026-05-02T00:00:00Z", "a", b, from(a)), le(sdv1.LedgerReady, "2026-05-02T00:00:01Z", "a", b, by("sekda"))},
		want: "sekda",
	}, {
		name:    "nothing says",
		entries: []sdv1.LedgerEntry{ready, le(sdv1.LedgerRenamed, "2026-05-02T00:00:00Z", "a", b, from(a))},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			rep := Build(Input{Year: 2026, Now: at("2026-12-01T00:00:00Z").Time, Ledgers: pages("z", tc.entries...)})
			if len(rep.Renamed) != 1 {
				t.Fatalf("renamed: %+v", rep.Renamed)
			}
			if got := rep.Renamed[0].ApprovedBy; got != tc.want {
				t.Errorf("approvedBy %q, want %q", got, tc.want)
			}
			var md, csv bytes.Buffer
			_ = rep.Render(&md, "markdown")
			_ = rep.Render(&csv, "csv")
			wantMD := "| from a.z.go.id |"
			if tc.want != "" {
				wantMD = "| from a.z.go.id, approved by " + tc.want + " |"
			}
			if !strings.Contains(md.String(), wantMD) {
				t.Errorf("markdown lacks %q:\n%s", wantMD, md.String())
			}
			if wantCSV := "renamed,2026-0"; !strings.Contains(csv.String(), ","+tc.want+",\n") || !strings.Contains(csv.String(), wantCSV) {
				t.Errorf("csv lacks the approver %q:\n%s", tc.want, csv.String())
			}
		})
	}
}

// TestRetainedDeletion: a deletion with deletionPolicy Retain is told apart from one with
// Delete in every format; the retained site stays active.
func TestRetainedDeletion(t *testing.T) {
	addr := func(v string) func(*sdv1.LedgerEntry) { return func(e *sdv1.LedgerEntry) { e.Address = v } }
	rep := Build(Input{Year: 2026, Now: at("2026-12-01T00:00:00Z").Time, Ledgers: pages("z",
		le(sdv1.LedgerReady, "2026-02-01T00:00:00Z", "gone", "gone.z.go.id", addr("10.0.0.2")),
		le(sdv1.LedgerReady, "2026-02-01T00:00:00Z", "kept", "kept.z.go.id", addr("10.0.0.3")),
		le(sdv1.LedgerDeleted, "2026-03-01T00:00:00Z", "gone", "gone.z.go.id", addr("10.0.0.2")),
		le(sdv1.LedgerRetained, "2026-03-02T00:00:00Z", "kept", "kept.z.go.id", addr("10.0.0.3")),
		le(sdv1.LedgerReady, "2026-02-01T00:00:00Z", "shr", "shr.z.go.id", addr("10.0.0.9")),
		le(sdv1.LedgerDeleted, "2026-03-03T00:00:00Z", "shr", "shr.z.go.id", addr("10.0.0.9"), func(e *sdv1.LedgerEntry) { e.SharedAddress = true }),
	)})
	if len(rep.Deleted) != 3 || !rep.Deleted[2].SharedAddress || rep.Deleted[0].DeletionPolicy != sdv1.DeletionPolicyDelete || rep.Deleted[1].DeletionPolicy != sdv1.DeletionPolicyRetain {
		t.Fatalf("deleted: %+v", rep.Deleted)
	}
	if len(rep.Active) != 3 || rep.Active[0].Retained || !rep.Active[1].Retained || rep.Active[1].Deleted == nil {
		t.Fatalf("active: %+v", rep.Active)
	}
	// The next year only the retained site is still up.
	next := Build(Input{Year: 2027, Now: at("2027-12-01T00:00:00Z").Time, Ledgers: pages("z",
		le(sdv1.LedgerReady, "2026-02-01T00:00:00Z", "gone", "gone.z.go.id"), le(sdv1.LedgerReady, "2026-02-01T00:00:00Z", "kept", "kept.z.go.id"),
		le(sdv1.LedgerDeleted, "2026-03-01T00:00:00Z", "gone", "gone.z.go.id"), le(sdv1.LedgerRetained, "2026-03-02T00:00:00Z", "kept", "kept.z.go.id"))})
	if len(next.Active) != 1 || next.Active[0].FQDN != "kept.z.go.id" || len(next.Deleted) != 0 {
		t.Errorf("2027: %+v", next)
	}
	out := map[string]string{}
	for _, f := range []string{"markdown", "csv", "json"} {
		var buf bytes.Buffer
		if err := rep.Render(&buf, f); err != nil {
			t.Fatal(err)
		}
		out[f] = buf.String()
	}
	for f, want := range map[string][]string{
		"markdown": {"deleted: 3 (retained: 1)",
			"| 2026-03-01 | OPD gone | gone.z.go.id | address 10.0.0.2 released |",
			"| 2026-03-02 | OPD kept | kept.z.go.id | deleted, retained: site left in place, nothing released (address 10.0.0.3 kept) |",
			"| deleted 2026-03-02, retained: site left in place, nothing released |"},
		"csv": {"deleted,2026-03-01,z,OPD gone,gone.z.go.id,,10.0.0.2,,,deletionPolicy=Delete: address 10.0.0.2 released\n",
			"deleted,2026-03-03,z,OPD shr,shr.z.go.id,,10.0.0.9,,,deletionPolicy=Delete: address 10.0.0.9 kept: it is the zone's shared address\n",
			"deleted,2026-03-02,z,OPD kept,kept.z.go.id,,10.0.0.3,,,\"deletionPolicy=Retain: deleted, retained: site left in place, nothing released (address 10.0.0.3 kept)\"\n"},
	} {
		for _, w := range want {
			if !strings.Contains(out[f], w) {
				t.Errorf("%s lacks %q:\n%s", f, w, out[f])
			}
		}
	}
	for _, a := range []string{"10.0.0.3", "10.0.0.9"} {
		if strings.Contains(out["markdown"], a+" released") || strings.Contains(out["csv"], a+" released") {
			t.Errorf("a retained or shared address %s is reported released:\n%s\n%s", a, out["markdown"], out["csv"])
		}
	}
	var back Report
	if err := json.Unmarshal([]byte(out["json"]), &back); err != nil {
		t.Fatal(err)
	}
	if back.Deleted[1].DeletionPolicy != sdv1.DeletionPolicyRetain || !back.Active[1].Retained || back.Deleted[0].DeletionPolicy != sdv1.DeletionPolicyDelete {
		t.Errorf("json: %s", out["json"])
	}
}

// TestDescribeFromLedger: the change report of a request that is gone.
func TestDescribeFromLedger(t *testing.T) {
	zone := sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "z"}, Spec: sdv1.SubdomainZoneSpec{ServiceLevel: sdv1.ServiceLevel{
		Approval: &metav1.Duration{Duration: 24 * time.Hour}, Provisioning: &metav1.Duration{Duration: 4 * time.Hour}}}}
	full := func(e *sdv1.LedgerEntry) {
		e.Letter, e.Address, e.Namespace = "400/1/A/2026", "10.0.0.2", "opd-a"
	}
	first := le(sdv1.LedgerReady, "2026-03-02T06:00:02Z", "a", "a.z.go.id", full, by("kadis"), func(e *sdv1.LedgerEntry) {
		e.Seconds, e.ApprovalSeconds = secs(2), secs(30*3600)
	})
	for _, tc := range []struct {
		name    string
		query   string
		entries []sdv1.LedgerEntry
		want    []string
		not     []string
	}{{
		name: "deleted", query: "a",
		entries: []sdv1.LedgerEntry{first, le(sdv1.LedgerDeleted, "2026-09-10T01:00:00Z", "a", "a.z.go.id", full)},
		want: []string{"Change report (laporan hasil kegiatan): a\nThe request is gone; this is its record in the ledger.\n",
			"Letter:      400/1/A/2026", "OPD:         OPD a", "FQDN:        a.z.go.id", "Address:     10.0.0.2", "Namespace:   opd-a",
			"Approved:    by kadis at 2026-03-02T06:00:00Z",
			"requested  2026-03-01T00:00:00Z", "approved   after 30h0m0s (standard 24h0m0s: BREACHED), at 2026-03-02T06:00:00Z",
			"ready      after 2s (standard 4h0m0s: met), at 2026-03-02T06:00:02Z",
			"Deleted:     2026-09-10T01:00:00Z, deletionPolicy Delete: the site, DNS records and claims were removed; a.z.go.id and address 10.0.0.2 released"},
		not: []string{"Retain"},
	}, {
		name: "deleted from a shared zone", query: "a",
		entries: []sdv1.LedgerEntry{first, le(sdv1.LedgerDeleted, "2026-09-10T01:00:00Z", "a", "a.z.go.id", full, func(e *sdv1.LedgerEntry) { e.SharedAddress = true })},
		want:    []string{"Deleted:     2026-09-10T01:00:00Z, deletionPolicy Delete: the site, DNS records and claims were removed; a.z.go.id released (address 10.0.0.2 kept: it is the zone's shared address)"},
		not:     []string{"address 10.0.0.2 released"},
	}, {
		name: "retained after a rename", query: "a",
		entries: []sdv1.LedgerEntry{first, le(sdv1.LedgerApproved, "2026-05-01T00:00:00Z", "a", "b.z.go.id", by("sekda")),
			le(sdv1.LedgerRenamed, "2026-05-02T00:00:00Z", "a", "b.z.go.id", func(e *sdv1.LedgerEntry) { e.PreviousFQDN = "a.z.go.id" }),
			le(sdv1.LedgerRetained, "2026-09-10T01:00:00Z", "a", "b.z.go.id", full)},
		want: []string{"FQDN:        b.z.go.id", "Approved:    by kadis",
			"Renamed:\n  2026-05-02T00:00:00Z  a.z.go.id -> b.z.go.id (approved by sekda)",
			"Deleted:     2026-09-10T01:00:00Z, deletionPolicy Retain: the site, DNS records, Secret and claims were left in place; nothing released (b.z.go.id and 10.0.0.2 still held)"},
		not: []string{"Delete:", "released;"},
	}, {
		name: "rejected, then deleted", query: "r",
		entries: []sdv1.LedgerEntry{le(sdv1.LedgerRejected, "2026-03-02T00:00:00Z", "r", "r.z.go.id", func(e *sdv1.LedgerEntry) { e.Reason = "duplicate" })},
		want:    []string{"Approved:    no", "Rejected:    2026-03-02T00:00:00Z: duplicate", "no Deleted or Retained entry"},
	}, {
		// The operator's entry for the approval of a request deleted before it
		// served: dated at the approval, with its time-to-approval.
		name: "approved, deleted before it served", query: "u",
		entries: []sdv1.LedgerEntry{le(sdv1.LedgerApproved, "2026-03-02T06:00:00Z", "u", "u.z.go.id", by("kadis"), func(e *sdv1.LedgerEntry) {
			e.ID, e.Seconds = "u/Approved/unserved/u@1", secs(30*3600)
		})},
		want: []string{"FQDN:        u.z.go.id", "Approved:    by kadis at 2026-03-02T06:00:00Z", "requested  2026-03-01T00:00:00Z",
			"approved   after 30h0m0s (standard 24h0m0s: BREACHED), at 2026-03-02T06:00:00Z", "ready      -\n",
			"no Deleted or Retained entry (the request never held a name"},
	}, {
		// Approved for another name before it served (an Approved entry without
		// seconds), then deleted: the time is on the deletion's entry.
		name: "approved again, deleted before it served", query: "u",
		entries: []sdv1.LedgerEntry{
			le(sdv1.LedgerApproved, "2026-03-02T06:00:00Z", "u", "v.z.go.id", by("sekda")),
			le(sdv1.LedgerApproved, "2026-03-02T06:00:00Z", "u", "v.z.go.id", by("sekda"), func(e *sdv1.LedgerEntry) {
				e.ID, e.Seconds = "u/Approved/unserved/v@2", secs(3600)
			}),
			le(sdv1.LedgerDeleted, "2026-03-03T00:00:00Z", "u", "v.z.go.id", func(e *sdv1.LedgerEntry) { e.Address = "10.0.0.9" })},
		want: []string{"Approved:    by sekda at 2026-03-02T06:00:00Z", "requested  2026-03-02T05:00:00Z",
			"approved   after 1h0m0s (standard 24h0m0s: met)", "ready      -\n", "v.z.go.id and address 10.0.0.9 released"},
	}, {
		// User text that would forge a line of the report, or rewrite the terminal:
		// written as escapes.
		name: "forged lines", query: "f",
		entries: []sdv1.LedgerEntry{le(sdv1.LedgerRejected, "2026-03-02T00:00:00Z", "f", "f.z.go.id", func(e *sdv1.LedgerEntry) {
			e.OPD = "Dinas F\nApproved:    by kadis at 2026-03-02T00:00:00Z"
			e.Reason = "dup\x1b[2J\u202e"
		})},
		want: []string{`OPD:         Dinas F\u000aApproved:    by kadis at 2026-03-02T00:00:00Z`, "Approved:    no",
			`Rejected:    2026-03-02T00:00:00Z: dup\u001b[2J\u202e`},
		not: []string{"\nApproved:    by kadis", "\x1b", "\u202e"},
	}, {
		name: "a name used twice", query: "a",
		entries: []sdv1.LedgerEntry{le(sdv1.LedgerReady, "2025-03-02T00:00:00Z", "uid1", "a.z.go.id", named("a"), by("old")),
			le(sdv1.LedgerDeleted, "2025-04-02T00:00:00Z", "uid1", "a.z.go.id", named("a")),
			le(sdv1.LedgerReady, "2026-03-02T00:00:00Z", "uid2", "a.z.go.id", named("a"), by("new")),
			le(sdv1.LedgerRetained, "2026-04-02T00:00:00Z", "uid2", "a.z.go.id", named("a"))},
		want: []string{"(2 requests of this name, oldest first)", "Approved:    by old", "deletionPolicy Delete", "\n---\n", "Approved:    by new", "deletionPolicy Retain"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			found, err := Describe(&buf, tc.query, pages("z", tc.entries...), []sdv1.SubdomainZone{zone})
			if err != nil || !found {
				t.Fatalf("found %v, err %v", found, err)
			}
			out := buf.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("has %q:\n%s", n, out)
				}
			}
			if i, j := strings.Index(out, "by old"), strings.Index(out, "by new"); i > j {
				t.Errorf("not oldest first:\n%s", out)
			}
		})
	}
	var buf bytes.Buffer
	if found, err := Describe(&buf, "unknown", pages("z", first), nil); found || err != nil || buf.Len() != 0 {
		t.Errorf("unknown name: found %v, err %v, wrote %q", found, err, buf.String())
	}
}

// TestReadyAgainIsNoCreation: a site Ready since last year that is Ready again this
// year after an error or a refused rename, under the same name (a new generation, so
// a new Ready entry), was not created this year, and that entry's time since its
// approval months ago is no provisioning time.
func TestReadyAgainIsNoCreation(t *testing.T) {
	const a = "a.z.go.id"
	secs := func(n int64) func(*sdv1.LedgerEntry) { return func(e *sdv1.LedgerEntry) { e.Seconds = &n } }
	again := func(e *sdv1.LedgerEntry) { e.ID += "@3" }
	ledgers := pages("z", le(sdv1.LedgerReady, "2025-03-01T00:00:00Z", "a", a, secs(60)),
		le(sdv1.LedgerReady, "2026-05-01T00:00:00Z", "a", a, secs(36_000_000), again))
	zone := sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "z"},
		Spec: sdv1.SubdomainZoneSpec{ServiceLevel: sdv1.ServiceLevel{Provisioning: &metav1.Duration{Duration: 4 * time.Hour}}}}
	rep := Build(Input{Year: 2026, Zones: []sdv1.SubdomainZone{zone}, Ledgers: ledgers, Now: at("2026-06-01T00:00:00Z").Time})
	if len(rep.Created) != 0 {
		t.Errorf("created in 2026: %+v", rep.Created)
	}
	for _, zs := range rep.ServiceLevel {
		if zs.Provisioning.Count != 0 || zs.Provisioning.Breaches != 0 {
			t.Errorf("provisioning figures of zone %s: %+v", zs.Zone, zs.Provisioning)
		}
	}
	if len(rep.Active) != 1 {
		t.Errorf("active: %+v", rep.Active)
	}
	// The year it was created, it is: once.
	rep = Build(Input{Year: 2025, Zones: []sdv1.SubdomainZone{zone}, Ledgers: ledgers, Now: at("2026-06-01T00:00:00Z").Time})
	if len(rep.Created) != 1 {
		t.Errorf("created in 2025: %+v", rep.Created)
	}
}

// TestRenamedNameReadyAgain: a renamed name Ready again (after a refused rename, an
// error) is the rename's Ready only once: the later one is no provisioning sample.
func TestRenamedNameReadyAgain(t *testing.T) {
	const a, b = "a.z.go.id", "b.z.go.id"
	secs := func(n int64) func(*sdv1.LedgerEntry) { return func(e *sdv1.LedgerEntry) { e.Seconds = &n } }
	gen := func(g string) func(*sdv1.LedgerEntry) { return func(e *sdv1.LedgerEntry) { e.ID += "@" + g } }
	entries := []sdv1.LedgerEntry{
		le(sdv1.LedgerReady, "2026-03-01T00:00:00Z", "u", a, secs(5), gen("1")),
		le(sdv1.LedgerRenamed, "2026-04-01T00:00:00Z", "u", b, from(a), gen("2")),
		le(sdv1.LedgerReady, "2026-04-01T00:00:00Z", "u", b, secs(10), gen("2")),
		le(sdv1.LedgerReady, "2026-04-03T00:00:00Z", "u", b, secs(200_000), gen("4"))}
	ledgers := pages("z", entries...)
	zone := sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "z"},
		Spec: sdv1.SubdomainZoneSpec{ServiceLevel: sdv1.ServiceLevel{Provisioning: &metav1.Duration{Duration: 4 * time.Hour}}}}
	rep := Build(Input{Year: 2026, Zones: []sdv1.SubdomainZone{zone}, Ledgers: ledgers, Now: at("2026-06-01T00:00:00Z").Time})
	if len(rep.ServiceLevel) != 1 {
		t.Fatalf("service level: %+v", rep.ServiceLevel)
	}
	if p := rep.ServiceLevel[0].Provisioning; p.Count != 2 || p.Breaches != 0 {
		t.Errorf("provisioning: %d samples, %d breaches; want the creation and the rename, no breach", p.Count, p.Breaches)
	}
	if len(rep.Renamed) != 1 || rep.Renamed[0].ApprovalToReadySeconds == nil || *rep.Renamed[0].ApprovalToReadySeconds != 10 {
		t.Errorf("renamed: %+v", rep.Renamed)
	}
	// Renamed back to a name served before: its next Ready is that rename's.
	ledgers = pages("z", append(entries,
		le(sdv1.LedgerRenamed, "2026-05-01T00:00:00Z", "u", a, from(b), gen("5")),
		le(sdv1.LedgerReady, "2026-05-01T00:00:00Z", "u", a, secs(7), gen("5")))...)
	rep = Build(Input{Year: 2026, Zones: []sdv1.SubdomainZone{zone}, Ledgers: ledgers, Now: at("2026-06-01T00:00:00Z").Time})
	if p := rep.ServiceLevel[0].Provisioning; p.Count != 3 || p.Breaches != 0 {
		t.Errorf("after a rename back: %d samples, %d breaches; want 3 and none", p.Count, p.Breaches)
	}
}

// TestUnservedApprovalCounts: the approval of a request deleted before it served (the
// operator's Approved entry with its time-to-approval) counts in the year's
// time-to-approval against the standard, and makes no subdomain: none created, none
// active.
func TestUnservedApprovalCounts(t *testing.T) {
	zone := sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "z"}, Spec: sdv1.SubdomainZoneSpec{ServiceLevel: sdv1.ServiceLevel{
		Approval: &metav1.Duration{Duration: 24 * time.Hour}}}}
	unserved := le(sdv1.LedgerApproved, "2026-03-02T06:00:00Z", "u", "u.z.go.id", by("kadis"), func(e *sdv1.LedgerEntry) {
		e.ID, e.Seconds = "u/Approved/unserved/u@1", secs(30*3600)
	})
	rep := Build(Input{Year: 2026, Zones: []sdv1.SubdomainZone{zone}, Ledgers: pages("z", unserved), Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	if len(rep.Created) != 0 || len(rep.Active) != 0 || len(rep.Deleted) != 0 {
		t.Errorf("an approval that served nothing made a subdomain: created %+v, active %+v, deleted %+v", rep.Created, rep.Active, rep.Deleted)
	}
	if len(rep.ServiceLevel) != 1 {
		t.Fatalf("service level: %+v", rep.ServiceLevel)
	}
	if a := rep.ServiceLevel[0].Approval; a.Count != 1 || a.MedianSeconds != 30*3600 || a.Breaches != 1 {
		t.Errorf("time to approval: %+v, want 1 sample of 30h, 1 breach", a)
	}
}

// TestSweptDeletionNamesItsOPD: the Deleted entry the claim sweep writes for a request
// deleted without the operator's deletion (its finalizer removed by hand) has no OPD,
// letter or namespace - the request is gone - so the report takes them from the
// request's earlier entries.
func TestSweptDeletionNamesItsOPD(t *testing.T) {
	swept := func(e *sdv1.LedgerEntry) {
		e.OPD, e.Letter, e.Namespace, e.Address = "", "", "", "10.0.0.4"
		e.Reason = "the request was deleted without the operator's deletion"
	}
	rep := Build(Input{Year: 2026, Now: at("2026-12-01T00:00:00Z").Time, Ledgers: pages("z",
		le(sdv1.LedgerReady, "2026-02-01T00:00:00Z", "hand", "hand.z.go.id", func(e *sdv1.LedgerEntry) { e.Namespace, e.Address = "opd-hand", "10.0.0.4" }),
		le(sdv1.LedgerDeleted, "2026-03-01T00:00:00Z", "hand", "hand.z.go.id", swept),
	)})
	if len(rep.Deleted) != 1 || rep.Deleted[0].OPD != "OPD hand" {
		t.Fatalf("deleted: %+v", rep.Deleted)
	}
	if len(rep.Active) != 1 || rep.Active[0].OPD != "OPD hand" || rep.Active[0].Namespace != "opd-hand" {
		t.Fatalf("active: %+v", rep.Active)
	}
	var buf bytes.Buffer
	if err := rep.Render(&buf, "markdown"); err != nil {
		t.Fatal(err)
	}
	if w := "| 2026-03-01 | OPD hand | hand.z.go.id |"; !strings.Contains(buf.String(), w) {
		t.Errorf("markdown lacks %q:\n%s", w, buf.String())
	}
}

// TestInert: control and bidirectional formatting characters are escaped, other text
// (Indonesian, any script, punctuation) is left as it is.
func TestInert(t *testing.T) {
	for in, want := range map[string]string{
		"Dinas Kesehatan – Kab. Kubu Raya":   "Dinas Kesehatan – Kab. Kubu Raya",
		"Pemerintah Kota Pontianak (Pemkot)": "Pemerintah Kota Pontianak (Pemkot)",
		"a\nb":                               `a\u000ab`,
		"a\r\tb":                             `a\u000d\u0009b`,
		"\x1b[31mred":                        `\u001b[31mred`,
		"a\u009bb":                           `a\u009bb`,
		"a\x7fb":                             `a\u007fb`,
		"abc\u202edcba":                      `abc\u202edcba`,
		"x\u2066y\u2069":                     `x\u2066y\u2069`,
		"":                                   "",
	} {
		if got := Inert(in); got != want {
			t.Errorf("Inert(%q) = %q, want %q", in, got, want)
		}
	}
}
