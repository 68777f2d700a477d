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
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/controllers"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// unusableWindow names a time zone that does not exist. The CRD refuses it now
// (TestValidation); a zone stored before that rule came may still have it, and
// storedBeforeTimeZoneRule writes one so.
func unusableWindow() *sdv1.ChangeWindow {
	cw := openWindow()
	cw.TimeZone = "Asia/Makasar"
	return cw
}

// storedBeforeTimeZoneRule runs write - a write of a zone with unusableWindow - under
// the zone CRD as it was before the rule on changeWindow.timeZone, retrying until the
// API server takes it, then puts the current CRD back and waits until it refuses such
// a zone again: the zone is then one stored before an upgrade, which CRD ratcheting
// keeps writable as long as a write leaves the time zone alone.
func storedBeforeTimeZoneRule(t *testing.T, write func() error) {
	t.Helper()
	ctx := context.Background()
	dropped, restore, err := testenv.DropCRDRules(ctx, k8s, "subdomainzones.subdomain.kominfo.go.id",
		[]string{"spec", "changeWindow", "timeZone"}, "getHours")
	if err != nil {
		t.Fatal(err)
	}
	if dropped == 0 {
		t.Fatal("the zone CRD has no rule on changeWindow.timeZone that reads the time zone database")
	}
	var werr error
	if err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		werr = write()
		return werr == nil, nil
	}); err != nil {
		t.Fatalf("the zone CRD without the time zone rule never took the write: %v (%v)", werr, err)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	probe := newZone("tzprobe", "tzprobe.go.id", func(z *sdv1.SubdomainZone) { z.Spec.ChangeWindow = unusableWindow() })
	if err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		return apierrors.IsInvalid(k8s.Create(ctx, probe.DeepCopy(), client.DryRunAll)), nil
	}); err != nil {
		t.Fatalf("the current zone CRD never refused an unknown time zone again: %v", err)
	}
}

// ledgerOf lists the ledger entries of request in zone.
func ledgerOf(t *testing.T, zone, request string) []sdv1.LedgerEntry {
	t.Helper()
	ledgers := &sdv1.SubdomainLedgerList{}
	if err := k8s.List(context.Background(), ledgers); err != nil {
		t.Fatal(err)
	}
	var out []sdv1.LedgerEntry
	for _, l := range ledgers.Items {
		for _, e := range l.Spec.Entries {
			if l.Spec.Zone == zone && e.Request == request {
				out = append(out, e)
			}
		}
	}
	return out
}

// waitForLedger waits until the ledger entries of request in zone satisfy cond.
func waitForLedger(t *testing.T, zone, request string, cond func([]sdv1.LedgerEntry) bool) error {
	t.Helper()
	var last []sdv1.LedgerEntry
	err := testenv.Eventually(context.Background(), timeout, interval, func() (bool, error) {
		last = ledgerOf(t, zone, request)
		return cond(last), nil
	})
	if err != nil {
		return fmt.Errorf("%w; entries %+v", err, last)
	}
	return nil
}

// countEntries counts the entries of type typ by key.
func countEntries(entries []sdv1.LedgerEntry, typ sdv1.LedgerEntryType, key func(sdv1.LedgerEntry) string) map[string]int {
	n := map[string]int{}
	for _, e := range entries {
		if e.Type == typ {
			n[key(e)]++
		}
	}
	return n
}

