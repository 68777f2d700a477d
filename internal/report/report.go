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

// Package report builds the annual subdomain report (laporan tahunan) from the ledgers
// and the live requests, and renders it as Markdown, CSV or JSON. It is pure.
package report

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// Input is what the report is made from.
type Input struct {
	Year     int
	Zone     string // "" for every zone
	Zones    []sdv1.SubdomainZone
	Requests []sdv1.SubdomainRequest
	Ledgers  []sdv1.SubdomainLedger
}

// Site is a managed subdomain.
type Site struct {
	OPD        string    `json:"opd"`
	FQDN       string    `json:"fqdn"`
	Address    string    `json:"address"`
	Namespace  string    `json:"namespace"`
	Created    time.Time `json:"created"`
	ApprovedBy string    `json:"approvedBy"`
}

// Event is a ledger entry in the report.
type Event struct {
	At           time.Time `json:"at"`
	Zone         string    `json:"zone"`
	Request      string    `json:"request"`
	OPD          string    `json:"opd"`
	FQDN         string    `json:"fqdn"`
	PreviousFQDN string    `json:"previousFQDN,omitempty"`
	Address      string    `json:"address,omitempty"`
	ApprovedBy   string    `json:"approvedBy,omitempty"`
	Reason       string    `json:"reason,omitempty"`
}

// Stats are durations against a standard.
type Stats struct {
	Count           int     `json:"count"`
	MedianSeconds   int64   `json:"medianSeconds"`
	P90Seconds      int64   `json:"p90Seconds"`
	StandardSeconds int64   `json:"standardSeconds,omitempty"`
	Breaches        int     `json:"breaches"`
	samples         []int64 // for building
}

// ZoneStats are one zone's service-level figures.
type ZoneStats struct {
	Zone         string `json:"zone"`
	Approval     Stats  `json:"timeToApproval"`
	Provisioning Stats  `json:"approvalToReady"`
}

// Report is the annual report.
type Report struct {
	Year         int         `json:"year"`
	Zone         string      `json:"zone,omitempty"`
	Active       []Site      `json:"active"`
	Created      []Event     `json:"created"`
	Renamed      []Event     `json:"renamed"`
	Deleted      []Event     `json:"deleted"`
	Rejected     []Event     `json:"rejected"`
	ServiceLevel []ZoneStats `json:"serviceLevel"`
}

