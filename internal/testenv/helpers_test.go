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

package testenv

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestForEach: every op runs once, never more than workers at a time, and an error is
// returned without stopping the others.
func TestForEach(t *testing.T) {
	var running, peak, ran atomic.Int64
	seen := make([]atomic.Int64, 200)
	boom := errors.New("boom")
	err := ForEach(200, 4, func(i int) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		seen[i].Add(1)
		ran.Add(1)
		if i == 17 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("error = %v, want boom", err)
	}
	if ran.Load() != 200 || peak.Load() > 4 {
		t.Errorf("ran %d ops (want 200), %d at once (want at most 4)", ran.Load(), peak.Load())
	}
	for i := range seen {
		if seen[i].Load() != 1 {
			t.Fatalf("op %d ran %d times", i, seen[i].Load())
		}
	}
}

// TestMetric: samples of the named metric are summed, labels filtered, and a metric
// whose name extends the asked one is not counted.
func TestMetric(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `# HELP x_total a counter
x_total{verb="POST",code="201"} 3
x_total{verb="GET",code="200"} 5
x_total_extra{verb="POST"} 100
x_total 2
leader_election_master_status{name="a"} 1
`)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		keep func(string) bool
		want float64
	}{
		{"x_total", nil, 10},
		{"x_total", func(l string) bool { return l != "" && l[0] == '{' && len(l) > 1 && l[1:] == `verb="POST",code="201"` }, 3},
		{"leader_election_master_status", nil, 1},
		{"absent", nil, 0},
	} {
		got, err := Metric(srv.URL, tc.name, tc.keep)
		if err != nil || got != tc.want {
			t.Errorf("Metric(%s) = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}