// TestUnusableWindowHoldsDeletion: a deletion that an unusable change window holds
// has not begun. Its phase is Terminating, as for a deletion under way, yet when the
// zone is fixed with a closed window the site must wait for the window, not go at once.
func TestUnusableWindowHoldsDeletion(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("winrusak", "winrusak.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.153.0.0/24"}
		z.Spec.ChangeWindow = openWindow()
	}))
	create(t, newRequest("perkim", "winrusak", "perkim", approved("kadis")))
	waitPhase(t, "perkim", sdv1.PhaseReady)

	storedBeforeTimeZoneRule(t, func() error {
		return patchZone("winrusak", func(z *sdv1.SubdomainZone) { z.Spec.ChangeWindow = unusableWindow() })
	})
	// The deletion reads the zone from the operator's cache: it must see the new window.
	waitCached(t, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "winrusak"}})
	if err := k8s.Delete(ctx, getRequest(t, "perkim")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "perkim", "held by the unusable window", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Phase == sdv1.PhaseTerminating && condition(r, sdv1.ConditionReady).Reason == "InvalidChangeWindow"
	})
	setWindow(t, "winrusak", closedWindow())
	r := waitPhase(t, "perkim", sdv1.PhaseScheduled)
	if c := condition(r, sdv1.ConditionReconciling); !strings.Contains(c.Message, "the deletion of perkim.winrusak.go.id waits") {
		t.Errorf("scheduled deletion: %+v", c)
	}
	ns := &corev1.Namespace{}
	if err := k8s.Get(ctx, types.NamespacedName{Name: "opd-perkim"}, ns); err != nil || !ns.DeletionTimestamp.IsZero() {
		t.Errorf("the site must stay until the window opens: %v %v", err, ns.DeletionTimestamp)
	}
	mark := requestReconciles("perkim")
	editRequest(t, "perkim", func(r *sdv1.SubdomainRequest) { r.Labels = map[string]string{"touched": "1"} })
	waitReconciled(t, "perkim", mark)
	if r := getRequest(t, "perkim"); r.Status.Phase != sdv1.PhaseScheduled {
		t.Errorf("still held: %s", statusString(r))
	}
	setWindow(t, "winrusak", openWindow())
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "perkim"}})
}

// TestRenameBeforeReadyIgnoresWindow: a request that never became Ready serves no name,
// so renaming it is no rename and the window does not hold it: it goes on under the
// new name at once, and the old one is given back.
func TestRenameBeforeReadyIgnoresWindow(t *testing.T) {
	create(t, newZone("winbaru", "winbaru.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.154.0.0/24"}
		z.Spec.ChangeWindow = closedWindow()
		z.Spec.DNS.Namespace = "winbaru-dns" // made at the end: until then nothing is Ready
	}))
	create(t, newRequest("damkar", "winbaru", "damkar", approved("kadis")))
	waitFor(t, "damkar", "waiting for the DNS namespace", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionDNSReady).Reason == "DNSNamespaceMissing" && r.Status.FQDN == "damkar.winbaru.go.id"
	})

	time.Sleep(1100 * time.Millisecond) // timestamps are to the second
	renameApproved(t, "damkar", "pemadam")
	r := waitFor(t, "damkar", "renamed", func(r *sdv1.SubdomainRequest) bool { return r.Status.FQDN == "pemadam.winbaru.go.id" })
	if r.Status.Phase == sdv1.PhaseScheduled || len(r.Status.PreviousNames) != 0 {
		t.Errorf("a name never served is not held to the window: %s %+v", statusString(r), r.Status.PreviousNames)
	}
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "damkar.winbaru.go.id"}})
	if got := hostsOf(t, "opd-damkar", "damkar"); !slices.Equal(got, []string{"pemadam.winbaru.go.id"}) {
		t.Errorf("hosts after the rename = %v", got)
	}
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "winbaru-dns"}})
	r = waitPhase(t, "damkar", sdv1.PhaseReady)
	if r.Status.FQDN != "pemadam.winbaru.go.id" || len(r.Status.PreviousNames) != 0 {
		t.Errorf("Ready: %s %+v", statusString(r), r.Status.PreviousNames)
	}
	// The approval of the name that is served is the one provisioning answers to:
	// approvedAt (the service level, describe) and the Ready entry agree.
	if a := r.Status.Approval; a == nil || a.Name != "pemadam" || !r.Status.ApprovedAt.Equal(a.ApprovedAt) {
		t.Errorf("approvedAt %v, approval %+v: want the approval of pemadam", r.Status.ApprovedAt, a)
	}
	for _, e := range ledgerOf(t, "winbaru", "damkar") {
		if e.Type == sdv1.LedgerReady && e.FQDN != "pemadam.winbaru.go.id" {
			t.Errorf("the name that never served has a Ready entry: %+v", e)
		}
		if e.Type == sdv1.LedgerReady && (e.Seconds == nil || e.ApprovalSeconds == nil ||
			*e.ApprovalSeconds != int64(r.Status.ApprovedAt.Sub(r.CreationTimestamp.Time).Seconds()) ||
			*e.Seconds-int64(r.Status.ReadyAt.Sub(r.Status.ApprovedAt.Time).Seconds()) > 1 ||
			*e.Seconds < int64(r.Status.ReadyAt.Sub(r.Status.ApprovedAt.Time).Seconds())) {
			// Seconds rounds the operator's clock up, the status keeps whole seconds.
			t.Errorf("Ready entry %s: seconds %v, approval seconds %v; status created %v approved %v ready %v", e.FQDN,
				ptrVal(e.Seconds), ptrVal(e.ApprovalSeconds), r.CreationTimestamp, r.Status.ApprovedAt, r.Status.ReadyAt)
		}
	}
}

