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
	"testing"
	"time"
)

// TestSecondsAgreesWithTheLiveCheck: the ledger's whole seconds compared with a
// standard of whole seconds give the live check's answer (took > standard).
func TestSecondsAgreesWithTheLiveCheck(t *testing.T) {
	std := 24 * time.Hour
	for _, took := range []time.Duration{0, 900 * time.Millisecond, std - 900*time.Millisecond, std, std + time.Nanosecond,
		std + 900*time.Millisecond, std + time.Second, -time.Second} {
		if got, want := *seconds(took) > int64(std/time.Second), took > std; got != want {
			t.Errorf("%v: ledger says over=%v (%d s), the live check %v", took, got, *seconds(took), want)
		}
	}
	if got := *seconds(1500 * time.Millisecond); got != 2 {
		t.Errorf("1.5s = %d", got)
	}
}
