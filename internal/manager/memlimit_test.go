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

package manager_test

import (
	"math"
	"strings"
	"testing"

	"github.com/kominfo/subdomain-operator/internal/manager"
)

func TestMemoryLimit(t *testing.T) {
	const mi = 1 << 20
	for _, c := range []struct {
		gomemlimit, limit string
		ratio             float64
		want              int64
		why, err          string
	}{
		{"", "167772160", 0.75, 120 * mi, "75% of MEMORY_LIMIT 167772160", ""}, // resourceFieldRef gives bytes
		{"", "160Mi", 0.75, 120 * mi, "75% of MEMORY_LIMIT 160Mi", ""},
		{"", "1Gi", 1, 1 << 30, "100%", ""},
		{"100MiB", "160Mi", 0.75, 0, "GOMEMLIMIT is set", ""},
		{"", "", 0.75, 0, "no MEMORY_LIMIT", ""},
		{"", "160Mi", 0, 0, "disabled", ""},
		{"", "160Mi", 1.5, 0, "", "not within (0, 1]"},
		{"", "160Mi", -0.1, 0, "", "not within (0, 1]"},
		{"", "160Mi", math.NaN(), 0, "", "not within (0, 1]"},
		{"", "lots", 0.75, 0, "", `MEMORY_LIMIT "lots"`},
		{"", "0", 0.75, 0, "", "not a positive number"},
		{"", "-5Mi", 0.75, 0, "", "not a positive number"},
	} {
		got, why, err := manager.MemoryLimit(c.gomemlimit, c.limit, c.ratio)
		if got != c.want || !strings.Contains(why, c.why) || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("MemoryLimit(%q, %q, %v) = %d, %q, %v; want %d, %q, error %q", c.gomemlimit, c.limit, c.ratio, got, why, err, c.want, c.why, c.err)
		}
	}
}