func ptrVal(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestUnusableWindowKeepsRenameUpkeep: a rename that an unusable window holds leaves
// the served name its upkeep (drift repair), and says so; the request ends Failed.
func TestUnusableWindowKeepsRenameUpkeep(t *testing.T) {
	ctx := context.Background()
	zone := newZone("wintz", "wintz.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.155.0.0/24"}
		z.Spec.ChangeWindow = unusableWindow()
	})
	storedBeforeTimeZoneRule(t, func() error { return k8s.Create(ctx, zone.DeepCopy()) })
	create(t, newRequest("satpol", "wintz", "satpol", approved("kadis")))
	waitPhase(t, "satpol", sdv1.PhaseReady)

	renameApproved(t, "satpol", "satpolpp")
	r := waitFor(t, "satpol", "held by the unusable window", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Phase == sdv1.PhaseFailed && condition(r, sdv1.ConditionReady).Reason == "InvalidChangeWindow"
	})
	if c := condition(r, sdv1.ConditionReady); !strings.Contains(c.Message, "satpol.wintz.go.id keeps serving") || r.Status.FQDN != "satpol.wintz.go.id" {
		t.Errorf("held rename: %s", statusString(r))
	}
	secret := &corev1.Secret{}
	key := types.NamespacedName{Namespace: "opd-satpol", Name: sdv1.CredentialsSecretName}
	if err := k8s.Get(ctx, key, secret); err != nil {
		t.Fatal(err)
	}
	password, uid := string(secret.Data[sdv1.SecretKeyPassword]), secret.UID
	if err := k8s.Delete(ctx, secret); err != nil {
		t.Fatal(err)
	}
	// Made again: another object (the operator may do it before a poll sees it gone).
	secret = &corev1.Secret{}
	err := testenv.WaitFor(ctx, k8s, key, secret, timeout, interval, func(s *corev1.Secret) bool {
		return s.UID != uid && len(s.Data[sdv1.SecretKeyPassword]) > 0
	})
	if err != nil {
		t.Fatalf("the served site's Secret was not made again: %v", err)
	}
	if string(secret.Data[sdv1.SecretKeyPassword]) == password {
		t.Error("a Secret made again has a new password (the old one is gone with it)")
	}

	setWindow(t, "wintz", openWindow())
	waitServing(t, "satpol", "satpolpp.wintz.go.id")
}

