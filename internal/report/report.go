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
	Year  int
	Zone  string // "" for every zone
	Zones []sdv1.SubdomainZone
	// Requests are the live requests: in the current year's report a request serving
	// now counts as active even if the ledger lacks its record.
	Requests []sdv1.SubdomainRequest
	// Ledgers are every ledger page: the years before Year tell what was already
	// serving when the year began.
	Ledgers []sdv1.SubdomainLedger
	// Now is when the report is made (zero: the clock's time); Year is the current
	// year when Now is in it.
	Now time.Time
}

// Site is a subdomain active in the year: it served at some time during it.
type Site struct {
	Zone      string `json:"zone"`
	Request   string `json:"request"`
	OPD       string `json:"opd"`
	FQDN      string `json:"fqdn"` // the name at the year's end (or at the deletion)
	Address   string `json:"address"`
	Namespace string `json:"namespace"`
	// Created is when it first served (its first Ready in the ledger), or the request's
	// creation when the ledger has no record of it.
	Created    time.Time `json:"created"`
	ApprovedBy string    `json:"approvedBy"`
	// Phase is the request's phase now; only in the current year's report.
	Phase string `json:"phase,omitempty"`
	// Deleted is when the request was deleted, if that was before the year ended.
	Deleted *time.Time `json:"deleted,omitempty"`
	// Retained says the deletion had deletionPolicy Retain: the site, DNS records,
	// Secret and claims were left in place and nothing was released, so the site still
	// serves (no longer managed by the operator) and stays active in later years until
	// the ledger shows its name taken by another request.
	Retained bool `json:"retained,omitempty"`
}

// State is the site's state in words: at the year's end, or now in the current year.
func (s Site) State() string {
	switch {
	case s.Retained:
		return "deleted " + day(*s.Deleted) + ", retained: site left in place, nothing released"
	case s.Deleted != nil:
		return "deleted " + day(*s.Deleted)
	case s.Phase != "":
		return s.Phase
	}
	return "serving"
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
	// SharedAddress says Address is the zone's shared address: a deletion releases
	// nothing of it.
	SharedAddress bool   `json:"sharedAddress,omitempty"`
	ApprovedBy    string `json:"approvedBy,omitempty"`
	Reason        string `json:"reason,omitempty"`
	// DeletionPolicy of a deletion: Delete (the site, DNS records and claims were
	// removed, the address released) or Retain (all left in place, nothing released).
	DeletionPolicy sdv1.DeletionPolicy `json:"deletionPolicy,omitempty"`
	// TimeToApprovalSeconds (request to approval) of a creation, and
	// ApprovalToReadySeconds (approval to serving) of a creation or a rename, as the
	// ledger recorded them; absent where it did not.
	TimeToApprovalSeconds  *int64 `json:"timeToApprovalSeconds,omitempty"`
	ApprovalToReadySeconds *int64 `json:"approvalToReadySeconds,omitempty"`
	// OverStandard names the stages that took longer than the zone's service level:
	// timeToApproval, approvalToReady.
	OverStandard []string `json:"overStandard,omitempty"`
	// ApprovalStandardSeconds and ProvisioningStandardSeconds are the standards its
	// times were judged against: the zone's when the ledger recorded them (the zone's
	// now for entries written before the ledger kept them).
	ApprovalStandardSeconds     int64 `json:"approvalStandardSeconds,omitempty"`
	ProvisioningStandardSeconds int64 `json:"provisioningStandardSeconds,omitempty"`
}

// Stage names, as in ZoneStats' JSON.
const (
	stageApproval     = "timeToApproval"
	stageProvisioning = "approvalToReady"
)

// timing sets e's times against the zone's standards (0: none).
func (e *Event) timing(toApproval, toReady *int64, approvalStd, readyStd int64) {
	e.TimeToApprovalSeconds, e.ApprovalToReadySeconds = toApproval, toReady
	if toApproval != nil {
		e.ApprovalStandardSeconds = approvalStd
		if approvalStd > 0 && *toApproval > approvalStd {
			e.OverStandard = append(e.OverStandard, stageApproval)
		}
	}
	if toReady != nil {
		e.ProvisioningStandardSeconds = readyStd
		if readyStd > 0 && *toReady > readyStd {
			e.OverStandard = append(e.OverStandard, stageProvisioning)
		}
	}
}

