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
	"cmp"
	"slices"
	"strings"
	"time"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// entry is a ledger entry with the zone and year of the page it is on.
type entry struct {
	zone string
	year int
	e    sdv1.LedgerEntry
}

// collect returns the distinct entries of the ledgers of zone ("" for every zone) up to
// and including maxYear (0: every year), in time order. An entry may repeat on a later
// page (ids are unique within a page only): the first one in page order counts, so an
// entry written again in a later month or year (a request Ready again after a
// Conflict) is not a second event.
func collect(ledgers []sdv1.SubdomainLedger, zone string, maxYear int) []entry {
	ls := slices.Clone(ledgers)
	slices.SortFunc(ls, func(a, b sdv1.SubdomainLedger) int {
		return cmp.Or(cmp.Compare(a.Spec.Zone, b.Spec.Zone), cmp.Compare(a.Spec.Year, b.Spec.Year),
			cmp.Compare(a.Spec.Month, b.Spec.Month), cmp.Compare(max(a.Spec.Page, 1), max(b.Spec.Page, 1)))
	})
	seen := map[string]bool{}
	var out []entry
	for _, l := range ls {
		if (zone != "" && l.Spec.Zone != zone) || (maxYear != 0 && int(l.Spec.Year) > maxYear) {
			continue
		}
		for _, e := range l.Spec.Entries {
			if seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			out = append(out, entry{zone: l.Spec.Zone, year: int(l.Spec.Year), e: e})
		}
	}
	slices.SortStableFunc(out, func(a, b entry) int { return a.e.At.Compare(b.e.At.Time) })
	return out
}

// uidOf is the request UID an entry's id starts with (<request UID>/<type>/<what>): it
// tells apart two requests of the same name, one deleted and a later one.
func uidOf(e sdv1.LedgerEntry) string {
	if uid, _, ok := strings.Cut(e.ID, "/"); ok && uid != "" {
		return uid
	}
	return e.Request
}

// life is one request's life as its zone's ledger tells it.
type life struct {
	zone, uid                string
	request, opd, letter     string
	fqdn, address, namespace string // the latest known
	approvedBy               string // the latest approver known
	firstApprover            string
	requested                *time.Time // a Requested entry (earlier versions)
	// ready is the first time it served: its first Ready entry (or a Renamed one, had
	// the Ready entry been lost).
	ready           *time.Time
	readySeconds    *int64 // approval to ready, of the first Ready entry
	approvalSeconds *int64 // request to approval, of the first Ready entry
	// The standards of the first Ready entry (the zone's service level then), nil
	// where it recorded none.
	approvalStd, provisioningStd *int64
	approvals                    []sdv1.LedgerEntry
	readies                      []sdv1.LedgerEntry
	renames                      []sdv1.LedgerEntry
	end                          *sdv1.LedgerEntry // Deleted or Retained
	rejected                     *sdv1.LedgerEntry
}

// retained tells a deletion with deletionPolicy Retain: the site, DNS records, Secret
// and claims were left in place and nothing was released.
func (l *life) retained() bool { return l.end != nil && l.end.Type == sdv1.LedgerRetained }

// fold makes the lives of the entries (in time order), in the order they began.
func fold(entries []entry) []*life {
	byUID := map[string]*life{}
	var lives []*life
	for _, x := range entries {
		e := x.e
		key := x.zone + "\x00" + uidOf(e)
		l := byUID[key]
		if l == nil {
			l = &life{zone: x.zone, uid: uidOf(e)}
			byUID[key] = l
			lives = append(lives, l)
		}
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&l.request, e.Request)
		set(&l.opd, e.OPD)
		set(&l.letter, e.Letter)
		at := e.At.UTC()
		switch e.Type {
		case sdv1.LedgerRequested:
			if l.requested == nil {
				l.requested = &at
			}
		case sdv1.LedgerApproved:
			l.approvals = append(l.approvals, e)
			set(&l.approvedBy, e.ApprovedBy)
			if l.fqdn == "" {
				// The name approved, until one serves: all a request deleted
				// before it served has to show.
				l.fqdn = e.FQDN
			}
			if l.firstApprover == "" {
				l.firstApprover = e.ApprovedBy
			}
		case sdv1.LedgerReady:
			l.readies = append(l.readies, e)
			if l.ready == nil {
				l.ready, l.readySeconds, l.approvalSeconds = &at, e.Seconds, e.ApprovalSeconds
				l.approvalStd, l.provisioningStd = e.ApprovalStandardSeconds, e.ProvisioningStandardSeconds
				if l.firstApprover == "" {
					l.firstApprover = e.ApprovedBy
				}
			}
			set(&l.fqdn, e.FQDN)
			set(&l.address, e.Address)
			set(&l.namespace, e.Namespace)
			set(&l.approvedBy, e.ApprovedBy)
		case sdv1.LedgerRenamed:
			l.renames = append(l.renames, e)
			if l.ready == nil {
				l.ready = &at
			}
			set(&l.fqdn, e.FQDN)
			set(&l.address, e.Address)
			set(&l.namespace, e.Namespace)
		case sdv1.LedgerDeleted, sdv1.LedgerRetained:
			if l.end == nil {
				end := e
				l.end = &end
			}
			set(&l.fqdn, e.FQDN)
			set(&l.address, e.Address)
			set(&l.namespace, e.Namespace)
		case sdv1.LedgerRejected:
			rej := e
			l.rejected = &rej
		}
	}
	return lives
}

// renameApprover is who approved the rename e of l: the entry's own approvedBy; else the
// request's last approval of that name at or before the rename (an Approved entry,
// written for every approval after the first); else the Ready entry of the new name
// that followed the rename (it carries the approval on record then). "" if none says.
func (l *life) renameApprover(e sdv1.LedgerEntry) string {
	if e.ApprovedBy != "" {
		return e.ApprovedBy
	}
	for _, a := range slices.Backward(l.approvals) {
		if a.FQDN == e.FQDN && !a.At.After(e.At.Time) && a.ApprovedBy != "" {
			return a.ApprovedBy
		}
	}
	for _, r := range l.readies {
		if r.FQDN == e.FQDN && !r.At.Before(&e.At) && r.ApprovedBy != "" {
			return r.ApprovedBy
		}
	}
	return ""
}

// names indexes when each life took each name of its zone: its Ready and Renamed
// entries, by zone and name. takenAfter looks a name up in it instead of walking every
// life for every retained one (quadratic: minutes at 100,000 entries).
type names map[string][]nameTaken

type nameTaken struct {
	l  *life
	at time.Time
}

func indexNames(lives []*life) names {
	idx := names{}
	for _, l := range lives {
		for _, es := range [][]sdv1.LedgerEntry{l.readies, l.renames} {
			for _, e := range es {
				k := l.zone + "\x00" + e.FQDN
				idx[k] = append(idx[k], nameTaken{l: l, at: e.At.Time})
			}
		}
	}
	return idx
}

// takenAfter tells whether another request of l's zone took l's name (a Ready or
// Renamed entry for it) after l ended and before before: the claims of a retained
// site were removed by hand and the name went on to someone else.
func (idx names) takenAfter(l *life, before time.Time) bool {
	if l.end == nil || l.fqdn == "" {
		return false
	}
	for _, t := range idx[l.zone+"\x00"+l.fqdn] {
		if t.l != l && t.at.After(l.end.At.Time) && t.at.Before(before) {
			return true
		}
	}
	return false
}