// TestZoneReasonsQuoted: a zone with two faults says both: its unusable time zone,
// and besides the address conflict it has (a request of another zone holds its shared
// address), so that fixing one does not bring up the other unannounced.
func TestZoneReasonsQuoted(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("kolamtz", "kolamtz.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.29.0/30"} }))
	create(t, newRequest("pemegang", "kolamtz", "pemegang", approved("kadis")))
	if r := waitPhase(t, "pemegang", sdv1.PhaseReady); r.Status.Address != "10.178.29.1" {
		t.Fatalf("pemegang got %s, want 10.178.29.1", r.Status.Address)
	}
	zone := newZone("bersamatz", "bersamatz.go.id", func(z *sdv1.SubdomainZone) {
		sharedAt("10.178.29.1")(z)
		z.Spec.ChangeWindow = unusableWindow()
	})
	storedBeforeTimeZoneRule(t, func() error { return k8s.Create(ctx, zone.DeepCopy()) })
	z, err := zoneReadyWhen("bersamatz", func(c metav1.Condition) bool { return c.Reason == "InvalidTimeZone" })
	if err != nil {
		t.Fatalf("zone bersamatz: %+v: %v", z.Status.Conditions, err)
	}
	c := meta.FindStatusCondition(z.Status.Conditions, sdv1.ConditionReady)
	if c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "Asia/Makasar") ||
		!strings.Contains(c.Message, "besides, AddressConflict") || !strings.Contains(c.Message, `SubdomainRequest "pemegang"`) {
		t.Errorf("zone bersamatz Ready = %+v, want InvalidTimeZone quoting the AddressConflict", c)
	}
	// To kstatus the zone failed: it stays so until someone changes it.
	if s := zoneCondition(z, sdv1.ConditionStalled); s.Status != metav1.ConditionTrue || s.Reason != "InvalidTimeZone" ||
		zoneCondition(z, sdv1.ConditionReconciling).Status != "" {
		t.Errorf("zone bersamatz with an unusable time zone: %+v", z.Status.Conditions)
	}
	if err := k8s.Delete(ctx, z); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "bersamatz"}})

	// A namespace to come is in progress, but the time zone quoted besides it stays
	// until someone fixes it: Stalled, whichever reason Ready names first.
	zone = newZone("nstz", "nstz.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.178.29.128/25"}
		z.Spec.DNS.Namespace = "dns-nstz"
		z.Spec.ChangeWindow = unusableWindow()
	})
	storedBeforeTimeZoneRule(t, func() error { return k8s.Create(ctx, zone.DeepCopy()) })
	z, err = zoneReadyWhen("nstz", func(c metav1.Condition) bool {
		return c.Reason == "NamespaceMissing" && strings.Contains(c.Message, "besides, InvalidTimeZone")
	})
	if err != nil {
		t.Fatalf("zone nstz: %+v: %v", z.Status.Conditions, err)
	}
	if s := zoneCondition(z, sdv1.ConditionStalled); s.Status != metav1.ConditionTrue || zoneCondition(z, sdv1.ConditionReconciling).Status != "" {
		t.Errorf("zone nstz, its namespace missing and its time zone unusable: %+v", z.Status.Conditions)
	}
	if err := k8s.Delete(ctx, z); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "nstz"}})
}

