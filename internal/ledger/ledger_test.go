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

package ledger_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/ledger"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// env is one control plane for the package's tests; each test writes its own zones.
var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	if env, err = testenv.Start(testenv.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

// at is when the tests' entries happened.
var at = metav1.NewTime(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))

// readyEntry makes Ready entries of zone with the given ids.
func readyEntry(zone string) func(id string) sdv1.LedgerEntry {
	return func(id string) sdv1.LedgerEntry {
		return sdv1.LedgerEntry{ID: id, Type: sdv1.LedgerReady, At: at, Request: "r", FQDN: "r." + zone + ".go.id"}
	}
}

// TestAppend: appends create the month's ledger, are idempotent by ID, and the API
// server refuses to change or remove an entry.
func TestAppend(t *testing.T) {
	ctx := context.Background()
	c := env.Client
	start := time.Now()
	// Append walks the pages from the first: a few pages' worth, one at a time.
	const serial = 3*sdv1.LedgerPageSize + 4
	for i := range serial {
		e := sdv1.LedgerEntry{ID: fmt.Sprintf("uid-%d/Requested/", i), Type: sdv1.LedgerRequested, At: at,
			Request: fmt.Sprintf("opd%d", i), FQDN: fmt.Sprintf("opd%d.pontianak.go.id", i), OPD: "Dinas " + strings.Repeat("x", 40)}
		if err := ledger.Append(ctx, c, "pontianak", e); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d appends in %s (%s each)", serial, time.Since(start), time.Since(start)/serial)
	const n = 300
	// The batching writer, from 8 goroutines at once.
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	w := ledger.NewWriter(c, c)
	go func() { _ = w.Start(ctx2) }()
	start = time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 8 {
				errs <- w.Append(ctx, "kalbar", sdv1.LedgerEntry{ID: fmt.Sprintf("uid-%d/Requested/", i), Type: sdv1.LedgerRequested,
					At: at, Request: fmt.Sprintf("opd%d", i), OPD: "Dinas " + strings.Repeat("x", 40)})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d batched appends from 8 goroutines in %s", n, time.Since(start))
	// A batch holding a duplicate still stores the others. The duplicate is an entry
	// already on the open page (an id is unique per page). Both entries wait in a new
	// writer's queue before it starts, so they are one batch: its one write is refused
	// for the duplicate, then each entry is stored alone, the duplicate as a no-op.
	last := sdv1.LedgerEntry{ID: "uid-last/Requested/", Type: sdv1.LedgerRequested, At: at, Request: "last"}
	if err := w.Append(ctx, "kalbar", last); err != nil {
		t.Fatal(err)
	}
	var dupWrites testenv.WriteCounter
	dc, err := client.New(dupWrites.Wrap(env.Config), client.Options{Scheme: c.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	dw := ledger.NewWriter(dc, dc)
	dupBatch := []sdv1.LedgerEntry{last, {ID: "uid-new/Requested/", Type: sdv1.LedgerRequested, At: at, Request: "new"}}
	dupErrs := make(chan error, len(dupBatch))
	for _, e := range dupBatch {
		go func() { dupErrs <- dw.Append(ctx, "kalbar", e) }()
	}
	if err := testenv.Eventually(ctx, 10*time.Second, time.Millisecond, func() (bool, error) {
		return dw.Queued() == len(dupBatch), nil
	}); err != nil {
		t.Fatalf("%d of %d entries queued: %v", dw.Queued(), len(dupBatch), err)
	}
	go func() { _ = dw.Start(ctx2) }()
	for range dupBatch {
		if err := <-dupErrs; err != nil {
			t.Errorf("an append in a batch with a duplicate: %v", err)
		}
	}
	dupGot := dupWrites.WritesSince(0)
	refused := 0
	for _, wr := range dupGot {
		if wr.Refused() {
			refused++
		}
	}
	if len(dupGot) != len(dupBatch)+1 || dupGot[0].Status != http.StatusUnprocessableEntity || refused != 2 {
		t.Errorf("the batch with a duplicate wrote %v, want one refused batch write (422), then %d alone, the duplicate refused",
			dupGot, len(dupBatch))
	}
	if got, err := entries(ctx, c, "kalbar"); err != nil || got != n+2 {
		t.Fatalf("kalbar ledgers have %d entries, want %d: %v", got, n+2, err)
	}
	// Idempotent.
	if err := ledger.Append(ctx, c, "pontianak", sdv1.LedgerEntry{ID: "uid-0/Requested/", Type: sdv1.LedgerRequested, At: at, Request: "opd0"}); err != nil {
		t.Fatalf("a repeated append must be a no-op: %v", err)
	}
	l := &sdv1.SubdomainLedger{}
	if err := c.Get(ctx, types.NamespacedName{Name: "pontianak-2026-11"}, l); err != nil {
		t.Fatal(err)
	}
	if len(l.Spec.Entries) != sdv1.LedgerPageSize || l.Spec.Year != 2026 || l.Spec.Month != 11 || l.Spec.Page != 1 {
		t.Fatalf("first page has %d entries (want %d), year %d month %d page %d", len(l.Spec.Entries), sdv1.LedgerPageSize,
			l.Spec.Year, l.Spec.Month, l.Spec.Page)
	}
	if got, err := entries(ctx, c, "pontianak"); err != nil || got != serial {
		t.Fatalf("pontianak ledgers have %d entries, want %d: %v", got, serial, err)
	}
	// Append-only, enforced by the API server.
	changed := l.DeepCopy()
	changed.Spec.Entries[0].FQDN = "forged.pontianak.go.id"
	if err := c.Update(ctx, changed); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("changing an entry: %v", err)
	}
	removed := l.DeepCopy()
	removed.Spec.Entries = removed.Spec.Entries[1:]
	if err := c.Update(ctx, removed); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("removing an entry: %v", err)
	}
	emptied := l.DeepCopy()
	emptied.Spec.Entries = nil // no list at all: the list's own rule does not run
	if err := c.Update(ctx, emptied); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("removing every entry: %v", err)
	}
	// An entry swapped for another of a new id keeps the count: the rule pairs old and
	// new entries by id, so the swap must be refused as a removal.
	swapped := l.DeepCopy()
	swapped.Spec.Entries[0].ID = "forged/Deleted/"
	if err := c.Update(ctx, swapped); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("replacing an entry by one of another id: %v", err)
	}
}