// standardOf is the standard an entry recorded (the zone's service level when it was
// written; 0: it had none), else - an entry of an earlier version - the zone's now
// (0: none).
func standardOf(recorded *int64, now int64) int64 {
	if recorded != nil {
		return *recorded
	}
	return now
}

// times is e's times in words, each against its standard where over it: for the
// markdown report.
func (e Event) times() string {
	var parts []string
	add := func(what string, v *int64, std int64, stage string) {
		if v == nil {
			return
		}
		p := what + " " + (time.Duration(*v) * time.Second).String()
		if slices.Contains(e.OverStandard, stage) {
			p += " (over the " + dur(std) + " standard)"
		}
		parts = append(parts, p)
	}
	add("time to approval", e.TimeToApprovalSeconds, e.ApprovalStandardSeconds, stageApproval)
	add("approval to ready", e.ApprovalToReadySeconds, e.ProvisioningStandardSeconds, stageProvisioning)
	return strings.Join(parts, ", ")
}

// timesCSV is e's times as key=value pairs: for the CSV report's detail column.
func (e Event) timesCSV() string {
	var parts []string
	if v := e.TimeToApprovalSeconds; v != nil {
		parts = append(parts, fmt.Sprintf("time_to_approval_s=%d", *v))
	}
	if v := e.ApprovalToReadySeconds; v != nil {
		parts = append(parts, fmt.Sprintf("approval_to_ready_s=%d", *v))
	}
	if len(e.OverStandard) > 0 {
		over := make([]string, len(e.OverStandard))
		for i, st := range e.OverStandard {
			over[i] = map[string]string{stageApproval: "time_to_approval", stageProvisioning: "approval_to_ready"}[st]
		}
		parts = append(parts, "over_standard="+strings.Join(over, ","))
	}
	return strings.Join(parts, " ")
}

