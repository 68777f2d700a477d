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

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// zoneStatusChanged says whether status b differs from a: claimedNames compared as
// maps, the rest field by field (a reflective DeepEqual of thousands of names cost an
// allocation per name).
func zoneStatusChanged(a, b *sdv1.SubdomainZoneStatus) bool {
	if !maps.Equal(a.ClaimedNames, b.ClaimedNames) {
		return true
	}
	x, y := *a, *b
	x.ClaimedNames, y.ClaimedNames = nil, nil
	return !equality.Semantic.DeepEqual(x, y)
}

// zoneStatusPatch is the zone's status write: a JSON merge patch from base, as
// client.MergeFrom makes, but with status.claimedNames diffed here name by name - the
// names added or changed with their request, those gone as null, the field itself
// null when no name is left. MergeFrom marshals both whole objects and diffs them as
// generic JSON, thousands of names twice on every zone pass of a batch.
type zoneStatusPatch struct {
	base *sdv1.SubdomainZone
}

// Type is a JSON merge patch.
func (p zoneStatusPatch) Type() types.PatchType { return types.MergePatchType }

// Data is the patch that turns p.base into obj.
func (p zoneStatusPatch) Data(obj client.Object) ([]byte, error) {
	zone, ok := obj.(*sdv1.SubdomainZone)
	if !ok {
		return nil, fmt.Errorf("zoneStatusPatch of a %T", obj)
	}
	from, to := *p.base, *zone
	from.Status.ClaimedNames, to.Status.ClaimedNames = nil, nil
	raw, err := client.MergeFrom(&from).Data(&to)
	if err != nil {
		return nil, err
	}
	names := namesPatch(p.base.Status.ClaimedNames, zone.Status.ClaimedNames)
	if names == nil {
		return raw, nil
	}
	patch := map[string]any{}
	if err := json.Unmarshal(raw, &patch); err != nil {
		return nil, err
	}
	status, _ := patch["status"].(map[string]any)
	if status == nil {
		status = map[string]any{}
		patch["status"] = status
	}
	status["claimedNames"] = names
	return json.Marshal(patch)
}

// namesPatch is the merge patch of claimedNames from old to now: nil when nothing
// changed, a JSON null (json.RawMessage) when now is empty and old was not, else a
// map of the names added or changed (with their request) and those gone (nil).
func namesPatch(old, now map[string]string) any {
	if maps.Equal(old, now) {
		return nil
	}
	if len(now) == 0 {
		return json.RawMessage("null")
	}
	diff := map[string]any{}
	for name, req := range now {
		if was, ok := old[name]; !ok || was != req {
			diff[name] = req
		}
	}
	for name := range old {
		if _, ok := now[name]; !ok {
			diff[name] = nil
		}
	}
	return diff
}