// TestApprovalGivenAgain: an approval withdrawn and given again is a new decision on
// record - who and when - and so is one given by another approver. A request that
// never served answers to the approval given again: approvedAt moves to it.
func TestApprovalGivenAgain(t *testing.T) {
	create(t, newZone("setuju", "setuju.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.156.0.0/24"}
	}))
	create(t, newRequest("sosial", "setuju", "sosial", approved("kadis")))
	first := waitPhase(t, "sosial", sdv1.PhaseReady).Status.Approval

	annotate(t, "sosial", map[string]*string{sdv1.AnnotationApproved: nil})
	waitFor(t, "sosial", "withdrawn", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionApproved).Reason == "ApprovalWithdrawn"
	})
	time.Sleep(1100 * time.Millisecond) // timestamps are to the second
	annotate(t, "sosial", map[string]*string{sdv1.AnnotationApproved: ptr("sosial")})
	r := waitFor(t, "sosial", "approved again", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionApproved).Status == metav1.ConditionTrue
	})
	again := r.Status.Approval
	if again == nil || again.ApprovedBy != "kadis" || !again.ApprovedAt.After(first.ApprovedAt.Time) {
		t.Errorf("approval given again: %+v, first %+v", again, first)
	}
	if !r.Status.ApprovedAt.Equal(first.ApprovedAt) {
		t.Errorf("a served request's approvedAt is its first approval: %v, want %v", r.Status.ApprovedAt, first.ApprovedAt)
	}
	annotate(t, "sosial", map[string]*string{sdv1.AnnotationApprovedBy: ptr("sekda")})
	r = waitFor(t, "sosial", "approved by sekda", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Approval != nil && r.Status.Approval.ApprovedBy == "sekda"
	})
	if c := condition(r, sdv1.ConditionApproved); !strings.Contains(c.Message, "approved by sekda") {
		t.Errorf("Approved: %+v", c)
	}
	err := waitForLedger(t, "setuju", "sosial", func(entries []sdv1.LedgerEntry) bool {
		by := countEntries(entries, sdv1.LedgerApproved, func(e sdv1.LedgerEntry) string { return e.ApprovedBy })
		return by["kadis"] == 1 && by["sekda"] == 1 && len(by) == 2
	})
	if err != nil {
		t.Errorf("ledger: %v", err)
	}

	// Never served (its DNS namespace missing): approvedAt follows the approval given again.
	create(t, newZone("setuju2", "setuju2.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.157.0.0/24"}
		z.Spec.DNS.Namespace = "setuju2-dns"
	}))
	create(t, newRequest("disnaker", "setuju2", "disnaker", approved("kadis")))
	r = waitFor(t, "disnaker", "approved, waiting for DNS", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionDNSReady).Reason == "DNSNamespaceMissing"
	})
	firstAt := r.Status.ApprovedAt
	annotate(t, "disnaker", map[string]*string{sdv1.AnnotationApproved: nil})
	waitFor(t, "disnaker", "withdrawn", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionApproved).Reason == "AwaitingApproval"
	})
	time.Sleep(1100 * time.Millisecond)
	annotate(t, "disnaker", map[string]*string{sdv1.AnnotationApproved: ptr("disnaker"), sdv1.AnnotationApprovedBy: ptr("sekda")})
	r = waitFor(t, "disnaker", "approved again", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionApproved).Status == metav1.ConditionTrue
	})
	if r.Status.ApprovedAt == nil || !r.Status.ApprovedAt.After(firstAt.Time) || !r.Status.ApprovedAt.Equal(r.Status.Approval.ApprovedAt) {
		t.Errorf("approvedAt %v, first %v, record %+v", r.Status.ApprovedAt, firstAt, r.Status.Approval)
	}
	// Another approver's stamp on the same name is a decision on record, not a new
	// start: approvedAt stays.
	againAt := r.Status.ApprovedAt
	time.Sleep(1100 * time.Millisecond)
	annotate(t, "disnaker", map[string]*string{sdv1.AnnotationApprovedBy: ptr("bupati")})
	r = waitFor(t, "disnaker", "approved by bupati", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Approval != nil && r.Status.Approval.ApprovedBy == "bupati"
	})
	if !r.Status.ApprovedAt.Equal(againAt) {
		t.Errorf("another approver's stamp moved approvedAt: %v, was %v", r.Status.ApprovedAt, againAt)
	}
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "setuju2-dns"}})
	waitPhase(t, "disnaker", sdv1.PhaseReady)
	err = waitForLedger(t, "setuju2", "disnaker", func(entries []sdv1.LedgerEntry) bool {
		return slices.ContainsFunc(entries, func(e sdv1.LedgerEntry) bool { return e.Type == sdv1.LedgerReady && e.ApprovedBy == "bupati" })
	})
	if err != nil {
		t.Errorf("the Ready entry credits the approval given again: %v", err)
	}
}

