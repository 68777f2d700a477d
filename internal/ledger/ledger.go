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

// Package ledger appends to the SubdomainLedger of a zone and year. Appends are one JSON
// patch each (no read of the growing object) and idempotent: an entry's ID is its key,
// and the API server refuses a second entry with the same key.
package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// Name is the ledger object of a zone and month: <zone>-<yyyy>-<mm>. One object per
// month keeps each under the API server's object size limit at thousands of events.
func Name(zone string, year int, month time.Month) string {
	return fmt.Sprintf("%s-%04d-%02d", zone, year, int(month))
}

// Writer batches appends: entries written by concurrent reconciles within a few
// milliseconds go to their ledger in one JSON patch, so that bulk provisioning makes
// far fewer writes of the (growing) ledger object. Append blocks until its entry is
// stored. Add it to the manager; it runs on every replica.
type Writer struct {
	c  client.Client
	in chan pending
}

type pending struct {
	zone string
	e    sdv1.LedgerEntry
	done chan error
}

// batchWindow is how long the writer waits for more entries after the first.
const batchWindow = 20 * time.Millisecond

// NewWriter returns a Writer; start it with Start (a manager Runnable).
func NewWriter(c client.Client) *Writer { return &Writer{c: c, in: make(chan pending)} }

// NeedLeaderElection is false: reconciles only run on the leader anyway.
func (w *Writer) NeedLeaderElection() bool { return false }

// Append queues e and waits until it is stored.
func (w *Writer) Append(ctx context.Context, zone string, e sdv1.LedgerEntry) error {
	p := pending{zone: zone, e: e, done: make(chan error, 1)}
	select {
	case w.in <- p:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Start writes batches until ctx ends.
func (w *Writer) Start(ctx context.Context) error {
	for {
		var batch []pending
		select {
		case <-ctx.Done():
			return nil
		case p := <-w.in:
			batch = append(batch, p)
		}
		timer := time.NewTimer(batchWindow)
	collect:
		for len(batch) < 500 {
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
		w.flush(ctx, batch)
	}
}

// flush stores a batch: one patch per ledger; on any refusal each entry alone, so that
// one duplicate does not fail the others.
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
		err := appendAll(ctx, w.c, g[0].zone, entries)
		for _, p := range g {
			if err == nil || len(g) == 1 {
				p.done <- err
				continue
			}
			p.done <- Append(ctx, w.c, p.zone, p.e)
		}
	}
}

// Append writes e to the ledger of zone for e.At's month (UTC), creating the ledger.
// Writing an entry whose ID is already there is not an error.
func Append(ctx context.Context, c client.Client, zone string, e sdv1.LedgerEntry) error {
	return appendAll(ctx, c, zone, []sdv1.LedgerEntry{e})
}

// appendAll writes entries of one month to the ledger of zone in one patch.
func appendAll(ctx context.Context, c client.Client, zone string, entries []sdv1.LedgerEntry) error {
	at := entries[0].At.UTC()
	name := Name(zone, at.Year(), at.Month())
	ops := make([]map[string]any, len(entries))
	for i, e := range entries {
		ops[i] = map[string]any{"op": "add", "path": "/spec/entries/-", "value": e}
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return err
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
			l.Spec = sdv1.SubdomainLedgerSpec{Zone: zone, Year: int32(at.Year()), Month: int32(at.Month()), Entries: entries}
			err = c.Create(ctx, l)
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
