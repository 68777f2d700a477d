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
	"encoding/json"
	"fmt"
	"maps"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// TestZoneStatusPatch applies zoneStatusPatch's patch to the old zone's JSON, as the
// API server does, and checks that it gives the new status - the same as
// client.MergeFrom's patch gives - and that it carries only the names that changed.
func TestZoneStatusPatch(t *testing.T) {
	many := map[string]string{}
	for i := range 5000 {
		many[fmt.Sprintf("situs%d.example.go.id", i)] = fmt.Sprintf("situs%d", i)
	}
	plusOne := maps.Clone(many)
	plusOne["baru.example.go.id"] = "baru"
	ready := []metav1.Condition{{Type: sdv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Ready", Message: "m", ObservedGeneration: 2}}
	for _, tc := range []struct {
		name     string
		old, now sdv1.SubdomainZoneStatus
		// names are the claimedNames keys the patch may carry.
		names []string
	}{
		{name: "nothing changed", old: sdv1.SubdomainZoneStatus{ClaimedNames: map[string]string{"a.x": "a"}}, now: sdv1.SubdomainZoneStatus{ClaimedNames: map[string]string{"a.x": "a"}}},
		{name: "first name", now: sdv1.SubdomainZoneStatus{ClaimedNames: map[string]string{"a.x": "a"}}, names: []string{"a.x"}},
		{name: "one added to 5,000", old: sdv1.SubdomainZoneStatus{ClaimedNames: many, Allocated: 5000}, now: sdv1.SubdomainZoneStatus{ClaimedNames: plusOne, Allocated: 5001}, names: []string{"baru.example.go.id"}},
		{name: "one gone from 5,001", old: sdv1.SubdomainZoneStatus{ClaimedNames: plusOne}, now: sdv1.SubdomainZoneStatus{ClaimedNames: many}, names: []string{"baru.example.go.id"}},
		{name: "held by another request", old: sdv1.SubdomainZoneStatus{ClaimedNames: map[string]string{"a.x": "a", "b.x": "b"}}, now: sdv1.SubdomainZoneStatus{ClaimedNames: map[string]string{"a.x": "c", "b.x": "b"}}, names: []string{"a.x"}},
		{name: "last one gone", old: sdv1.SubdomainZoneStatus{ClaimedNames: map[string]string{"a.x": "a", "b.x": "b"}}, now: sdv1.SubdomainZoneStatus{}},
		{name: "names gone, empty map", old: sdv1.SubdomainZoneStatus{ClaimedNames: map[string]string{"a.x": "a"}}, now: sdv1.SubdomainZoneStatus{ClaimedNames: map[string]string{}}},
		{name: "conditions only", old: sdv1.SubdomainZoneStatus{ClaimedNames: many}, now: sdv1.SubdomainZoneStatus{ClaimedNames: many, Conditions: ready, ObservedGeneration: 2}},
		{name: "conditions and names", old: sdv1.SubdomainZoneStatus{Conditions: ready}, now: sdv1.SubdomainZoneStatus{ClaimedNames: map[string]string{"a.x": "a"}, Capacity: 10}, names: []string{"a.x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			meta := metav1.ObjectMeta{Name: "z", ResourceVersion: "7", Generation: 2}
			spec := sdv1.SubdomainZoneSpec{Domain: "example.go.id"}
			base := &sdv1.SubdomainZone{ObjectMeta: meta, Spec: spec, Status: tc.old}
			zone := &sdv1.SubdomainZone{ObjectMeta: meta, Spec: spec, Status: tc.now}
			if got, want := zoneStatusChanged(&base.Status, &zone.Status), tc.name != "nothing changed"; got != want {
				t.Errorf("zoneStatusChanged = %v, want %v", got, want)
			}
			patch, err := zoneStatusPatch{base: base}.Data(zone)
			if err != nil {
				t.Fatal(err)
			}
			var sent struct {
				Status struct {
					ClaimedNames map[string]*string `json:"claimedNames"`
				} `json:"status"`
			}
			if err := json.Unmarshal(patch, &sent); err != nil {
				t.Fatalf("%v: %s", err, patch)
			}
			if len(sent.Status.ClaimedNames) != len(tc.names) {
				t.Errorf("the patch carries %d names, want %d (%v); %.300s", len(sent.Status.ClaimedNames), len(tc.names), tc.names, patch)
			}
			for _, n := range tc.names {
				if _, ok := sent.Status.ClaimedNames[n]; !ok {
					t.Errorf("the patch lacks %s: %.300s", n, patch)
				}
			}
			mergeFrom, err := client.MergeFrom(base).Data(zone)
			if err != nil {
				t.Fatal(err)
			}
			for what, p := range map[string][]byte{"zoneStatusPatch": patch, "MergeFrom": mergeFrom} {
				old, err := json.Marshal(base)
				if err != nil {
					t.Fatal(err)
				}
				applied, err := jsonpatch.MergePatch(old, p)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				got := &sdv1.SubdomainZone{}
				if err := json.Unmarshal(applied, got); err != nil {
					t.Fatal(err)
				}
				if !equality.Semantic.DeepEqual(got.Status, zone.Status) || len(got.Status.ClaimedNames) != len(zone.Status.ClaimedNames) {
					t.Errorf("%s applied gives a status of %d names, %d conditions, allocated %d; want %d, %d, %d",
						what, len(got.Status.ClaimedNames), len(got.Status.Conditions), got.Status.Allocated,
						len(zone.Status.ClaimedNames), len(zone.Status.Conditions), zone.Status.Allocated)
				}
			}
		})
	}
}

// TestZoneCopyShares checks that zoneCopy copies everything but claimedNames: a change
// to the copy's conditions or spec does not reach the original.
func TestZoneCopyShares(t *testing.T) {
	orig := &sdv1.SubdomainZone{Spec: sdv1.SubdomainZoneSpec{Domain: "x", ReservedNames: []string{"www"}},
		Status: sdv1.SubdomainZoneStatus{ClaimedNames: map[string]string{"a.x": "a"}, Conditions: []metav1.Condition{{Type: "Ready"}}}}
	c := zoneCopy(orig)
	c.Spec.ReservedNames[0] = "changed"
	c.Status.Conditions[0].Type = "changed"
	if orig.Spec.ReservedNames[0] != "www" || orig.Status.Conditions[0].Type != "Ready" {
		t.Errorf("zoneCopy shares more than claimedNames: %+v", orig)
	}
	if len(c.Status.ClaimedNames) != 1 {
		t.Errorf("zoneCopy lost claimedNames: %v", c.Status.ClaimedNames)
	}
}

// TestStatusCoalesce: a second per started 1,000 names, from 1 s to 10 s.
func TestStatusCoalesce(t *testing.T) {
	for names, want := range map[int]time.Duration{0: time.Second, 1: time.Second, 1000: time.Second, 1001: 2 * time.Second,
		5000: 5 * time.Second, 9999: 10 * time.Second, 25000: 10 * time.Second} {
		if got := statusCoalesce(names); got != want {
			t.Errorf("statusCoalesce(%d) = %s, want %s", names, got, want)
		}
	}
}