// Build makes the report.
func Build(in Input) Report {
	rep := Report{Year: in.Year, Zone: in.Zone, Active: []Site{}, Created: []Event{}, Renamed: []Event{}, Deleted: []Event{}, Rejected: []Event{}, ServiceLevel: []ZoneStats{}}
	zoneOf := map[string]*sdv1.SubdomainZone{}
	for i := range in.Zones {
		zoneOf[in.Zones[i].Name] = &in.Zones[i]
	}
	for _, r := range in.Requests {
		if (in.Zone != "" && r.Spec.Zone != in.Zone) || (r.Status.Phase != sdv1.PhaseReady && r.Status.Phase != sdv1.PhaseScheduled) {
			continue
		}
		s := Site{OPD: r.Spec.OPD.Name, FQDN: r.Status.FQDN, Address: r.Status.Address, Namespace: r.Status.Namespace, Created: r.CreationTimestamp.UTC()}
		if r.Status.Approval != nil {
			s.ApprovedBy = r.Status.Approval.ApprovedBy
		}
		rep.Active = append(rep.Active, s)
	}
	slices.SortFunc(rep.Active, func(a, b Site) int { return cmp.Compare(a.FQDN, b.FQDN) })

	stats := map[string]*ZoneStats{}
	renamedTo := map[string]bool{} // request/fqdn reached by a rename
	seenID := map[string]bool{}
	var entries []struct {
		zone string
		e    sdv1.LedgerEntry
	}
	ledgers := slices.Clone(in.Ledgers)
	slices.SortFunc(ledgers, func(a, b sdv1.SubdomainLedger) int {
		return cmp.Or(cmp.Compare(a.Spec.Zone, b.Spec.Zone), cmp.Compare(a.Spec.Year, b.Spec.Year),
			cmp.Compare(a.Spec.Month, b.Spec.Month), cmp.Compare(a.Spec.Page, b.Spec.Page))
	})
	for _, l := range ledgers {
		if int(l.Spec.Year) != in.Year || (in.Zone != "" && l.Spec.Zone != in.Zone) {
			continue
		}
		for _, e := range l.Spec.Entries {
			// An entry may repeat on a later page of the month (ids are unique
			// within a page): the first one counts.
			if seenID[e.ID] {
				continue
			}
			seenID[e.ID] = true
			entries = append(entries, struct {
				zone string
				e    sdv1.LedgerEntry
			}{l.Spec.Zone, e})
			if e.Type == sdv1.LedgerRenamed {
				renamedTo[e.Request+"/"+e.FQDN] = true
			}
		}
	}
	slices.SortStableFunc(entries, func(a, b struct {
		zone string
		e    sdv1.LedgerEntry
	}) int {
		return a.e.At.Compare(b.e.At.Time)
	})
	for _, x := range entries {
		e := x.e
		ev := Event{At: e.At.UTC(), Zone: x.zone, Request: e.Request, OPD: e.OPD, FQDN: e.FQDN, PreviousFQDN: e.PreviousFQDN,
			Address: e.Address, ApprovedBy: e.ApprovedBy, Reason: e.Reason}
		zs := stats[x.zone]
		if zs == nil {
			zs = &ZoneStats{Zone: x.zone}
			if z := zoneOf[x.zone]; z != nil {
				if d := z.Spec.ServiceLevel.Approval; d != nil {
					zs.Approval.StandardSeconds = int64(d.Seconds())
				}
				if d := z.Spec.ServiceLevel.Provisioning; d != nil {
					zs.Provisioning.StandardSeconds = int64(d.Seconds())
				}
			}
			stats[x.zone] = zs
		}
		switch e.Type {
		case sdv1.LedgerReady:
			if !renamedTo[e.Request+"/"+e.FQDN] {
				rep.Created = append(rep.Created, ev)
			}
			if e.Seconds != nil {
				zs.Provisioning.add(*e.Seconds)
			}
			if e.ApprovalSeconds != nil {
				zs.Approval.add(*e.ApprovalSeconds)
			}
		case sdv1.LedgerApproved:
			if e.Seconds != nil {
				zs.Approval.add(*e.Seconds)
			}
		case sdv1.LedgerRenamed:
			rep.Renamed = append(rep.Renamed, ev)
		case sdv1.LedgerDeleted, sdv1.LedgerRetained:
			rep.Deleted = append(rep.Deleted, ev)
		case sdv1.LedgerRejected:
			rep.Rejected = append(rep.Rejected, ev)
		}
	}
	for _, zs := range stats {
		zs.Approval.finish()
		zs.Provisioning.finish()
		rep.ServiceLevel = append(rep.ServiceLevel, *zs)
	}
	slices.SortFunc(rep.ServiceLevel, func(a, b ZoneStats) int { return cmp.Compare(a.Zone, b.Zone) })
	return rep
}

func (s *Stats) add(v int64) {
	s.samples = append(s.samples, v)
	if s.StandardSeconds > 0 && v > s.StandardSeconds {
		s.Breaches++
	}
}

