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
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/ledger"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestAppend: appends create the month's ledger, are idempotent by ID, and the API
// server refuses to change or remove an entry.
func TestAppend(t *testing.T) {
	env, err := testenv.Start(testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	c := env.Client
	at := metav1.NewTime(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	start := time.Now()
	const n = 300
	for i := range n {
		e := sdv1.LedgerEntry{ID: fmt.Sprintf("uid-%d/Requested/", i), Type: sdv1.LedgerRequested, At: at,
			Request: fmt.Sprintf("opd%d", i), FQDN: fmt.Sprintf("opd%d.pontianak.go.id", i), OPD: "Dinas " + strings.Repeat("x", 40)}
		if err := ledger.Append(ctx, c, "pontianak", e); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d appends in %s (%s each)", n, time.Since(start), time.Since(start)/n)
	// The batching writer, from 8 goroutines at once.
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	w := ledger.NewWriter(c)
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
	// A batch holding a duplicate still stores the others.
	dupBatch := []string{"uid-1/Requested/", "uid-new/Requested/"}
	for _, id := range dupBatch {
		go func() {
			_ = w.Append(ctx, "kalbar", sdv1.LedgerEntry{ID: id, Type: sdv1.LedgerRequested, At: at, Request: "x"})
		}()
	}
	kl := &sdv1.SubdomainLedger{}
	err = testenv.Eventually(ctx, 10*time.Second, 50*time.Millisecond, func() (bool, error) {
		return len(kl.Spec.Entries) == n+1, c.Get(ctx, types.NamespacedName{Name: "kalbar-2026-11"}, kl)
	})
	if err != nil {
		t.Fatalf("kalbar ledger has %d entries, want %d: %v", len(kl.Spec.Entries), n+1, err)
	}
	// Idempotent.
	if err := ledger.Append(ctx, c, "pontianak", sdv1.LedgerEntry{ID: "uid-0/Requested/", Type: sdv1.LedgerRequested, At: at, Request: "opd0"}); err != nil {
		t.Fatalf("a repeated append must be a no-op: %v", err)
	}
	l := &sdv1.SubdomainLedger{}
	if err := c.Get(ctx, types.NamespacedName{Name: "pontianak-2026-11"}, l); err != nil {
		t.Fatal(err)
	}
	if len(l.Spec.Entries) != n || l.Spec.Year != 2026 || l.Spec.Month != 11 {
		t.Fatalf("ledger has %d entries (want %d), year %d month %d", len(l.Spec.Entries), n, l.Spec.Year, l.Spec.Month)
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
}
