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
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

var weekdays = []sdv1.Weekday{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// closedWindow is open only the day after tomorrow (UTC), so it is closed now.
func closedWindow() *sdv1.ChangeWindow {
	day := weekdays[(int(time.Now().UTC().Weekday())+2)%7]
	return &sdv1.ChangeWindow{TimeZone: "UTC", Windows: []sdv1.Window{{Days: []sdv1.Weekday{day}, Start: "00:00", End: "24:00"}}}
}

func openWindow() *sdv1.ChangeWindow {
	return &sdv1.ChangeWindow{TimeZone: "UTC", Windows: []sdv1.Window{{Days: weekdays, Start: "00:00", End: "24:00"}}}
}

func setWindow(t *testing.T, zone string, cw *sdv1.ChangeWindow) {
	t.Helper()
	editZone(t, zone, func(z *sdv1.SubdomainZone) { z.Spec.ChangeWindow = cw })
}

// TestChangeWindow: renames and deletions wait, phase Scheduled with the next opening
// in the message, and go ahead when the window opens; creation is not held.
func TestChangeWindow(t *testing.T) {
	ctx := context.Background()
	// One closed window for the whole test: computed again, a run across UTC midnight
	// would expect another day than the zone's.
	closed := closedWindow()
	create(t, newZone("win", "win.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.140.0.0/24"}
		z.Spec.ChangeWindow = closed
	}))
	create(t, newRequest("bpbd", "win", "bpbd", approved("kadis")))
	waitPhase(t, "bpbd", sdv1.PhaseReady)

	renameApproved(t, "bpbd", "bencana")
	r := waitPhase(t, "bpbd", sdv1.PhaseScheduled)
	day := closed.Windows[0].Days[0]
	if c := condition(r, sdv1.ConditionReconciling); c.Reason != "WaitingForChangeWindow" ||
		!strings.Contains(c.Message, "the rename to bencana.win.go.id waits") || !strings.Contains(c.Message, "next opening "+string(day)) {
		t.Errorf("scheduled rename: %+v", c)
	}
	if r.Status.FQDN != "bpbd.win.go.id" || condition(r, sdv1.ConditionReady).Status != metav1.ConditionTrue {
		t.Errorf("the current name must keep serving: %s", statusString(r))
	}
	// While it waits, a reconcile writes nothing: no new readyAt, no ledger entry. The
	// phase's Event is posted in the background after the status write: count from
	// after it.
	assertEvent(t, "bpbd", string(sdv1.PhaseScheduled))
	readyAt := r.Status.ReadyAt
	mark, start := requestReconciles("bpbd"), writes.Count()
	editRequest(t, "bpbd", func(r *sdv1.SubdomainRequest) { r.Labels = map[string]string{"touched": "1"} })
	waitReconciled(t, "bpbd", mark)
	if w := writes.Since(start); len(w) != 0 {
		t.Errorf("a reconcile of the scheduled rename wrote %d times: %v", len(w), w)
	}

	setWindow(t, "win", openWindow())
	r = waitServing(t, "bpbd", "bencana.win.go.id")
	if readyAt == nil || r.Status.ReadyAt == nil || !r.Status.ReadyAt.Equal(readyAt) {
		t.Errorf("readyAt %v after the rename, want the first Ready %v", r.Status.ReadyAt, readyAt)
	}
	// One Ready entry per name served, the new one included.
	err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		ledgers := &sdv1.SubdomainLedgerList{}
		if err := k8s.List(ctx, ledgers); err != nil {
			return false, err
		}
		ready, renamedBy := map[string]int{}, "<no Renamed entry>"
		for _, l := range ledgers.Items {
			for _, e := range l.Spec.Entries {
				if l.Spec.Zone == "win" && e.Request == "bpbd" && e.Type == sdv1.LedgerReady {
					ready[e.FQDN]++
				}
				if l.Spec.Zone == "win" && e.Request == "bpbd" && e.Type == sdv1.LedgerRenamed && e.FQDN == "bencana.win.go.id" {
					renamedBy = e.ApprovedBy
				}
			}
		}
		if renamedBy != "kadis" {
			return false, fmt.Errorf("the rename's entry names approver %q, want kadis", renamedBy)
		}
		if ready["bpbd.win.go.id"] > 1 || ready["bencana.win.go.id"] > 1 || len(ready) > 2 {
			return false, fmt.Errorf("Ready entries %v, want one per name", ready)
		}
		return ready["bpbd.win.go.id"] == 1 && ready["bencana.win.go.id"] == 1, nil
	})
	if err != nil {
		t.Errorf("ledger: %v", err)
	}

	setWindow(t, "win", closedWindow())
	// Let the cache see the closed window: the zone controller has then observed it.
	if _, err := zoneWhen("win", func(z *sdv1.SubdomainZone) bool { return z.Status.ObservedGeneration == z.Generation }); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Delete(ctx, getRequest(t, "bpbd")); err != nil {
		t.Fatal(err)
	}
	r = waitPhase(t, "bpbd", sdv1.PhaseScheduled)
	if c := condition(r, sdv1.ConditionReconciling); !strings.Contains(c.Message, "the deletion of bencana.win.go.id waits") {
		t.Errorf("scheduled deletion: %+v", c)
	}
	// The deletion raised the generation: every condition has seen it (Ready too,
	// which still says the site is served).
	for _, c := range r.Status.Conditions {
		if c.ObservedGeneration != r.Generation {
			t.Errorf("scheduled deletion: condition %s observedGeneration %d, generation %d", c.Type, c.ObservedGeneration, r.Generation)
		}
	}
	if err := k8s.Get(ctx, types.NamespacedName{Name: "opd-bpbd"}, &corev1.Namespace{}); err != nil {
		t.Errorf("the site must stay until the window opens: %v", err)
	}
	// A request that never served is not held to the window: one in Conflict (it
	// holds a finalizer) goes at once while the window is closed.
	create(t, newRequest("bpbd-salin", "win", "bencana", approved("kadis")))
	waitPhase(t, "bpbd-salin", sdv1.PhaseConflict)
	if err := k8s.Delete(ctx, getRequest(t, "bpbd-salin")); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "bpbd-salin"}})
	if r := getRequest(t, "bpbd"); r.Status.Phase != sdv1.PhaseScheduled {
		t.Errorf("the served site's deletion must still wait: %s", statusString(r))
	}

	setWindow(t, "win", openWindow())
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "bpbd"}})
}