func (s *Stats) finish() {
	s.Count = len(s.samples)
	if s.Count == 0 {
		return
	}
	slices.Sort(s.samples)
	s.MedianSeconds = percentile(s.samples, 50)
	s.P90Seconds = percentile(s.samples, 90)
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []int64, p int) int64 {
	rank := (p*len(sorted) + 99) / 100
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// Render writes the report as "markdown", "csv" or "json".
func (r Report) Render(w io.Writer, format string) error {
	switch format {
	case "markdown", "md":
		return r.markdown(w)
	case "csv":
		return r.csv(w)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return fmt.Errorf("unknown format %q: use markdown, csv or json", format)
}

func dur(sec int64) string {
	if sec == 0 {
		return "-"
	}
	return (time.Duration(sec) * time.Second).String()
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func (r Report) markdown(w io.Writer) error {
	var b strings.Builder
	scope := "all zones"
	if r.Zone != "" {
		scope = "zone " + r.Zone
	}
	fmt.Fprintf(&b, "# Subdomain report %d (%s)\n\n", r.Year, scope)
	fmt.Fprintf(&b, "Active: %d, created: %d, renamed: %d, deleted: %d, rejected: %d.\n\n",
		len(r.Active), len(r.Created), len(r.Renamed), len(r.Deleted), len(r.Rejected))
	fmt.Fprintf(&b, "## Managed subdomains\n\n| OPD | FQDN | Address | Namespace | Created | Approved by |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, s := range r.Active {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", s.OPD, s.FQDN, s.Address, s.Namespace, day(s.Created), s.ApprovedBy)
	}
	events := func(title string, evs []Event, extra func(Event) string) {
		fmt.Fprintf(&b, "\n## %s\n\n", title)
		if len(evs) == 0 {
			b.WriteString("None.\n")
			return
		}
		b.WriteString("| Date | OPD | FQDN | Detail |\n| --- | --- | --- | --- |\n")
		for _, e := range evs {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", day(e.At), e.OPD, e.FQDN, extra(e))
		}
	}
	events("Created", r.Created, func(e Event) string { return "approved by " + e.ApprovedBy + ", address " + e.Address })
	events("Renamed", r.Renamed, func(e Event) string { return "from " + e.PreviousFQDN })
	events("Deleted", r.Deleted, func(e Event) string { return "address " + e.Address + " released" })
	events("Rejected", r.Rejected, func(e Event) string { return e.Reason })
	b.WriteString("\n## Service level\n\n| Zone | Stage | Count | Median | p90 | Standard | Breaches |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, z := range r.ServiceLevel {
		for _, st := range []struct {
			name string
			s    Stats
		}{{"time to approval", z.Approval}, {"approval to ready", z.Provisioning}} {
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %d |\n", z.Zone, st.name, st.s.Count, dur(st.s.MedianSeconds),
				dur(st.s.P90Seconds), dur(st.s.StandardSeconds), st.s.Breaches)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r Report) csv(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"section", "date", "zone", "opd", "fqdn", "previous_fqdn", "address", "namespace", "approved_by", "detail"})
	for _, s := range r.Active {
		_ = cw.Write([]string{"active", day(s.Created), "", s.OPD, s.FQDN, "", s.Address, s.Namespace, s.ApprovedBy, ""})
	}
	for _, sec := range []struct {
		name string
		evs  []Event
	}{{"created", r.Created}, {"renamed", r.Renamed}, {"deleted", r.Deleted}, {"rejected", r.Rejected}} {
		for _, e := range sec.evs {
			_ = cw.Write([]string{sec.name, day(e.At), e.Zone, e.OPD, e.FQDN, e.PreviousFQDN, e.Address, "", e.ApprovedBy, e.Reason})
		}
	}
	for _, z := range r.ServiceLevel {
		for _, st := range []struct {
			name string
			s    Stats
		}{{"time_to_approval", z.Approval}, {"approval_to_ready", z.Provisioning}} {
			detail := fmt.Sprintf("count=%d median_s=%d p90_s=%d standard_s=%d breaches=%d",
				st.s.Count, st.s.MedianSeconds, st.s.P90Seconds, st.s.StandardSeconds, st.s.Breaches)
			_ = cw.Write([]string{"service_level_" + st.name, "", z.Zone, "", "", "", "", "", "", detail})
		}
	}
	cw.Flush()
	return cw.Error()
}
