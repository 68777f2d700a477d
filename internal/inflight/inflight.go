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

// Package inflight remembers the objects this process has just created, or is about to
// create, until its informer cache shows them. Controllers use it so that a reconcile
// running before the cache caught up neither creates the object again (a refused write)
// nor, when allocating, picks the address a concurrent worker is taking.
//
// It is an optimisation only: the API server still arbitrates every create, so a lost
// or expired entry costs one refused write, never a duplicate.
package inflight

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Set is a set of keys, each forgotten after TTL or when Observed. Safe for concurrent use.
type Set struct {
	mu    sync.Mutex
	clock clock.PassiveClock
	ttl   time.Duration
	at    map[string]time.Time
	// sweepAt is the size at which Add next sweeps expired keys. It is twice the size
	// left after a sweep, so that sweeping costs O(1) per Add even when a burst keeps
	// thousands of keys fresh (sweeping at a fixed size cost a walk of the whole set on
	// every Add in a batch of 5,000 requests).
	sweepAt int
}

// minSweep is the smallest set that is swept.
const minSweep = 4096

// New returns a Set whose entries expire after ttl.
func New(c clock.PassiveClock, ttl time.Duration) *Set {
	return &Set{clock: c, ttl: ttl, at: map[string]time.Time{}, sweepAt: minSweep}
}

// Add records key. It is false when key is already recorded and not expired: someone
// else in this process is creating it.
func (s *Set) Add(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if t, ok := s.at[key]; ok && now.Sub(t) < s.ttl {
		return false
	}
	s.at[key] = now
	if len(s.at) >= s.sweepAt {
		s.sweep(now)
		s.sweepAt = max(minSweep, 2*len(s.at))
	}
	return true
}

// Pending is how much longer key stays recorded; zero when it is not.
func (s *Set) Pending(key string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[key]
	if !ok {
		return 0
	}
	left := s.ttl - s.clock.Now().Sub(t)
	if left <= 0 {
		delete(s.at, key)
		return 0
	}
	return left
}

// Observed forgets key: the cache shows it, or the create failed.
func (s *Set) Observed(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.at, key)
}

// Len is the number of recorded keys, expired ones included until swept.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.at)
}

func (s *Set) sweep(now time.Time) {
	for k, t := range s.at {
		if now.Sub(t) >= s.ttl {
			delete(s.at, k)
		}
	}
}
