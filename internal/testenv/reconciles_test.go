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
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
)

// TestReconciles: the lines controller-runtime writes at the end of a reconcile are
// counted per controller and name, its other lines are not, and V(5) is not passed on.
func TestReconciles(t *testing.T) {
	var out []string
	r := &Reconciles{}
	log := logr.New(r.Sink(funcr.New(func(prefix, args string) { out = append(out, args) }, funcr.Options{Verbosity: 1}).GetSink()))
	ctrl := log.WithValues("controller", "subdomainrequest", "controllerKind", "SubdomainRequest")
	req := func(name string) logr.Logger {
		return ctrl.WithValues("namespace", "", "name", name).WithValues("reconcileID", "x")
	}
	req("a").V(5).Info("Reconciling")
	req("a").V(5).Info("Reconcile successful")
	req("a").V(5).Info("Reconciling")
	req("a").V(5).Info("Reconcile done, requeueing after 1s")
	req("b").V(5).Info("Reconciling")
	req("b").Error(errors.New("boom"), "Reconciler error")
	req("b").Info("something else")
	log.WithValues("controller", "subdomainzone", "name", "a").V(5).Info("Reconcile successful")

	for _, tc := range []struct {
		controller, name string
		mark, finished   int
	}{{"subdomainrequest", "a", 2, 2}, {"subdomainrequest", "b", 1, 1}, {"subdomainzone", "a", 0, 1}, {"subdomainrequest", "c", 0, 0}} {
		if got := r.Mark(tc.controller, tc.name); got != tc.mark {
			t.Errorf("Mark(%s, %s) = %d, want %d", tc.controller, tc.name, got, tc.mark)
		}
		if got := r.Finished(tc.controller, tc.name); got != tc.finished {
			t.Errorf("Finished(%s, %s) = %d, want %d", tc.controller, tc.name, got, tc.finished)
		}
	}
	if len(out) != 2 || !strings.Contains(out[0], "boom") || !strings.Contains(out[1], "something else") {
		t.Errorf("passed on %q, want only the error and the V(0) line", out)
	}

	ctx := context.Background()
	if err := r.Wait(ctx, time.Second, "subdomainrequest", "a", 1); err != nil {
		t.Error(err)
	}
	if err := r.Wait(ctx, 50*time.Millisecond, "subdomainrequest", "a", 2); err == nil {
		t.Error("Wait for a third reconcile of a returned without one")
	}
	// A reconcile running at the mark does not end the wait; the next one does.
	req("c").V(5).Info("Reconciling")
	mark := r.Mark("subdomainrequest", "c")
	done := make(chan error, 1)
	go func() { done <- r.Wait(ctx, 10*time.Second, "subdomainrequest", "c", mark) }()
	req("c").V(5).Info("Reconcile successful")
	select {
	case err := <-done:
		t.Errorf("Wait returned at the end of the reconcile running at the mark: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	req("c").V(5).Info("Reconciling")
	req("c").V(5).Info("Reconcile successful")
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// TestReconcilesSkip: a reconcile that logs Skip (it returned without looking, at any
// V level the delegate may not even show) does not end a Wait; the next one does, and
// the Skip line is passed on only as the delegate's verbosity allows.
func TestReconcilesSkip(t *testing.T) {
	var out []string
	r := &Reconciles{Skip: "stale copy"}
	log := logr.New(r.Sink(funcr.New(func(prefix, args string) { out = append(out, args) }, funcr.Options{Verbosity: 0}).GetSink()))
	req := log.WithValues("controller", "subdomainrequest", "namespace", "", "name", "s").WithValues("reconcileID", "x")

	mark := r.Mark("subdomainrequest", "s")
	done := make(chan error, 1)
	go func() { done <- r.Wait(context.Background(), 10*time.Second, "subdomainrequest", "s", mark) }()
	req.V(5).Info("Reconciling")
	req.V(1).Info("stale copy", "resourceVersion", "7")
	req.V(5).Info("Reconcile done, requeueing after 250ms")
	select {
	case err := <-done:
		t.Fatalf("Wait returned at the end of a skipped reconcile: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if got := r.Finished("subdomainrequest", "s"); got != 1 {
		t.Errorf("Finished = %d, want 1 (a skipped reconcile still finished)", got)
	}
	req.V(5).Info("Reconciling")
	req.V(5).Info("Reconcile successful")
	if err := <-done; err != nil {
		t.Error(err)
	}
	// The Skip mark is the skipped reconcile's only: the one after it counted.
	if err := r.Wait(context.Background(), time.Second, "subdomainrequest", "s", mark+1); err != nil {
		t.Error(err)
	}
	if len(out) != 0 {
		t.Errorf("passed on %q, want nothing at verbosity 0", out)
	}
}