// TestDeletionBegunIsNotHeld: a deletion that began in the window finishes after the
// window closes: its records and Service are gone already, so holding its claims
// until the next opening would keep nothing up. (The hosting namespace is kept
// terminating by a ConfigMap's finalizer until the window has closed.)
func TestDeletionBegunIsNotHeld(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("winhapus", "winhapus.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.141.0.0/24"}
		z.Spec.ChangeWindow = openWindow()
	}))
	create(t, newRequest("hapus", "winhapus", "hapus", approved("kadis")))
	r := waitPhase(t, "hapus", sdv1.PhaseReady)
	hold := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-hapus", Name: "hold", Finalizers: []string{"test.kominfo.go.id/hold"}}}
	create(t, hold)
	if err := k8s.Delete(ctx, r); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "hapus", "deletion begun", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Phase == sdv1.PhaseTerminating && condition(r, sdv1.ConditionReady).Reason == "DeletingNamespace"
	})
	setWindow(t, "winhapus", closedWindow())
	waitCached(t, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "winhapus"}})
	mark := requestReconciles("hapus")
	waitReconciled(t, "hapus", mark)
	waitReconciled(t, "hapus", requestReconciles("hapus"))
	if r := getRequest(t, "hapus"); r.Status.Phase != sdv1.PhaseTerminating {
		t.Errorf("a deletion begun in the window: %s", statusString(r))
	}
	if err := testenv.Edit(ctx, k8s, hold, func(c *corev1.ConfigMap) { c.Finalizers = nil }); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "hapus"}})
	mustNotExist(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "hapus.winhapus.go.id"}})
}

// TestScheduledRenameStalled: while a rename waits for the window, a pass that ends
// otherwise - here the served name's Secret, deleted, cannot be made again: a policy
// refuses it as Invalid - says so in kstatus terms: Stalled True and no Reconciling
// beside it (the wait's Reconciling of the earlier passes would read InProgress to
// Flux and hide the failure). Once the refusal goes, the wait is told again.
func TestScheduledRenameStalled(t *testing.T) {
	ctx := context.Background()
	closed := closedWindow()
	create(t, newZone("winpatah", "winpatah.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.178.28.0/24"}
		z.Spec.ChangeWindow = closed
	}))
	create(t, newRequest("dlhk", "winpatah", "dlhk", approved("kadis")))
	waitPhase(t, "dlhk", sdv1.PhaseReady)
	renameApproved(t, "dlhk", "kebersihan")
	r := waitPhase(t, "dlhk", sdv1.PhaseScheduled)
	if c := condition(r, sdv1.ConditionReconciling); c.Status != metav1.ConditionTrue || c.Reason != "WaitingForChangeWindow" {
		t.Fatalf("scheduled rename: Reconciling %+v", c)
	}

	invalid := metav1.StatusReasonInvalid
	lift := refusingPolicy(t, "test-no-new-secrets", "secrets", []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		admissionregistrationv1.Validation{Expression: "false", Message: "metadata.name: Invalid value: no new Secrets here", Reason: &invalid},
		&metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "opd-dlhk"}})
	probe := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-dlhk", Name: "probe"}}
	if err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		return apierrors.IsInvalid(k8s.Create(ctx, probe.DeepCopy(), client.DryRunAll)), nil
	}); err != nil {
		t.Fatalf("the policy never refused a Secret: %v", err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-dlhk", Name: sdv1.CredentialsSecretName}}
	if err := k8s.Delete(ctx, secret); err != nil {
		t.Fatal(err)
	}
	r = waitPhase(t, "dlhk", sdv1.PhaseFailed)
	if c := condition(r, sdv1.ConditionStalled); c.Status != metav1.ConditionTrue || c.Reason != "ChildRefused" {
		t.Errorf("refused upkeep while the rename waits: Stalled %+v\n%s", c, statusString(r))
	}
	if c := condition(r, sdv1.ConditionReconciling); c.Status == metav1.ConditionTrue {
		t.Errorf("refused upkeep while the rename waits: Reconciling %+v beside Stalled\n%s", c, statusString(r))
	}
	if r.Status.FQDN != "dlhk.winpatah.go.id" {
		t.Errorf("the served name must stay: %s", statusString(r))
	}

	lift()
	// Looked at again at once (not at the refusal's one-minute retry): a label.
	editRequest(t, "dlhk", func(r *sdv1.SubdomainRequest) { r.Labels = map[string]string{"touched": "1"} })
	r = waitPhase(t, "dlhk", sdv1.PhaseScheduled)
	if c := condition(r, sdv1.ConditionReconciling); c.Status != metav1.ConditionTrue || c.Reason != "WaitingForChangeWindow" {
		t.Errorf("the refusal gone, the rename waits again: Reconciling %+v", c)
	}
	if c := condition(r, sdv1.ConditionStalled); c.Status == metav1.ConditionTrue {
		t.Errorf("the refusal gone: Stalled %+v", c)
	}
	setWindow(t, "winpatah", openWindow())
	waitServing(t, "dlhk", "kebersihan.winpatah.go.id")
}