// TestRejectionDecides: a rejection is a decision in time, not a wait past the
// approval standard; and a rejected name the zone refuses is Rejected all the same,
// on record in the ledger.
func TestRejectionDecides(t *testing.T) {
	create(t, newZone("tolakan", "tolakan.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.158.0.0/24"}
		z.Spec.ReservedNames = []string{"mail"}
		z.Spec.ServiceLevel = sdv1.ServiceLevel{Approval: &metav1.Duration{Duration: 2 * time.Second}}
	}))
	create(t, newRequest("pariwisata", "tolakan", "pariwisata", func(r *sdv1.SubdomainRequest) {
		r.Annotations = map[string]string{sdv1.AnnotationRejected: "bukan wewenang"}
	}))
	create(t, newRequest("mail", "tolakan", "mail", func(r *sdv1.SubdomainRequest) {
		r.Annotations = map[string]string{sdv1.AnnotationRejected: "nama dicadangkan"}
	}))
	waitPhase(t, "pariwisata", sdv1.PhaseRejected)
	r := waitPhase(t, "mail", sdv1.PhaseRejected)
	if c := condition(r, sdv1.ConditionApproved); c.Reason != "Rejected" || !strings.Contains(c.Message, "nama dicadangkan") {
		t.Errorf("Approved: %+v", c)
	}
	err := waitForLedger(t, "tolakan", "mail", func(entries []sdv1.LedgerEntry) bool {
		return slices.ContainsFunc(entries, func(e sdv1.LedgerEntry) bool { return e.Type == sdv1.LedgerRejected && e.Reason == "nama dicadangkan" })
	})
	if err != nil {
		t.Errorf("ledger: %v", err)
	}
	// A new reason is a new rejection on record; the first stays.
	annotate(t, "mail", map[string]*string{sdv1.AnnotationRejected: ptr("gunakan surel")})
	err = waitForLedger(t, "tolakan", "mail", func(entries []sdv1.LedgerEntry) bool {
		reasons := countEntries(entries, sdv1.LedgerRejected, func(e sdv1.LedgerEntry) string { return e.Reason })
		return reasons["nama dicadangkan"] == 1 && reasons["gunakan surel"] == 1 && len(reasons) == 2
	})
	if err != nil {
		t.Errorf("ledger after a new reason: %v", err)
	}
	// Past the 2 s standard, with a reconcile after it: no breach.
	time.Sleep(time.Until(r.CreationTimestamp.Add(3 * time.Second)))
	mark := requestReconciles("pariwisata")
	editRequest(t, "pariwisata", func(r *sdv1.SubdomainRequest) { r.Labels = map[string]string{"touched": "1"} })
	waitReconciled(t, "pariwisata", mark)
	if c := condition(getRequest(t, "pariwisata"), controllers.ConditionServiceLevel); c.Reason == "ApprovalOverdue" {
		t.Errorf("a rejection in time reported as a breach: %+v", c)
	}
}

// TestRefusedRenameWritesNothing: a served request whose rename is refused - to a name
// another holds (Conflict), or one the zone reserves (Failed) - writes its status once
// and then nothing on later passes: the step that claims its served name sets
// NameAvailable True before the refusal sets it False again, and that must not count
// as a change (a new lastTransitionTime, and a write, on every pass).
func TestRefusedRenameWritesNothing(t *testing.T) {
	create(t, newZone("diam", "diam.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.159.0.0/24"}
		z.Spec.ReservedNames = []string{"www"}
	}))
	create(t, newRequest("arsipda", "diam", "arsipda", approved("kadis")), newRequest("perpusda", "diam", "perpusda", approved("kadis")))
	waitPhase(t, "arsipda", sdv1.PhaseReady)
	waitPhase(t, "perpusda", sdv1.PhaseReady)
	for _, tc := range []struct {
		to    string
		phase sdv1.Phase
	}{{"perpusda", sdv1.PhaseConflict}, {"www", sdv1.PhaseFailed}} {
		renameApproved(t, "arsipda", tc.to)
		// The approval too: the spec's change alone already ends Failed for "www"
		// (with the approval stale), and the approving write's pass must not be
		// counted among the later ones.
		waitFor(t, "arsipda", string(tc.phase)+" keeping its name", func(r *sdv1.SubdomainRequest) bool {
			approved := condition(r, sdv1.ConditionApproved)
			return r.Status.Phase == tc.phase && r.Status.ObservedGeneration == r.Generation &&
				strings.Contains(condition(r, sdv1.ConditionNameAvailable).Message, "arsipda.diam.go.id keeps serving") &&
				approved.Status == metav1.ConditionTrue && strings.Contains(approved.Message, fmt.Sprintf("%q approved", tc.to))
		})
		// Let the write that reported it reach the cache, then two more passes.
		waitReconciled(t, "arsipda", requestReconciles("arsipda"))
		start := writes.Count()
		for i := range 2 {
			mark := requestReconciles("arsipda")
			editRequest(t, "arsipda", func(r *sdv1.SubdomainRequest) { r.Labels = map[string]string{"touched": fmt.Sprint(tc.to, i)} })
			waitReconciled(t, "arsipda", mark)
		}
		for _, w := range writes.Since(start) {
			if strings.Contains(w, "/subdomainrequests/arsipda") {
				t.Errorf("%s: a pass of the refused rename wrote %s", tc.phase, w)
			}
		}
	}
}

