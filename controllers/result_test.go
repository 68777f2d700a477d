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

package controllers

import (
	"errors"
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/kominfo/subdomain-operator/internal/reconcileerr"
)

// TestResultFor: typed step errors end the reconcile without an error, each with its
// retry; an Invalid request keeps the timed look a service-level deadline asked for
// (res), or its breach would be reported only by chance.
func TestResultFor(t *testing.T) {
	deadline := ctrl.Result{RequeueAfter: 3 * time.Second}
	boom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		err     error
		res     ctrl.Result
		want    time.Duration
		wantErr error
	}{
		{"no error keeps res", nil, deadline, 3 * time.Second, nil},
		{"untyped error is returned for a rate-limited retry", boom, ctrl.Result{}, 0, boom},
		// With an error controller-runtime ignores the result (and logs that it did).
		{"untyped error drops a deadline", boom, deadline, 0, boom},
		{"conflict retries", reconcileerr.NewConflict("C", "R", "m"), ctrl.Result{}, conflictRetry, nil},
		// A served name in a refused rename's Conflict still has its old names' grace
		// periods and its service level: their deadline comes first.
		{"conflict keeps an earlier deadline", reconcileerr.NewConflict("C", "R", "m"), deadline, 3 * time.Second, nil},
		{"conflict retries before a later deadline", reconcileerr.NewConflict("C", "R", "m"), ctrl.Result{RequeueAfter: time.Hour}, conflictRetry, nil},
		{"waiting retries after its time", reconcileerr.NewWaiting("C", "R", 7*time.Second, "m"), ctrl.Result{}, 7 * time.Second, nil},
		{"waiting keeps an earlier deadline", reconcileerr.NewWaiting("C", "R", 7*time.Second, "m"), deadline, 3 * time.Second, nil},
		{"invalid keeps the deadline", reconcileerr.NewInvalid("C", "PoolExhausted", "m"), deadline, 3 * time.Second, nil},
		{"invalid without a deadline waits for a change", reconcileerr.NewInvalid("C", "PoolExhausted", "m"), ctrl.Result{}, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resultFor(tc.err, tc.res)
			if got.RequeueAfter != tc.want || !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Errorf("resultFor = %+v, %v; want RequeueAfter %s, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
