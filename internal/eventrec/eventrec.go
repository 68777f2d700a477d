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

// Package eventrec records Events (events.k8s.io/v1) and forgets them once written.
//
// client-go's events broadcaster keeps every Event it wrote for six to twelve minutes
// to fold repeats into a series. The operator emits one Event per transition of a
// request, never the same one in a loop, so there is nothing to fold; but a batch of
// 5,000 requests left 5,000 Events (about 6 MB) in that cache, the largest thing in
// the manager's heap after the informer caches. A Recorder queues an Event, writes it
// with the manager's client (its QPS limit), and drops it. When the queue is full (the
// API server is down or slow) new Events are dropped and counted, as client-go's
// broadcaster drops them: an Event is a notice, never state.
package eventrec

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/reference"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// QueueSize is how many Events wait to be written before new ones are dropped.
const QueueSize = 1000

// noteMax is the API server's limit on an Event's note.
const noteMax = 1024

// attempts and backoff bound the retries of one Event's write.
const (
	attempts = 3
	backoff  = 500 * time.Millisecond
)

var dropped = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "subdomain_events_dropped_total",
	Help: "Events not written: the queue was full or the API server refused them.",
})

func init() { metrics.Registry.MustRegister(dropped) }

// Recorder is an events.EventRecorder that writes Events in the background. Start it
// (it is a manager Runnable); Events recorded before it starts wait in the queue.
type Recorder struct {
	client     client.Client
	scheme     *runtime.Scheme
	clock      clock.PassiveClock
	controller string
	instance   string
	queue      chan *eventsv1.Event
	// stopped is set when Start ends: an Event recorded after it is dropped and counted.
	// mu makes the check and the send one step against the stop: no Event is queued
	// after the drain looked at the queue.
	mu      sync.RWMutex
	stopped bool
}

// New returns a Recorder that reports as controller (reportingController) from this
// host (reportingInstance controller-hostname, as client-go does).
func New(c client.Client, scheme *runtime.Scheme, clk clock.PassiveClock, controller string) *Recorder {
	host, _ := os.Hostname()
	return &Recorder{client: c, scheme: scheme, clock: clk, controller: controller, instance: controller + "-" + host,
		queue: make(chan *eventsv1.Event, QueueSize)}
}

// Eventf queues an Event about regarding. It never blocks: when the queue is full the
// Event is dropped and counted.
func (r *Recorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	e, err := r.event(regarding, related, eventtype, reason, action, fmt.Sprintf(note, args...))
	if err != nil {
		dropped.Inc()
		ctrl.Log.WithName("events").Error(err, "event not recorded", "reason", reason)
		return
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.stopped {
		dropped.Inc() // the writer is gone (the manager is stopping)
		return
	}
	select {
	case r.queue <- e:
	default:
		dropped.Inc()
	}
}

// stop marks the writer gone: Events recorded from now on are dropped and counted.
func (r *Recorder) stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
}

// event builds the Event as client-go's recorder does: named after the object and the
// time, in the object's namespace (default for cluster-scoped objects).
func (r *Recorder) event(regarding, related runtime.Object, eventtype, reason, action, note string) (*eventsv1.Event, error) {
	if eventtype != corev1.EventTypeNormal && eventtype != corev1.EventTypeWarning {
		return nil, fmt.Errorf("event type %q is neither Normal nor Warning", eventtype)
	}
	ref, err := reference.GetReference(r.scheme, regarding)
	if err != nil {
		return nil, err
	}
	var rel *corev1.ObjectReference
	if related != nil {
		if rel, err = reference.GetReference(r.scheme, related); err != nil {
			return nil, err
		}
	}
	now := r.clock.Now()
	ns := ref.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	if len(note) > noteMax {
		cut := noteMax - 3
		for cut > 0 && !utf8.RuneStart(note[cut]) {
			cut-- // never half a character: the API server refuses invalid UTF-8
		}
		note = note[:cut] + "..."
	}
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s.%x", ref.Name, now.UnixNano())},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: r.controller,
		ReportingInstance:   r.instance,
		Action:              action,
		Reason:              reason,
		Regarding:           *ref,
		Related:             rel,
		Note:                note,
		Type:                eventtype,
	}, nil
}

// Start writes queued Events until ctx ends, then what is queued for up to
// drainTimeout more: the manager stops this runnable before the reconcilers, which may
// still record. What is left, and what is recorded after, is dropped and counted.
func (r *Recorder) Start(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			r.stop()
			r.drain(ctx, nil)
			return nil
		case e := <-r.queue:
			if !r.write(ctx, e) { // ctx ended during the write
				r.stop()
				r.drain(ctx, e)
				return nil
			}
		}
	}
}

// drainTimeout bounds the writes of queued Events at shutdown.
const drainTimeout = 2 * time.Second

// drain writes first (when not nil) and the queued Events within drainTimeout of the
// end of ctx; it counts the rest as dropped.
func (r *Recorder) drain(ctx context.Context, first *eventsv1.Event) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	defer cancel()
	once := func(e *eventsv1.Event) {
		if dctx.Err() != nil || !r.write(dctx, e) { // write counts what it gives up on
			dropped.Inc()
		}
	}
	if first != nil {
		once(first)
	}
	for {
		select {
		case e := <-r.queue:
			once(e)
		default:
			return
		}
	}
}

// NeedLeaderElection is false: a standby records nothing, and a replica that is
// stopping writes what it queued before it stopped (drain).
func (r *Recorder) NeedLeaderElection() bool { return false }

// write creates e, retrying a refused write a few times; one it gives up on is counted
// as dropped. It returns false, e neither written nor counted, when ctx ended first.
func (r *Recorder) write(ctx context.Context, e *eventsv1.Event) bool {
	var err error
	for i := range attempts {
		if err = r.client.Create(ctx, e); err == nil || apierrors.IsAlreadyExists(err) {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
			break // retrying cannot help (a namespace being deleted, RBAC)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff << i):
		}
	}
	dropped.Inc()
	ctrl.Log.WithName("events").V(1).Info("event not written", "reason", e.Reason, "regarding", e.Regarding.Name, "error", err.Error())
	return true
}
