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

package eventrec_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/eventrec"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestRecorder writes Events through a real API server: the fields client-go's
// recorder sets, cluster-scoped objects' Events in default, long notes cut to the
// API server's limit, and nothing kept once written.
func TestRecorder(t *testing.T) {
	env := testenv.StartForTest(t, testenv.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := env.CreateNamespaces(ctx, "opd-dinkes"); err != nil {
		t.Fatal(err)
	}
	rec := eventrec.New(env.Client, manager.Scheme(), clock.RealClock{}, "subdomain-operator")
	go func() { _ = rec.Start(ctx) }()

	req := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "dinkes", UID: "uid-dinkes"}}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-dinkes", Name: "subdomain-credentials"}}
	rec.Eventf(req, nil, corev1.EventTypeNormal, "Ready", "Reconcile", "%s is served", "dinkes.pontianak.go.id")
	rec.Eventf(sec, req, corev1.EventTypeWarning, "Long", "Check", "%s", strings.Repeat("x", 2000))
	rec.Eventf(req, nil, corev1.EventTypeNormal, "Wide", "Check", "%s", strings.Repeat("é", 600)) // 1,200 bytes

	var got []eventsv1.Event
	err := testenv.Eventually(ctx, 30*time.Second, 100*time.Millisecond, func() (bool, error) {
		list := &eventsv1.EventList{}
		if err := env.Client.List(ctx, list); err != nil {
			return false, err
		}
		got = list.Items
		return len(got) == 3, nil
	})
	if err != nil {
		t.Fatalf("events written: %d, want 3: %v", len(got), err)
	}
	for _, e := range got {
		switch e.Reason {
		case "Ready":
			if e.Namespace != metav1.NamespaceDefault || e.Regarding.Kind != "SubdomainRequest" || e.Regarding.Name != "dinkes" ||
				e.Regarding.UID != "uid-dinkes" || e.Note != "dinkes.pontianak.go.id is served" || e.Type != corev1.EventTypeNormal ||
				e.Action != "Reconcile" || e.ReportingController != "subdomain-operator" ||
				!strings.HasPrefix(e.ReportingInstance, "subdomain-operator-") || e.EventTime.IsZero() || e.Related != nil {
				t.Errorf("Ready event: %+v", e)
			}
		case "Long":
			if e.Namespace != "opd-dinkes" || e.Regarding.Kind != "Secret" || e.Related == nil || e.Related.Name != "dinkes" ||
				len(e.Note) != 1024 || !strings.HasSuffix(e.Note, "...") || e.Type != corev1.EventTypeWarning {
				t.Errorf("Long event: note of %d bytes, %+v", len(e.Note), e.Regarding)
			}
		case "Wide":
			if !utf8.ValidString(e.Note) || len(e.Note) > 1024 || !strings.HasSuffix(e.Note, "é...") {
				t.Errorf("Wide event: note of %d bytes, valid UTF-8 %v", len(e.Note), utf8.ValidString(e.Note))
			}
		default:
			t.Errorf("unexpected event %s", e.Reason)
		}
	}
	if n := rec.Queued(); n != 0 {
		t.Errorf("%d events still queued after they were written", n)
	}
}

// TestDrop: Eventf never blocks; a full queue and a bad event type drop and count.
func TestDrop(t *testing.T) {
	// Not started, so nothing leaves the queue; no client is needed.
	rec := eventrec.New(nil, manager.Scheme(), clocktesting.NewFakePassiveClock(time.Unix(0, 0)), "subdomain-operator")
	req := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "dinkes"}}
	before := eventrec.Dropped()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range eventrec.QueueSize + 5 {
			rec.Eventf(req, nil, corev1.EventTypeNormal, "Ready", "Reconcile", "ready")
		}
		rec.Eventf(req, nil, "Info", "Odd", "Reconcile", "an event type the API does not know")
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Eventf blocked on a full queue")
	}
	if got := eventrec.Dropped() - before; got != 6 {
		t.Errorf("dropped %v events, want 6 (5 over the queue, 1 of a bad type)", got)
	}
	if n := rec.Queued(); n != eventrec.QueueSize {
		t.Errorf("queued %d, want %d", n, eventrec.QueueSize)
	}
}

// TestDrainAtStop: Events queued when the manager stops the recorder (it stops before
// the reconcilers) are still written, and one recorded after it stopped is dropped and
// counted, not left in the queue unseen. Before, Start returned at once and both were
// lost uncounted.
func TestDrainAtStop(t *testing.T) {
	env := testenv.StartForTest(t, testenv.Options{})
	rec := eventrec.New(env.Client, manager.Scheme(), clock.RealClock{}, "subdomain-operator")
	for _, name := range []string{"satu", "dua", "tiga"} {
		req := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)}}
		rec.Eventf(req, nil, corev1.EventTypeNormal, "Ready", "Reconcile", "%s is served", name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the manager is stopping
	if err := rec.Start(ctx); err != nil {
		t.Fatal(err)
	}
	list := &eventsv1.EventList{}
	if err := env.Client.List(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 3 {
		t.Errorf("%d of the 3 queued Events written at the stop", len(list.Items))
	}
	before := eventrec.Dropped()
	rec.Eventf(&sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "empat"}}, nil, corev1.EventTypeNormal, "Ready", "Reconcile", "late")
	if got := eventrec.Dropped() - before; got != 1 || rec.Queued() != 0 {
		t.Errorf("an Event recorded after the stop: dropped %v, queued %d; want dropped 1, queued 0", got, rec.Queued())
	}
}