// TestRejectionRecordRetried: a rejection whose ledger entry cannot be written (the
// API server fails every ledger write for a while) is not reported as Rejected until
// it is on record, and the entry is written once the API server takes it. Before,
// the pass that failed to record it wrote phase Rejected all the same, and every
// later pass took the rejection for recorded: the ledger never had it.
func TestRejectionRecordRetried(t *testing.T) {
	failing, failed := failLedgerWrites(t)
	create(t, newZone("tolakulang", "tolakulang.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.18.0/24"} }))
	create(t, newRequest("tolakulang", "tolakulang", "tolakulang", func(r *sdv1.SubdomainRequest) {
		r.Annotations = map[string]string{sdv1.AnnotationRejected: "bukan wewenang"}
	}))
	waitFor(t, "tolakulang", "the rejection's record to fail", func(r *sdv1.SubdomainRequest) bool {
		return failed.Load() && r.Status.Phase != ""
	})
	// Several passes while the writes fail.
	time.Sleep(2 * time.Second)
	r := getRequest(t, "tolakulang")
	if r.Status.Phase == sdv1.PhaseRejected {
		t.Errorf("phase Rejected while its rejection is not on record: %s", statusString(r))
	}
	if c := condition(r, sdv1.ConditionReady); !strings.Contains(c.Message, "not on record") {
		t.Errorf("Ready does not say the rejection waits to be recorded: %+v", c)
	}
	failing.Store(false)
	waitPhase(t, "tolakulang", sdv1.PhaseRejected)
	err := waitForLedger(t, "tolakulang", "tolakulang", func(entries []sdv1.LedgerEntry) bool {
		return slices.ContainsFunc(entries, func(e sdv1.LedgerEntry) bool { return e.Type == sdv1.LedgerRejected && e.Reason == "bukan wewenang" })
	})
	if err != nil {
		t.Errorf("the rejection never reached the ledger: %v", err)
	}
}

// failLedgerWrites runs the operator until the test ends with the API server failing
// (500) each of its ledger writes while failing is set (it is at first); failed tells
// whether one was failed.
func failLedgerWrites(t *testing.T) (failing, failed *atomic.Bool) {
	failing, failed = &atomic.Bool{}, &atomic.Bool{}
	failing.Store(true)
	withHook(t, 5*time.Second, func(req *http.Request, next http.RoundTripper) (*http.Response, error) {
		if !failing.Load() || req.Method == http.MethodGet || !strings.Contains(req.URL.Path, "/subdomainledgers") {
			return next.RoundTrip(req)
		}
		failed.Store(true)
		return apiFailure(req, http.StatusInternalServerError, metav1.StatusReasonInternalError, "etcd is down (test)", nil), nil
	})
	return failing, failed
}

// TestReadyRecordFailureSaid: a request whose Ready entry cannot be written (the API
// server fails every ledger write for a while) is not reported Ready, and its status
// says where it stands and why. Before, the failed record skipped the whole status
// write: a request provisioned in its first pass had no status at all (no phase, no
// condition) for as long as the ledger could not be written.
func TestReadyRecordFailureSaid(t *testing.T) {
	failing, failed := failLedgerWrites(t)
	create(t, newZone("catatsiap", "catatsiap.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.22.0/24"} }))
	create(t, newRequest("catatsiap", "catatsiap", "catatsiap", approved("kadis")))
	r := waitFor(t, "catatsiap", "the status to say the Ready entry is not written", func(r *sdv1.SubdomainRequest) bool {
		return failed.Load() && strings.Contains(condition(r, sdv1.ConditionReady).Message, "not written yet")
	})
	if r.Status.Phase != sdv1.PhaseProvisioning || condition(r, sdv1.ConditionReady).Status != metav1.ConditionFalse ||
		condition(r, sdv1.ConditionDNSReady).Status != metav1.ConditionTrue || r.Status.ReadyAt != nil {
		t.Errorf("want phase Provisioning, Ready False, the steps' conditions True, no readyAt: %s", statusString(r))
	}
	failing.Store(false)
	waitPhase(t, "catatsiap", sdv1.PhaseReady)
	err := waitForLedger(t, "catatsiap", "catatsiap", func(entries []sdv1.LedgerEntry) bool {
		return countEntries(entries, sdv1.LedgerReady, func(e sdv1.LedgerEntry) string { return e.FQDN })["catatsiap.catatsiap.go.id"] == 1
	})
	if err != nil {
		t.Errorf("want one Ready entry: %v", err)
	}
}
