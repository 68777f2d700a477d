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

package inflight_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kominfo/subdomain-operator/internal/inflight"
)

func TestSet(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s := inflight.New(clk, 10*time.Second)
	steps := []struct {
		do      func() any
		want    any
		comment string
	}{
		{func() any { return s.Add("a") }, true, "first add"},
		{func() any { return s.Add("a") }, false, "second add while pending"},
		{func() any { return s.Pending("a") }, 10 * time.Second, "full ttl left"},
		{func() any { clk.SetTime(clk.Now().Add(4 * time.Second)); return s.Pending("a") }, 6 * time.Second, "ttl counts down"},
		{func() any { return s.Pending("b") }, time.Duration(0), "unknown key"},
		{func() any { clk.SetTime(clk.Now().Add(6 * time.Second)); return s.Pending("a") }, time.Duration(0), "expired"},
		{func() any { return s.Add("a") }, true, "add again after expiry"},
		{func() any { s.Observed("a"); return s.Pending("a") }, time.Duration(0), "observed forgets"},
		{func() any { return s.Add("a") }, true, "add after observed"},
	}
	for i, st := range steps {
		if got := st.do(); got != st.want {
			t.Fatalf("step %d (%s): got %v, want %v", i, st.comment, got, st.want)
		}
	}
}

// TestConcurrentAdd: of many goroutines adding the same keys, exactly one wins each.
func TestConcurrentAdd(t *testing.T) {
	s := inflight.New(clocktesting.NewFakePassiveClock(time.Now()), time.Minute)
	var mu sync.Mutex
	wins := map[string]int{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 500 {
				key := fmt.Sprint(k)
				if s.Add(key) {
					mu.Lock()
					wins[key]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(wins) != 500 {
		t.Fatalf("%d keys won, want 500", len(wins))
	}
	for k, n := range wins {
		if n != 1 {
			t.Fatalf("key %s won %d times", k, n)
		}
	}
}

// TestSweep: expired keys do not pile up.
func TestSweep(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Now())
	s := inflight.New(clk, time.Second)
	for k := range 4000 {
		s.Add(fmt.Sprint(k))
	}
	clk.SetTime(clk.Now().Add(2 * time.Second))
	for k := range 200 {
		s.Add(fmt.Sprint("new", k))
	}
	if n := s.Len(); n > 300 {
		t.Fatalf("%d keys kept after expiry, want the 200 live ones", n)
	}
}

// TestSweepBurst: in a burst that keeps thousands of keys fresh, expired keys still
// go, and fresh ones never do.
func TestSweepBurst(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s := inflight.New(clk, 10*time.Second)
	for i := range 6000 {
		s.Add(fmt.Sprint("old-", i))
	}
	if s.Len() != 6000 {
		t.Fatalf("fresh keys swept: %d left of 6000", s.Len())
	}
	clk.SetTime(clk.Now().Add(11 * time.Second))
	for i := range 20000 {
		s.Add(fmt.Sprint("new-", i))
	}
	// The old keys expired and went with a sweep; every new key is still there.
	if s.Len() != 20000 {
		t.Fatalf("%d keys left, want the 20000 fresh ones", s.Len())
	}
	for _, k := range []string{"new-0", "new-19999"} {
		if s.Pending(k) == 0 {
			t.Errorf("fresh key %s was swept", k)
		}
	}
}
