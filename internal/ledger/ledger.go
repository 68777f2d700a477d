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

// Package ledger appends to the SubdomainLedger pages of a zone and month. An append is
// one write per page it touches (a JSON patch of the open page, no read of it; a create
// of the next) and idempotent within a page: an entry's ID is its key, and the API
// server refuses a second entry with the same key. A full page
// (v1alpha1.LedgerPageSize entries) is refused by the API server too; the Writer knows
// how full its page is and rarely meets that refusal, Append goes on in the next page.
package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// Name is the first ledger page of a zone and month: <zone>-<yyyy>-<mm>. One object per
// month (and page) keeps each small at thousands of events.
func Name(zone string, year int, month time.Month) string {
	return PageName(zone, year, month, 1)
}

// PageName is page n of a zone's month: Name for page 1, then <zone>-<yyyy>-<mm>-p<n>.
func PageName(zone string, year int, month time.Month, page int32) string {
	if page <= 1 {
		return fmt.Sprintf("%s-%04d-%02d", zone, year, int(month))
	}
	return fmt.Sprintf("%s-%04d-%02d-p%d", zone, year, int(month), page)
}

// maxPages bounds the page walk: 100,000 pages a month.
const maxPages = 100_000

// Writer batches appends: entries written by concurrent reconciles within a few
// milliseconds go to their ledger in one write per page they fill, so that bulk
// provisioning makes far fewer ledger writes than entries. Append blocks until its entry is stored.
// Add it to the manager; it runs on every replica. After Start has ended, Append writes
// its entry itself.
type Writer struct {
	c client.Client
	// r reads ledgers from the API server: the manager does not cache them.
	r  client.Reader
	in chan pending

	// open is the page a zone's month is being written to and how many entries this
	// process knows it holds, so that a batch that would overflow it is split between
	// it and a new page instead of being refused first.
	mu   sync.Mutex
	open map[string]openPage

	// quit is closed when Start ends, to wake Appends waiting for room in the queue;
	// stopped is then set under smu, so that no entry is queued after the writer's last
	// look at the queue (an Append holds smu for reading while it queues).
	quit     chan struct{}
	quitOnce sync.Once
	smu      sync.RWMutex
	stopped  bool
}

// openPage is where the next entries of a month go.
type openPage struct {
	page int32
	used int
}

type pending struct {
	zone string
	e    sdv1.LedgerEntry
	done chan error
}

// batchWindow is how long the writer waits for more entries after the first.
const batchWindow = 20 * time.Millisecond

// NewWriter returns a Writer that writes with c and reads with r (give the manager's
// API reader: ledgers are not worth caching); start it with Start (a manager Runnable).
func NewWriter(c client.Client, r client.Reader) *Writer {
	// The buffer lets reconciles queue entries while a batch is being written.
	return &Writer{c: c, r: r, in: make(chan pending, maxBatch), open: map[string]openPage{}, quit: make(chan struct{})}
}

// NeedLeaderElection is false: reconciles only run on the leader anyway. The manager
// stops such runnables before the reconcilers, so Start ends while reconciles may
// still append: it writes the batch in progress and what is queued, and an Append
// after that writes its entry itself.
func (w *Writer) NeedLeaderElection() bool { return false }

