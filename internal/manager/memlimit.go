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

package manager

import (
	"fmt"
	"math"

	"k8s.io/apimachinery/pkg/api/resource"
)

// DefaultMemoryLimitRatio is the share of the container's memory limit the Go heap is
// held to. The rest is for what the runtime does not count against GOMEMLIMIT and the
// kernel counts against the container: mostly the binary's own pages (about 28 MiB).
const DefaultMemoryLimitRatio = 0.75

// MemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit) for a container
// whose memory limit is containerLimit (MEMORY_LIMIT, which the manifests fill from
// limits.memory: bytes, or a quantity such as 160Mi): ratio of it. It is 0, with why,
// when GOMEMLIMIT is set (the runtime applied it; it wins), when there is no container
// limit, or when ratio is 0 (disabled).
func MemoryLimit(gomemlimit, containerLimit string, ratio float64) (int64, string, error) {
	switch {
	case gomemlimit != "":
		return 0, "GOMEMLIMIT is set", nil
	case containerLimit == "":
		return 0, "no MEMORY_LIMIT", nil
	case ratio == 0:
		return 0, "disabled", nil
	case ratio < 0 || ratio > 1 || math.IsNaN(ratio):
		return 0, "", fmt.Errorf("memory limit ratio %v is not within (0, 1]", ratio)
	}
	q, err := resource.ParseQuantity(containerLimit)
	if err != nil {
		return 0, "", fmt.Errorf("MEMORY_LIMIT %q: %w", containerLimit, err)
	}
	limit, ok := q.AsInt64()
	if !ok || limit <= 0 {
		return 0, "", fmt.Errorf("MEMORY_LIMIT %q is not a positive number of bytes", containerLimit)
	}
	return int64(float64(limit) * ratio), fmt.Sprintf("%.0f%% of MEMORY_LIMIT %s", ratio*100, q.String()), nil
}