// entries counts the distinct entry ids of zone's ledgers, all pages. (An id is unique
// within a page; a repeat on a later page is allowed and readers skip it.)
func entries(ctx context.Context, c client.Client, zone string) (int, error) {
	list := &sdv1.SubdomainLedgerList{}
	if err := c.List(ctx, list); err != nil {
		return 0, err
	}
	ids := map[string]bool{}
	for _, l := range list.Items {
		if l.Spec.Zone == zone {
			for _, e := range l.Spec.Entries {
				ids[e.ID] = true
			}
		}
	}
	return len(ids), nil
}

// TestPages: a full page is refused by the API server and appends go on in the next
// page, by the writer and by Append alike.
func TestPages(t *testing.T) {
	ctx := context.Background()
	c := env.Client
	entry := readyEntry("sambas")
	full := &sdv1.SubdomainLedger{ObjectMeta: metav1.ObjectMeta{Name: ledger.Name("sambas", 2026, time.November)},
		Spec: sdv1.SubdomainLedgerSpec{Zone: "sambas", Year: 2026, Month: 11}}
	for i := range sdv1.LedgerPageSize {
		full.Spec.Entries = append(full.Spec.Entries, entry(fmt.Sprintf("old-%d", i)))
	}
	if err := c.Create(ctx, full); err != nil {
		t.Fatal(err)
	}
	if full.Spec.Page != 1 {
		t.Errorf("page defaults to 1, got %d", full.Spec.Page)
	}
	// The CRD's limit is the page size.
	over := full.DeepCopy()
	over.Spec.Entries = append(over.Spec.Entries, entry("one-too-many"))
	if err := c.Update(ctx, over); err == nil || !strings.Contains(err.Error(), "Too many") {
		t.Fatalf("page %d+1 entries: %v", sdv1.LedgerPageSize, err)
	}
	if err := ledger.Append(ctx, c, "sambas", entry("new-1")); err != nil {
		t.Fatal(err)
	}
	w := ledger.NewWriter(c, c)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = w.Start(wctx) }()
	for i := 2; i <= 3; i++ {
		if err := w.Append(ctx, "sambas", entry(fmt.Sprintf("new-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	p2 := &sdv1.SubdomainLedger{}
	if err := c.Get(ctx, types.NamespacedName{Name: ledger.PageName("sambas", 2026, time.November, 2)}, p2); err != nil {
		t.Fatal(err)
	}
	if p2.Name != "sambas-2026-11-p2" || p2.Spec.Page != 2 || len(p2.Spec.Entries) != 3 {
		t.Fatalf("page 2: name %s page %d, %d entries", p2.Name, p2.Spec.Page, len(p2.Spec.Entries))
	}
	// A page's number never changes.
	moved := p2.DeepCopy()
	moved.Spec.Page = 3
	if err := c.Update(ctx, moved); err == nil || !strings.Contains(err.Error(), "never change") {
		t.Errorf("changing the page: %v", err)
	}
}

// TestOpenPageFound: a writer that starts on a month with many pages finds the open one
// by reading and then writes without a refused write: one write per page a batch
// touches, a create for a page that does not exist yet.
func TestOpenPageFound(t *testing.T) {
	ctx := context.Background()
	c := env.Client
	entry := readyEntry("sanggau")
	// Pages 1..12 full, page 13 with 3 entries.
	for page := int32(1); page <= 13; page++ {
		l := &sdv1.SubdomainLedger{ObjectMeta: metav1.ObjectMeta{Name: ledger.PageName("sanggau", 2026, time.November, page)},
			Spec: sdv1.SubdomainLedgerSpec{Zone: "sanggau", Year: 2026, Month: 11, Page: page}}
		n := sdv1.LedgerPageSize
		if page == 13 {
			n = 3
		}
		for i := range n {
			l.Spec.Entries = append(l.Spec.Entries, entry(fmt.Sprintf("old-%d-%d", page, i)))
		}
		if err := c.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	var writes testenv.WriteCounter
	wc, err := client.New(writes.Wrap(env.Config), client.Options{Scheme: c.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	w := ledger.NewWriter(wc, wc)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = w.Start(wctx) }()
	if err := w.Append(ctx, "sanggau", entry("new-0")); err != nil {
		t.Fatal(err)
	}
	if got := writes.Since(0); len(got) != 1 || !strings.HasSuffix(got[0], "/sanggau-2026-11-p13") {
		t.Fatalf("the first append wrote %v, want one patch of page 13", got)
	}
	// A batch bigger than the room left on page 13 (6): it fills page 13 and creates
	// page 14 with the rest, in two writes.
	before := writes.Count()
	var wg sync.WaitGroup
	errs := make(chan error, 9)
	for i := 1; i <= 9; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- w.Append(ctx, "sanggau", entry(fmt.Sprintf("new-%d", i)))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := writes.Since(before)
	for _, wr := range got {
		if !strings.HasSuffix(wr, "-p13") && !strings.HasSuffix(wr, "/subdomainledgers") {
			t.Errorf("unexpected write %s", wr)
		}
	}
	// The batch may have been split in time, but never a write more than pages touched
	// per batch, and never a refused one: at most one write per entry, at least 2.
	if len(got) < 2 || len(got) > 9 {
		t.Errorf("9 entries took writes %v", got)
	}
	for _, wr := range writes.WritesSince(0) {
		if wr.Status < 200 || wr.Status > 299 {
			t.Errorf("write %s answered %d: a refused (409 conflict, 422 full page or duplicate) or unanswered write", wr, wr.Status)
		}
	}
	for page, want := range map[int32]int{13: sdv1.LedgerPageSize, 14: 3} {
		l := &sdv1.SubdomainLedger{}
		if err := c.Get(ctx, types.NamespacedName{Name: ledger.PageName("sanggau", 2026, time.November, page)}, l); err != nil {
			t.Fatal(err)
		}
		if len(l.Spec.Entries) != want {
			t.Errorf("page %d has %d entries, want %d", page, len(l.Spec.Entries), want)
		}
	}
	if n, err := entries(ctx, c, "sanggau"); err != nil || n != 12*sdv1.LedgerPageSize+3+10 {
		t.Errorf("sanggau ledgers have %d entries: %v", n, err)
	}
}

// TestEntryTime: the API server refuses an entry whose time a typed client could not
// decode (its date-time format alone takes a lowercase t or z; hour 24 and second 60
// it refuses itself), so that no hand-written page stops the writer and the report;
// the forms Go writes and reads pass, and such a page is read and appended to.
func TestEntryTime(t *testing.T) {
	ctx := context.Background()
	c := env.Client
	page := func(name, at string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": sdv1.GroupVersion.String(), "kind": "SubdomainLedger",
			"metadata": map[string]any{"name": name},
			"spec": map[string]any{"zone": "waktu", "year": int64(2026), "month": int64(1), "entries": []any{
				map[string]any{"id": "hand/Ready/x@1", "type": "Ready", "at": at, "request": "r", "fqdn": "r.waktu.go.id"},
			}},
		}}
		return u
	}
	for _, bad := range []string{"2026-01-05t08:00:00z", "2026-01-05T08:00:00z", "2026-01-05T24:00:00Z", "2026-01-05T23:59:60Z"} {
		err := c.Create(ctx, page("waktu-2026-01", bad))
		if err == nil {
			t.Errorf("a page with an entry at %q was stored", bad)
			continue
		}
		if !strings.Contains(err.Error(), "spec.entries[0].at") || !strings.Contains(err.Error(), "should match") {
			t.Errorf("entry at %q refused with %q, want the field and its pattern named", bad, err)
		}
	}
	// An offset and a fraction of a second, as Go writes and reads them.
	if err := c.Create(ctx, page("waktu-2026-01", "2026-01-05T16:00:00.5+08:00")); err != nil {
		t.Fatal(err)
	}
	if err := ledger.Append(ctx, c, "waktu", sdv1.LedgerEntry{ID: "uid/Ready/y@1", Type: sdv1.LedgerReady,
		At: metav1.NewTime(time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC)), Request: "s", FQDN: "s.waktu.go.id"}); err != nil {
		t.Fatal(err)
	}
	l := &sdv1.SubdomainLedger{}
	if err := c.Get(ctx, types.NamespacedName{Name: "waktu-2026-01"}, l); err != nil {
		t.Fatal(err)
	}
	if len(l.Spec.Entries) != 2 || !l.Spec.Entries[0].At.Equal(&metav1.Time{Time: time.Date(2026, 1, 5, 8, 0, 0, 5e8, time.UTC)}) {
		t.Errorf("page read back: %+v", l.Spec.Entries)
	}
}

// TestWriterStop: the manager stops the writer before the reconcilers that append.
// The batch in progress when its context ends, and every entry queued, is still
// written (not failed with the writer's context), and an Append after the writer
// stopped writes its entry itself instead of waiting for a writer that is gone.
func TestWriterStop(t *testing.T) {
	c := env.Client
	entry := readyEntry("sekadau")
	// The first write waits until the writer's context has ended: its batch is the
	// batch in progress at the stop. Each later write takes a while, so that more
	// entries are queued when it stops.
	writing, release := make(chan struct{}), make(chan struct{})
	var first sync.Once
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			if req.Method != http.MethodGet {
				first.Do(func() { close(writing); <-release })
				time.Sleep(30 * time.Millisecond)
			}
			return rt.RoundTrip(req)
		})
	})
	slow, err := client.New(cfg, client.Options{Scheme: c.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	w := ledger.NewWriter(slow, slow)
	wctx, stop := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		_ = w.Start(wctx)
	}()
	// Reconciles append with their own contexts, which live on.
	const goroutines, each = 8, 5
	errs := make(chan error, goroutines*each)
	for g := range goroutines {
		go func() {
			for i := range each {
				errs <- w.Append(context.Background(), "sekadau", entry(fmt.Sprintf("stop-%d-%d", g, i)))
			}
		}()
	}
	select {
	case <-writing:
	case <-time.After(30 * time.Second):
		t.Fatal("the writer never wrote")
	}
	stop()
	close(release)
	timeout := time.After(15 * time.Second)
wait:
	for n := range goroutines * each {
		select {
		case err := <-errs:
			if err != nil {
				t.Errorf("an append while the writer stopped: %v", err)
			}
		case <-timeout:
			t.Errorf("%d of %d appends still waiting 15s after the writer's context ended", goroutines*each-n, goroutines*each)
			break wait
		}
	}
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("the writer did not stop")
	}
	// After the stop: written at once, by the Append itself.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := w.Append(ctx, "sekadau", entry("after-stop")); err != nil {
		t.Errorf("an append after the writer stopped: %v (after %s)", err, time.Since(start).Round(time.Millisecond))
	}
	if n, err := entries(context.Background(), c, "sekadau"); err != nil || n != goroutines*each+1 {
		t.Errorf("sekadau ledgers have %d entries, want %d: %v", n, goroutines*each+1, err)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