// Append queues e and waits until it is stored. Once the writer has stopped, it writes
// e itself, with ctx, as a batch of one.
func (w *Writer) Append(ctx context.Context, zone string, e sdv1.LedgerEntry) error {
	p := pending{zone: zone, e: e, done: make(chan error, 1)}
	w.smu.RLock()
	queued := false
	if !w.stopped {
		select {
		case w.in <- p:
			queued = true
		case <-w.quit:
		case <-ctx.Done():
			w.smu.RUnlock()
			return ctx.Err()
		}
	}
	w.smu.RUnlock()
	if !queued {
		return w.storeOne(ctx, p)
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// storeOne writes one entry as flush does.
func (w *Writer) storeOne(ctx context.Context, p pending) error {
	at := p.e.At.UTC()
	return w.store(ctx, Name(p.zone, at.Year(), at.Month()), p.zone, []sdv1.LedgerEntry{p.e})
}

// drainTimeout bounds the writes left when ctx of Start ends: the batch in progress
// and what is queued.
const drainTimeout = 5 * time.Second

// Start writes batches until ctx ends. A batch is what arrived while the previous one
// was written; an idle writer waits batchWindow after a first entry for company.
// Writes do not end with ctx: the batch in progress and then every queued entry are
// written until drainTimeout after ctx ended (their Appends' callers are reconciles,
// which the manager stops after this writer).
func (w *Writer) Start(ctx context.Context) error {
	wctx, cancel := outliving(ctx, drainTimeout)
	defer cancel()
	for {
		var batch []pending
		select {
		case <-ctx.Done():
			w.stop(wctx)
			return nil
		case p := <-w.in:
			batch = append(batch, p)
		}
		batch = w.drain(batch)
		if len(batch) == 1 {
			timer := time.NewTimer(batchWindow)
		collect:
			for len(batch) < maxBatch {
				select {
				case p := <-w.in:
					batch = append(batch, p)
				case <-timer.C:
					break collect
				case <-ctx.Done():
					break collect
				}
			}
			timer.Stop()
		}
		w.flush(wctx, batch)
	}
}

// stop ends queuing and writes what is queued with ctx. Appends waiting for room in
// the queue wake and write their entries themselves.
func (w *Writer) stop(ctx context.Context) {
	w.quitOnce.Do(func() { close(w.quit) }) // a Start again (a misuse) must not panic
	w.smu.Lock()
	w.stopped = true
	w.smu.Unlock()
	for {
		batch := w.drain(nil)
		if len(batch) == 0 {
			return
		}
		w.flush(ctx, batch)
	}
}

// outliving is a context with ctx's values that ends d after ctx ends, or when cancel
// is called.
func outliving(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	out, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(d, cancel) })
	return out, func() { stop(); cancel() }
}

// maxBatch bounds one batch.
const maxBatch = 500