// deletionDetail is a deletion's effect in words.
func (e Event) deletionDetail() string {
	if e.DeletionPolicy == sdv1.DeletionPolicyRetain {
		return "deleted, retained: site left in place, nothing released (address " + e.Address + " kept)"
	}
	if e.SharedAddress {
		return "address " + e.Address + " kept: it is the zone's shared address"
	}
	return "address " + e.Address + " released"
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
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	entries := collect(in.Ledgers, in.Zone, in.Year)
	lives := fold(entries)
	lifeOf := map[string]*life{}
	for _, l := range lives {
		lifeOf[l.zone+"\x00"+l.uid] = l
	}
	rep.Active = active(in, lives, now.UTC().Year() == in.Year)

	stats := map[string]*ZoneStats{}
	// renamePending is a uid/fqdn a rename reached whose Ready has not come yet: the
	// next Ready of it is that rename's, once; a later one (Ready again after an
	// error, a refused rename) is no provisioning.
	renamePending := map[string]bool{}
	// readies are the Ready entries by uid/fqdn, in time order: a rename's
	// approval-to-ready is on the Ready entry of its new name that follows it.
	readies := map[string][]sdv1.LedgerEntry{}
	for _, x := range entries {
		if x.e.Type == sdv1.LedgerReady {
			readies[uidOf(x.e)+"/"+x.e.FQDN] = append(readies[uidOf(x.e)+"/"+x.e.FQDN], x.e)
		}
	}
	// firstApproval is a request's time-to-approval from its Approved entry before its
	// first Ready, as earlier versions wrote it.
	firstApproval, readySeen := map[string]*int64{}, map[string]bool{}
	// opdOf is each request's OPD from its entries so far: the Deleted entry the claim
	// sweep writes for a request gone without the operator's deletion has none.
	opdOf := map[string]string{}
	for _, x := range entries {
		e := x.e
		if e.OPD != "" {
			opdOf[x.zone+"\x00"+uidOf(e)] = e.OPD
		}
		// A request's first Ready is its creation. A later Ready of a name it already
		// served (Ready again after an error, a refused rename or a spec edit) is
		// neither a creation nor a provisioning; a rename's is a rename's.
		firstReady := e.Type == sdv1.LedgerReady && !readySeen[uidOf(e)]
		renamed := false // a rename's Ready
		switch e.Type {
		case sdv1.LedgerRenamed:
			renamePending[uidOf(e)+"/"+e.FQDN] = true
		case sdv1.LedgerApproved:
			if uid := uidOf(e); !readySeen[uid] && firstApproval[uid] == nil {
				firstApproval[uid] = e.Seconds
			}
		case sdv1.LedgerReady:
			readySeen[uidOf(e)] = true
			if key := uidOf(e) + "/" + e.FQDN; renamePending[key] {
				renamed = true
				delete(renamePending, key)
			}
		}
		if x.year != in.Year {
			continue
		}
		ev := Event{At: e.At.UTC(), Zone: x.zone, Request: e.Request, OPD: e.OPD, FQDN: e.FQDN, PreviousFQDN: e.PreviousFQDN,
			Address: e.Address, SharedAddress: e.SharedAddress, ApprovedBy: e.ApprovedBy, Reason: e.Reason}
		if ev.OPD == "" {
			ev.OPD = opdOf[x.zone+"\x00"+uidOf(e)]
		}
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
			if !renamed && !firstReady {
				continue
			}
			appStd := standardOf(e.ApprovalStandardSeconds, zs.Approval.StandardSeconds)
			provStd := standardOf(e.ProvisioningStandardSeconds, zs.Provisioning.StandardSeconds)
			if !renamed {
				toApproval := e.ApprovalSeconds
				if toApproval == nil {
					toApproval = firstApproval[uidOf(e)]
				}
				ev.timing(toApproval, e.Seconds, appStd, provStd)
				rep.Created = append(rep.Created, ev)
			}
			if e.Seconds != nil {
				zs.Provisioning.add(*e.Seconds, provStd, e.ProvisioningStandardSeconds, zoneOf[x.zone] == nil)
			}
			if e.ApprovalSeconds != nil {
				zs.Approval.add(*e.ApprovalSeconds, appStd, e.ApprovalStandardSeconds, zoneOf[x.zone] == nil)
			}
		case sdv1.LedgerApproved:
			if e.Seconds != nil {
				std := standardOf(e.ApprovalStandardSeconds, zs.Approval.StandardSeconds)
				zs.Approval.add(*e.Seconds, std, e.ApprovalStandardSeconds, zoneOf[x.zone] == nil)
			}
		case sdv1.LedgerRenamed:
			// The rename's time to approval: its Approved entry (the last of its
			// name before it), written with one since this version.
			var toApproval *int64
			appStd := zs.Approval.StandardSeconds
			if l := lifeOf[x.zone+"\x00"+uidOf(e)]; l != nil {
				ev.ApprovedBy = l.renameApprover(e)
				for _, a := range l.approvals {
					if a.FQDN == e.FQDN && !a.At.After(e.At.Time) && a.Seconds != nil && l.ready != nil && !a.At.Time.Before(*l.ready) {
						toApproval, appStd = a.Seconds, standardOf(a.ApprovalStandardSeconds, zs.Approval.StandardSeconds)
					}
				}
			}
			for _, r := range readies[uidOf(e)+"/"+e.FQDN] {
				if !r.At.Before(&e.At) {
					ev.timing(toApproval, r.Seconds, appStd, standardOf(r.ProvisioningStandardSeconds, zs.Provisioning.StandardSeconds))
					break
				}
			}
			rep.Renamed = append(rep.Renamed, ev)
		case sdv1.LedgerDeleted, sdv1.LedgerRetained:
			if l := lifeOf[x.zone+"\x00"+uidOf(e)]; l != nil && l.ready == nil {
				// A request that never served (a Conflict, a full pool) gave back a
				// name it had claimed: no subdomain was deleted (describe shows it).
				continue
			}
			ev.DeletionPolicy = sdv1.DeletionPolicyDelete
			if e.Type == sdv1.LedgerRetained {
				ev.DeletionPolicy = sdv1.DeletionPolicyRetain
			}
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

// active lists the subdomains that served at some time during the year, from the
// ledger (lives holds the entries up to the year's end): first Ready on or before the
// year's end and not deleted before it began. Deleted ones count in the year of their
// deletion; retained ones (deletionPolicy Retain: the site stays up) in later years too,
// until another request takes the name. The ledger has no entry for a request that
// stops serving without being deleted (Conflict, Failed), so such a request counts as
// serving from its first Ready on. In the current year a live request that is Ready or
// Scheduled now counts even without a ledger record, and live ones show their phase now.
func active(in Input, lives []*life, current bool) []Site {
	start := time.Date(in.Year, time.January, 1, 0, 0, 0, 0, time.UTC)
	live := map[string]*sdv1.SubdomainRequest{}
	for i := range in.Requests {
		r := &in.Requests[i]
		if in.Zone == "" || r.Spec.Zone == in.Zone {
			live[r.Spec.Zone+"\x00"+string(r.UID)] = r
		}
	}
	sites := []Site{}
	listed := map[string]bool{}
	taken := indexNames(lives)
	for _, l := range lives {
		if l.ready == nil {
			continue // never served
		}
		if l.end != nil && l.end.At.Time.Before(start) && (!l.retained() || taken.takenAfter(l, start)) {
			continue
		}
		s := Site{Zone: l.zone, Request: l.request, OPD: l.opd, FQDN: l.fqdn, Address: l.address, Namespace: l.namespace,
			Created: *l.ready, ApprovedBy: l.approvedBy}
		if l.end != nil {
			at := l.end.At.UTC()
			s.Deleted, s.Retained = &at, l.retained()
		} else if r := live[l.zone+"\x00"+l.uid]; r != nil && current {
			liveSite(&s, r)
		}
		listed[l.zone+"\x00"+l.uid] = true
		sites = append(sites, s)
	}
	if current {
		for key, r := range live {
			if listed[key] || (r.Status.Phase != sdv1.PhaseReady && r.Status.Phase != sdv1.PhaseScheduled) {
				continue
			}
			s := Site{Zone: r.Spec.Zone, Request: r.Name, OPD: r.Spec.OPD.Name, Created: r.CreationTimestamp.UTC()}
			liveSite(&s, r)
			sites = append(sites, s)
		}
	}
	slices.SortFunc(sites, func(a, b Site) int {
		return cmp.Or(cmp.Compare(a.FQDN, b.FQDN), a.Created.Compare(b.Created), cmp.Compare(a.Request, b.Request))
	})
	return sites
}

// liveSite updates s from its live request: what it serves now and its phase.
func liveSite(s *Site, r *sdv1.SubdomainRequest) {
	s.Phase = string(r.Status.Phase)
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&s.OPD, r.Spec.OPD.Name)
	set(&s.FQDN, r.Status.FQDN)
	set(&s.Address, r.Status.Address)
	set(&s.Namespace, r.Status.Namespace)
	if a := r.Status.Approval; a != nil && a.ApprovedBy != "" {
		s.ApprovedBy = a.ApprovedBy
	}
}

// add counts a time against std, the standard in force when it was recorded. The
// zone's standard shown is its standard now; for a zone that is gone, the last one the
// ledger recorded (gone says so; recorded is the entry's own).
func (s *Stats) add(v, std int64, recorded *int64, gone bool) {
	s.samples = append(s.samples, v)
	if std > 0 && v > std {
		s.Breaches++
	}
	if gone && recorded != nil {
		s.StandardSeconds = *recorded
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
	retained := 0
	for _, e := range r.Deleted {
		if e.DeletionPolicy == sdv1.DeletionPolicyRetain {
			retained++
		}
	}
	fmt.Fprintf(&b, "Active: %d, created: %d, renamed: %d, deleted: %d (retained: %d), rejected: %d.\n\n",
		len(r.Active), len(r.Created), len(r.Renamed), len(r.Deleted), retained, len(r.Rejected))
	fmt.Fprintf(&b, "## Managed subdomains\n\nEvery subdomain that served at some time in %d.\n\n", r.Year)
	b.WriteString("| OPD | FQDN | Address | Namespace | Created | Approved by | State |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, s := range r.Active {
		row(&b, s.OPD, s.FQDN, s.Address, s.Namespace, day(s.Created), s.ApprovedBy, s.State())
	}
	events := func(title string, evs []Event, extra func(Event) string) {
		fmt.Fprintf(&b, "\n## %s\n\n", title)
		if len(evs) == 0 {
			b.WriteString("None.\n")
			return
		}
		b.WriteString("| Date | OPD | FQDN | Detail |\n| --- | --- | --- | --- |\n")
		for _, e := range evs {
			row(&b, day(e.At), e.OPD, e.FQDN, extra(e))
		}
	}
	withTimes := func(detail string, e Event) string {
		if t := e.times(); t != "" {
			return detail + "; " + t
		}
		return detail
	}
	events("Created", r.Created, func(e Event) string {
		return withTimes("approved by "+e.ApprovedBy+", address "+e.Address, e)
	})
	events("Renamed", r.Renamed, func(e Event) string {
		if e.ApprovedBy == "" {
			return withTimes("from "+e.PreviousFQDN, e)
		}
		return withTimes("from "+e.PreviousFQDN+", approved by "+e.ApprovedBy, e)
	})
	events("Deleted", r.Deleted, Event.deletionDetail)
	events("Rejected", r.Rejected, func(e Event) string {
		if e.PreviousFQDN != "" { // a served site's rename: the site stayed
			return "rename from " + e.PreviousFQDN + " (the site stays): " + e.Reason
		}
		return e.Reason
	})
	b.WriteString("\n## Service level\n\n| Zone | Stage | Count | Median | p90 | Standard | Breaches |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, z := range r.ServiceLevel {
		for _, st := range []struct {
			name string
			s    Stats
		}{{"time to approval", z.Approval}, {"approval to ready", z.Provisioning}} {
			median, p90 := "-", "-" // no samples; a median of 0s is a figure
			if st.s.Count > 0 {
				median = (time.Duration(st.s.MedianSeconds) * time.Second).String()
				p90 = (time.Duration(st.s.P90Seconds) * time.Second).String()
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %d |\n", z.Zone, st.name, st.s.Count, median, p90,
				dur(st.s.StandardSeconds), st.s.Breaches)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// row writes a markdown table row. Cells hold user text (an OPD's name, a rejection's
// reason, an approver's name): a '|' would split a cell and a line break end the row.
func row(b *strings.Builder, cells ...string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + Inert(cellEscape.Replace(c)) + " |")
	}
	b.WriteString("\n")
}

var cellEscape = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ")

// safeCSV writes records whose fields a spreadsheet will not run: a field of user text
// starting with =, +, -, @, a tab or a carriage return would be read as a formula by
// Excel or LibreOffice, so it gets a leading apostrophe (as OWASP advises).
type safeCSV struct{ *csv.Writer }

func (w safeCSV) Write(record []string) error {
	out := make([]string, len(record))
	for i, f := range record {
		if f != "" && strings.ContainsRune("=+-@\t\r", rune(f[0])) {
			f = "'" + f
		}
		out[i] = f
	}
	return w.Writer.Write(out)
}

func (r Report) csv(w io.Writer) error {
	cw := safeCSV{csv.NewWriter(w)}
	_ = cw.Write([]string{"section", "date", "zone", "opd", "fqdn", "previous_fqdn", "address", "namespace", "approved_by", "detail"})
	for _, s := range r.Active {
		_ = cw.Write([]string{"active", day(s.Created), s.Zone, s.OPD, s.FQDN, "", s.Address, s.Namespace, s.ApprovedBy, s.State()})
	}
	for _, sec := range []struct {
		name string
		evs  []Event
	}{{"created", r.Created}, {"renamed", r.Renamed}, {"deleted", r.Deleted}, {"rejected", r.Rejected}} {
		for _, e := range sec.evs {
			detail := e.Reason
			switch sec.name {
			case "deleted":
				detail = "deletionPolicy=" + string(e.DeletionPolicy) + ": " + e.deletionDetail()
			case "created", "renamed":
				detail = e.timesCSV()
			}
			_ = cw.Write([]string{sec.name, day(e.At), e.Zone, e.OPD, e.FQDN, e.PreviousFQDN, e.Address, "", e.ApprovedBy, detail})
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
