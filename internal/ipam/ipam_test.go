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

package ipam

import (
	"fmt"
	"net/netip"
	"testing"
)

func TestPool(t *testing.T) {
	for _, tc := range []struct {
		cidrs    []string
		capacity int64
		first    string
		last     string
	}{
		{[]string{"10.20.0.0/24"}, 254, "10.20.0.1", "10.20.0.254"},
		{[]string{"10.20.0.0/31"}, 2, "10.20.0.0", "10.20.0.1"},
		{[]string{"10.20.0.7/32"}, 1, "10.20.0.7", "10.20.0.7"},
		{[]string{"10.20.0.0/30", "10.30.0.0/30"}, 4, "10.20.0.1", "10.30.0.2"},
		{[]string{"fd00::/126"}, 3, "fd00::1", "fd00::3"},
	} {
		p, err := Parse(tc.cidrs)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Capacity(); got != tc.capacity {
			t.Errorf("%v capacity = %d, want %d", tc.cidrs, got, tc.capacity)
		}
		var all []netip.Addr
		p.Each(1000, func(a netip.Addr) bool { all = append(all, a); return true })
		if int64(len(all)) != tc.capacity || all[0].String() != tc.first || all[len(all)-1].String() != tc.last {
			t.Errorf("%v walks %v", tc.cidrs, all)
		}
		for _, a := range all {
			if !p.Contains(a) {
				t.Errorf("%v does not contain its own %s", tc.cidrs, a)
			}
		}
		// A walk from offset k is the tail of the whole walk, offsets included.
		for k := range int64(len(all)) + 1 {
			var tail []netip.Addr
			p.EachFrom(k, 1000, func(off int64, a netip.Addr) bool {
				if off != k+int64(len(tail)) {
					t.Errorf("%v from %d: offset %d for %s", tc.cidrs, k, off, a)
				}
				tail = append(tail, a)
				return true
			})
			if fmt.Sprint(tail) != fmt.Sprint(all[k:]) {
				t.Errorf("%v from %d walks %v, want %v", tc.cidrs, k, tail, all[k:])
			}
		}
	}
	v6, _ := Parse([]string{"fd00::/64", "10.0.0.0/30"})
	var got []string
	v6.EachFrom(1<<62, 2, func(_ int64, a netip.Addr) bool { got = append(got, a.String()); return true })
	if want := "[fd00::4000:0:0:1 fd00::4000:0:0:2]"; fmt.Sprint(got) != want {
		t.Errorf("far into a /64: %v, want %s", got, want)
	}
	p, _ := Parse([]string{"10.20.0.0/24"})
	for _, a := range []string{"10.20.0.0", "10.20.0.255", "10.21.0.1"} {
		if p.Contains(netip.MustParseAddr(a)) {
			t.Errorf("%s must not be usable", a)
		}
	}
	big, _ := Parse([]string{"fd00::/64"})
	n := 0
	big.Each(10, func(netip.Addr) bool { n++; return true })
	if n != 10 {
		t.Errorf("walk limit ignored: %d", n)
	}
	if _, err := Parse([]string{"nope"}); err == nil {
		t.Error("bad CIDR accepted")
	}
}

// TestOverlappingEntries: an entry listed twice or inside another adds no address:
// capacity counts each address once, and the walk gives each once.
func TestOverlappingEntries(t *testing.T) {
	for _, tc := range []struct {
		cidrs []string
		want  int64
	}{
		{[]string{"10.20.0.0/24", "10.20.0.0/25"}, 254},
		{[]string{"10.20.0.0/25", "10.20.0.0/24"}, 254},
		{[]string{"10.20.0.0/24", "10.20.0.0/24"}, 254},
		{[]string{"10.20.0.0/30", "10.20.0.4/30", "10.20.0.0/30"}, 4},
		{[]string{"fd00::/126", "fd00::/127"}, 3},
	} {
		p, err := Parse(tc.cidrs)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Capacity(); got != tc.want {
			t.Errorf("%v: capacity %d, want %d", tc.cidrs, got, tc.want)
		}
		seen := map[netip.Addr]bool{}
		p.Each(1000, func(a netip.Addr) bool {
			if seen[a] {
				t.Errorf("%v: %s walked twice", tc.cidrs, a)
			}
			seen[a] = true
			return true
		})
		if int64(len(seen)) != tc.want {
			t.Errorf("%v: walked %d addresses, want %d", tc.cidrs, len(seen), tc.want)
		}
	}
}
