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
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// Reconciles counts, per controller and object name, the reconciles an in-process
// operator has finished, from the log lines controller-runtime writes at the end of
// each one ("Reconcile successful", "Reconcile done, requeueing...", at V(5), and
// "Reconciler error") and at its start ("Reconciling", V(5)). A test uses it to know that the operator has looked at an
// object after a change that leaves no trace of its own (a label, a removed
// annotation, a restart), instead of sleeping and hoping.
//
// Mark before the change, Wait after it: Wait returns once a reconcile that started
// after the mark has finished (a reconcile already running at the mark may not have
// seen the change; one object is never reconciled twice at once), not counting one
// that logged Skip: it returned without looking (a stale cached copy, say), so it
// proves nothing.
type Reconciles struct {
	// Skip, when set, is the message a reconcile logs (through the logger it was
	// given) when it returns without looking at the object.
	Skip string

	mu       sync.Mutex
	started  map[string]int // controller + "/" + name -> reconciles started
	finished map[string]int // ... and finished
	// looked is the number (1-based, in start order) of the last finished reconcile
	// that did not log Skip; skipping marks the running one that did.
	looked   map[string]int
	skipping map[string]bool
	ch       chan struct{} // closed and replaced on every count
}

// Sink wraps delegate (the logger tests write to) so that r counts reconciles. The
// V(5) lines it counts are not passed on: they would only fill the log.
func (r *Reconciles) Sink(delegate logr.LogSink) logr.LogSink {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ch == nil {
		r.started, r.finished, r.looked, r.skipping = map[string]int{}, map[string]int{}, map[string]int{}, map[string]bool{}
		r.ch = make(chan struct{})
	}
	if d, ok := delegate.(logr.CallDepthLogSink); ok {
		delegate = d.WithCallDepth(1) // this wrapper's frame
	}
	return &countingSink{r: r, delegate: delegate}
}

// Mark is the number of reconciles of object name by controller started so far.
func (r *Reconciles) Mark(controller, name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started[controller+"/"+name]
}

// Finished is the number of reconciles of object name by controller finished so far.
func (r *Reconciles) Finished(controller, name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.finished[controller+"/"+name]
}

// Wait waits until a reconcile of name by controller that started after mark (a
// Mark reading) has finished, having looked at the object (no Skip logged).
func (r *Reconciles) Wait(ctx context.Context, timeout time.Duration, controller, name string, mark int) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		r.mu.Lock()
		key := controller + "/" + name
		n, looked, ch := r.finished[key], r.looked[key], r.ch
		r.mu.Unlock()
		if looked > mark {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%s did not reconcile %s within %s (%d reconciles finished, the last that looked the %d., waiting for one after the %d.)",
				controller, name, timeout, n, looked, mark)
		}
	}
}

// start counts a reconcile of name by controller begun.
func (r *Reconciles) start(controller, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started[controller+"/"+name]++
	r.notify()
}

// finish counts a reconcile of name by controller ended. Reconciles of one object
// never overlap: the k-th to finish is the k-th to start.
func (r *Reconciles) finish(controller, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := controller + "/" + name
	r.finished[key]++
	if !r.skipping[key] {
		r.looked[key] = r.finished[key]
	}
	delete(r.skipping, key)
	r.notify()
}

// notify wakes the waiters; r.mu is held.
func (r *Reconciles) notify() {
	close(r.ch)
	r.ch = make(chan struct{})
}

// skipped records that the running reconcile of name logged Skip.
func (r *Reconciles) skipped(controller, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.skipping[controller+"/"+name] = true
}

// countingSink is a logr.LogSink that counts finished reconciles and passes the rest
// on. It keeps the controller and name the logger was given with WithValues.
type countingSink struct {
	r                *Reconciles
	delegate         logr.LogSink
	controller, name string
}

// reconcileLevel is the V level of controller-runtime's per-reconcile lines.
const reconcileLevel = 5

func (s *countingSink) Init(info logr.RuntimeInfo) { s.delegate.Init(info) }

func (s *countingSink) Enabled(level int) bool {
	// With Skip set every line comes to Info, which passes on only what the delegate
	// wants: the Skip line's level is the operator's to choose.
	return level == reconcileLevel || s.r.Skip != "" || s.delegate.Enabled(level)
}

func (s *countingSink) Info(level int, msg string, kv ...any) {
	if level == reconcileLevel && s.name != "" {
		switch {
		case msg == "Reconciling":
			s.r.start(s.controller, s.name)
		case msg == "Reconcile successful" || strings.HasPrefix(msg, "Reconcile done"):
			s.r.finish(s.controller, s.name)
		}
	}
	if s.r.Skip != "" && msg == s.r.Skip && s.name != "" {
		s.r.skipped(s.controller, s.name)
	}
	if s.delegate.Enabled(level) {
		s.delegate.Info(level, msg, kv...)
	}
}

func (s *countingSink) Error(err error, msg string, kv ...any) {
	if msg == "Reconciler error" && s.name != "" {
		s.r.finish(s.controller, s.name)
	}
	s.delegate.Error(err, msg, kv...)
}

func (s *countingSink) WithValues(kv ...any) logr.LogSink {
	c := *s
	c.delegate = s.delegate.WithValues(kv...)
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		v, _ := kv[i+1].(string)
		switch k {
		case "controller":
			c.controller = v
		case "name":
			c.name = v
		}
	}
	return &c
}

func (s *countingSink) WithName(name string) logr.LogSink {
	c := *s
	c.delegate = s.delegate.WithName(name)
	return &c
}

func (s *countingSink) WithCallDepth(depth int) logr.LogSink {
	c := *s
	if d, ok := s.delegate.(logr.CallDepthLogSink); ok {
		c.delegate = d.WithCallDepth(depth)
	}
	return &c
}
