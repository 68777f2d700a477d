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

package slimcache

import "sync"

// table hands out one shared value per content, found by a hash and an equality test.
// It holds two generations of at most size hashes each: a value not asked for during
// two generations is dropped (objects holding it keep it), so the table never pins
// more than about 2*size values of deleted objects. Losing an entry only costs
// sharing, never a value.
type table[V any] struct {
	mu        sync.Mutex
	size      int
	cur, prev map[uint64][]V
}

func newTable[V any](size int) *table[V] {
	return &table[V]{size: size, cur: map[uint64][]V{}}
}

// share returns the value of hash h that equal accepts, or adds and returns fresh().
func (t *table[V]) share(h uint64, equal func(V) bool, fresh func() V) V {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v, ok := find(t.cur[h], equal); ok {
		return v
	}
	v, ok := find(t.prev[h], equal)
	if !ok {
		v = fresh()
	}
	if len(t.cur) >= t.size {
		t.prev, t.cur = t.cur, make(map[uint64][]V, t.size)
	}
	t.cur[h] = append(t.cur[h], v)
	return v
}

func find[V any](candidates []V, equal func(V) bool) (V, bool) {
	for _, c := range candidates {
		if equal(c) {
			return c, true
		}
	}
	var zero V
	return zero, false
}
