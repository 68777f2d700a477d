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
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// Describe writes the change report of a request that is gone, from the ledger: every
// request of that name the ledgers know (a name may be used again after a deletion),
// oldest first. The ledger keeps the letter's number but not its date, nor the OPD's
// code and contact. It returns false, writing nothing, when no ledger entry has the
// name. zones give the service-level standards (the zones' current ones).
func Describe(w io.Writer, name string, ledgers []sdv1.SubdomainLedger, zones []sdv1.SubdomainZone) (bool, error) {
	var mine []*life
	for _, l := range fold(collect(ledgers, "", 0)) {
		if l.request == name {
			mine = append(mine, l)
		}
	}
	if len(mine) == 0 {
		return false, nil
	}
	zoneOf := map[string]*sdv1.SubdomainZone{}
	for i := range zones {
		zoneOf[zones[i].Name] = &zones[i]
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, "Change report (laporan hasil kegiatan): %s\n", name)
	fmt.Fprintf(b, "The request is gone; this is its record in the ledger")
	if len(mine) > 1 {
		fmt.Fprintf(b, " (%d requests of this name, oldest first)", len(mine))
	}
	b.WriteString(".\n")
	for i, l := range mine {
		if i > 0 {
			b.WriteString("\n---\n")
		}
		l.describe(b, zoneOf[l.zone])
	}
	_, err := io.WriteString(w, b.String())
	return true, err
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Verdict is a change report's judgement of a step that took d against the standard
// std: " (standard 4h0m0s: met)" or "...: BREACHED)", "" without a standard. Both
// change reports use it: describe of a live request and of one in the ledger.
func Verdict(d time.Duration, std *time.Duration) string {
	if std == nil {
		return ""
	}
	return fmt.Sprintf(" (standard %s: %s)", *std, map[bool]string{true: "met", false: "BREACHED"}[d <= *std])
}

// Standards are zone's service-level standards for approval and for provisioning, nil
// where it sets none or without a zone: what both change reports judge steps against.
func Standards(zone *sdv1.SubdomainZone) (approval, provisioning *time.Duration) {
	if zone == nil {
		return nil, nil
	}
	if d := zone.Spec.ServiceLevel.Approval; d != nil {
		approval = &d.Duration
	}
	if d := zone.Spec.ServiceLevel.Provisioning; d != nil {
		provisioning = &d.Duration
	}
	return approval, provisioning
}

// recorded is a standard the ledger recorded (seconds), else std: a step is judged
// against the standard in force when it was made.
func recorded(seconds *int64, std *time.Duration) *time.Duration {
	if seconds == nil {
		return std
	}
	if *seconds == 0 { // the zone had none then
		return nil
	}
	d := time.Duration(*seconds) * time.Second
	return &d
}

// describe writes one life's change report.
func (l *life) describe(b *strings.Builder, zone *sdv1.SubdomainZone) {
	// dash prints a value from the ledger, user text among them, on a terminal line.
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return Inert(s)
	}
	fmt.Fprintf(b, "\nZone:        %s\n", l.zone)
	fmt.Fprintf(b, "OPD:         %s\n", dash(l.opd))
	fmt.Fprintf(b, "Letter:      %s (the ledger keeps its number, not its date)\n", dash(l.letter))
	fmt.Fprintf(b, "FQDN:        %s\nAddress:     %s\nNamespace:   %s\n", dash(l.fqdn), dash(l.address), dash(l.namespace))
	requested, approved := l.requested, (*time.Time)(nil)
	if l.ready != nil && l.readySeconds != nil {
		a := l.ready.Add(-time.Duration(*l.readySeconds) * time.Second)
		approved = &a
		if requested == nil && l.approvalSeconds != nil {
			r := a.Add(-time.Duration(*l.approvalSeconds) * time.Second)
			requested = &r
		}
	}
	// An Approved entry with its time-to-approval: the approval of a request deleted
	// before it served (after any Approved entry of an approval given again, which
	// carries none), or the first approval as earlier versions wrote it.
	appStd, provStd := Standards(zone)
	appStd, provStd = recorded(l.approvalStd, appStd), recorded(l.provisioningStd, provStd)
	if i := slices.IndexFunc(l.approvals, func(e sdv1.LedgerEntry) bool { return e.Seconds != nil }); i >= 0 &&
		(l.ready == nil || !l.approvals[i].At.Time.After(*l.ready)) {
		a := l.approvals[i].At.UTC()
		approved = &a
		appStd = recorded(l.approvals[i].ApprovalStandardSeconds, appStd)
		if requested == nil {
			r := a.Add(-time.Duration(*l.approvals[i].Seconds) * time.Second)
			requested = &r
		}
	}
	switch {
	case l.firstApprover != "" && approved != nil:
		fmt.Fprintf(b, "Approved:    by %s at %s\n", dash(l.firstApprover), rfc(*approved))
	case l.firstApprover != "":
		fmt.Fprintf(b, "Approved:    by %s\n", dash(l.firstApprover))
	case approved != nil:
		fmt.Fprintf(b, "Approved:    at %s (approver not recorded)\n", rfc(*approved))
	case l.rejected != nil:
		fmt.Fprintf(b, "Approved:    no\n")
	default:
		fmt.Fprintf(b, "Approved:    not recorded\n")
	}
	fmt.Fprintf(b, "\nTimeline (against the zone's service level):\n")
	at := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return rfc(*t)
	}
	fmt.Fprintf(b, "  requested  %s\n", at(requested))
	stage := func(label string, from, to *time.Time, std *time.Duration) {
		if from == nil || to == nil {
			fmt.Fprintf(b, "  %-10s %s\n", label, at(to))
			return
		}
		d := to.Sub(*from)
		fmt.Fprintf(b, "  %-10s after %s%s, at %s\n", label, d.Round(time.Second), Verdict(d, std), rfc(*to))
	}
	stage("approved", requested, approved, appStd)
	stage("ready", approved, l.ready, provStd)
	if len(l.renames) > 0 {
		fmt.Fprintf(b, "\nRenamed:\n")
		for _, e := range l.renames {
			by := l.renameApprover(e)
			if by == "" {
				by = "not recorded"
			}
			fmt.Fprintf(b, "  %s  %s -> %s (approved by %s)\n", rfc(e.At.Time), e.PreviousFQDN, e.FQDN, dash(by))
		}
	}
	switch {
	case l.rejected != nil && l.ready != nil && l.rejected.At.Time.After(*l.ready):
		// A served site's rename rejected: the site stayed.
		fmt.Fprintf(b, "\nRejected:    %s: the rename to %s: %s\n", rfc(l.rejected.At.Time), dash(l.rejected.FQDN), dash(l.rejected.Reason))
	case l.rejected != nil:
		fmt.Fprintf(b, "\nRejected:    %s: %s\n", rfc(l.rejected.At.Time), dash(l.rejected.Reason))
	}
	switch {
	case l.end == nil:
		fmt.Fprintf(b, "\nDeleted:     no Deleted or Retained entry (the request never held a name, or its deletion was not recorded)\n")
	case l.retained():
		fmt.Fprintf(b, "\nDeleted:     %s, deletionPolicy Retain: the site, DNS records, Secret and claims were left in place; nothing released (%s and %s still held)\n",
			rfc(l.end.At.Time), dash(l.end.FQDN), dash(l.end.Address))
	case l.end.SharedAddress:
		fmt.Fprintf(b, "\nDeleted:     %s, deletionPolicy Delete: the site, DNS records and claims were removed; %s released (address %s kept: it is the zone's shared address)\n",
			rfc(l.end.At.Time), dash(l.end.FQDN), dash(l.end.Address))
	default:
		fmt.Fprintf(b, "\nDeleted:     %s, deletionPolicy Delete: the site, DNS records and claims were removed; %s and address %s released\n",
			rfc(l.end.At.Time), dash(l.end.FQDN), dash(l.end.Address))
	}
}