// drain adds what is already queued, without waiting.
func (w *Writer) drain(batch []pending) []pending {
	for len(batch) < maxBatch {
		select {
		case p := <-w.in:
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

// flush stores a batch: one store per zone and month; on any refusal each entry alone,
// so that one duplicate does not fail the others.
func (w *Writer) flush(ctx context.Context, batch []pending) {
	groups := map[string][]pending{}
	var order []string
	for _, p := range batch {
		at := p.e.At.UTC()
		key := Name(p.zone, at.Year(), at.Month())
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], p)
	}
	for _, key := range order {
		g := groups[key]
		entries := make([]sdv1.LedgerEntry, len(g))
		for i, p := range g {
			entries[i] = p.e
		}
		err := w.store(ctx, key, g[0].zone, entries)
		for _, p := range g {
			if err == nil || len(g) == 1 {
				p.done <- err
				continue
			}
			p.done <- w.store(ctx, key, p.zone, []sdv1.LedgerEntry{p.e})
		}
	}
}

// store appends entries of one month to its open page, and to new pages what does
// not fit there.
func (w *Writer) store(ctx context.Context, key, zone string, entries []sdv1.LedgerEntry) error {
	w.mu.Lock()
	at, known := w.open[key]
	w.mu.Unlock()
	if !known {
		// First write of this month by this process: find the open page by reading,
		// not by refused appends.
		var err error
		if at, err = findOpenPage(ctx, w.r, zone, entries[0].At.UTC()); err != nil {
			return err
		}
	}
	for len(entries) > 0 {
		if at.used >= sdv1.LedgerPageSize {
			at = openPage{page: at.page + 1}
		}
		chunk := entries[:min(len(entries), sdv1.LedgerPageSize-at.used)]
		page, err := appendFrom(ctx, w.c, zone, at.page, chunk, at.used == 0)
		if err != nil {
			// Forget what this process thought: the next write reads again.
			w.mu.Lock()
			delete(w.open, key)
			w.mu.Unlock()
			return err
		}
		if page != at.page { // someone else filled the page
			at = openPage{page: page}
		}
		at.used += len(chunk)
		entries = entries[len(chunk):]
	}
	w.mu.Lock()
	w.open[key] = at
	w.mu.Unlock()
	return nil
}

// Append writes e to the ledger of zone for e.At's month (UTC), creating the ledger
// and further pages as needed. Writing an entry whose ID is already on the page it
// reaches is not an error.
func Append(ctx context.Context, c client.Client, zone string, e sdv1.LedgerEntry) error {
	_, err := appendFrom(ctx, c, zone, 1, []sdv1.LedgerEntry{e}, false)
	return err
}

// findOpenPage is the last page of zone's month of at and how many entries it holds;
// page 1 and 0 if the month has none. Pages fill in order, so the last one is found by
// doubling and then halving: about 2·log2(pages) reads.
func findOpenPage(ctx context.Context, c client.Reader, zone string, at time.Time) (openPage, error) {
	read := func(page int32) (int, bool, error) {
		l := &sdv1.SubdomainLedger{}
		err := c.Get(ctx, types.NamespacedName{Name: PageName(zone, at.Year(), at.Month(), page)}, l)
		if apierrors.IsNotFound(err) {
			return 0, false, nil
		}
		return len(l.Spec.Entries), err == nil, err
	}
	used, found, err := read(1)
	if err != nil || !found {
		return openPage{page: 1}, err
	}
	// lo exists; find hi that does not.
	lo, hi := int32(1), int32(2)
	for hi < maxPages {
		n, ok, err := read(hi)
		if err != nil {
			return openPage{}, err
		}
		if !ok {
			break
		}
		lo, used = hi, n
		hi = min(2*hi, maxPages)
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		n, ok, err := read(mid)
		if err != nil {
			return openPage{}, err
		}
		if ok {
			lo, used = mid, n
		} else {
			hi = mid
		}
	}
	return openPage{page: lo, used: used}, nil
}

// appendFrom writes entries to the first page from page on that takes them all, and
// returns that page. fresh says page is believed not to exist yet: it is created
// rather than patched first.
func appendFrom(ctx context.Context, c client.Client, zone string, page int32, entries []sdv1.LedgerEntry, fresh bool) (int32, error) {
	for ; page <= maxPages; page++ {
		err := appendAll(ctx, c, zone, page, entries, fresh)
		if !full(err) {
			return page, err
		}
		fresh = true
	}
	return page, fmt.Errorf("ledger of zone %s: more than %d pages in a month", zone, maxPages)
}

// appendAll writes entries of one month to page of the ledger of zone in one write: a
// patch, or a create if the page does not exist (tried first if fresh).
func appendAll(ctx context.Context, c client.Client, zone string, page int32, entries []sdv1.LedgerEntry, fresh bool) error {
	at := entries[0].At.UTC()
	name := PageName(zone, at.Year(), at.Month(), page)
	ops := make([]map[string]any, len(entries))
	for i, e := range entries {
		ops[i] = map[string]any{"op": "add", "path": "/spec/entries/-", "value": e}
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	create := func() error {
		l := &sdv1.SubdomainLedger{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: sdv1.SubdomainLedgerSpec{Zone: zone, Year: int32(at.Year()), Month: int32(at.Month()), Page: page, Entries: entries}}
		return c.Create(ctx, l)
	}
	if fresh {
		if err := create(); err == nil || !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	for range 3 {
		l := &sdv1.SubdomainLedger{ObjectMeta: metav1.ObjectMeta{Name: name}}
		err = c.Patch(ctx, l, client.RawPatch(types.JSONPatchType, patch))
		switch {
		case err == nil:
			return nil
		case duplicate(err) && len(entries) == 1:
			return nil
		case duplicate(err):
			return err // the caller retries the entries one by one
		case apierrors.IsNotFound(err):
			err = create()
			if err == nil || !apierrors.IsAlreadyExists(err) {
				return err
			}
			// Someone created it meanwhile: append again.
		default:
			return err
		}
	}
	return fmt.Errorf("appending to ledger %s: gave up after retries", name)
}

// duplicate tells the API server's refusal of a second entry with the same id.
func duplicate(err error) bool {
	return apierrors.IsInvalid(err) && strings.Contains(err.Error(), "Duplicate value")
}

// full tells the API server's refusal of more entries than a page holds.
func full(err error) bool {
	return apierrors.IsInvalid(err) && strings.Contains(err.Error(), "Too many")
}
