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

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// cpuUse is the CPU time (user and system) used so far by the whole machine, by this
// process, and by each program run from the assets directory (kube-apiserver, etcd,
// the manager), summed by program name. Differences of two readings say where the
// CPU of a run went: on a machine where the batch saturates every core, throughput is
// CPU per request.
type cpuUse struct {
	machine time.Duration
	procs   map[string]time.Duration
}

func readCPU(assets string) cpuUse {
	u := cpuUse{procs: map[string]time.Duration{}}
	if raw, err := os.ReadFile("/proc/stat"); err == nil {
		// cpu  user nice system idle iowait irq softirq steal ...
		line, _, _ := strings.Cut(string(raw), "\n")
		for i, f := range strings.Fields(line)[1:] {
			if i == 3 || i == 4 || i >= 7 { // idle, iowait, steal; guest time is already in user
				continue
			}
			v, _ := strconv.ParseInt(f, 10, 64)
			u.machine += time.Duration(v) * testenv.ClockTick
		}
	}
	ents, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		name := "bench"
		if pid != self {
			exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
			if err != nil || filepath.Dir(exe) != assets {
				continue
			}
			name = filepath.Base(exe)
		}
		if t, err := testenv.ProcessCPU(pid); err == nil {
			u.procs[name] += t
		}
	}
	return u
}

// since is what was used between reading a and b, per request.
func (b cpuUse) since(a cpuUse, n int) cpuUse {
	r := cpuUse{machine: (b.machine - a.machine) / time.Duration(n), procs: map[string]time.Duration{}}
	for name, t := range b.procs {
		if d := t - a.procs[name]; d > 0 { // a process that exited in between is not counted
			r.procs[name] = d / time.Duration(n)
		}
	}
	return r
}

func (r cpuUse) String() string {
	names := make([]string, 0, len(r.procs))
	for name := range r.procs {
		names = append(names, name)
	}
	slices.Sort(names)
	parts := []string{fmt.Sprintf("machine %s", ms(r.machine))}
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %s", name, ms(r.procs[name])))
	}
	return strings.Join(parts, ", ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// phase is a timed part of a run of n requests: the batch or the direct loop.
type phase struct {
	name        string
	n           int
	before      cpuUse
	waitProfile func()
}

// startPhase reads the CPU used so far and, with BENCH_PROFILE, starts profiling for
// as long as a phase of n takes at perThousand per 1,000 requests (the manager too
// when withManager).
func startPhase(cfg *rest.Config, name string, n int, perThousand time.Duration, withManager bool) *phase {
	p := &phase{name: name, n: n, before: readCPU(testenv.AssetsDir())}
	p.waitProfile = profilePhase(cfg, fmt.Sprintf("%s-%d", strings.ReplaceAll(name, " ", "-"), n), profileFor(n, perThousand), withManager)
	return p
}

// end returns the CPU used per request since the phase started, prints it, and
// waits for the phase's profiles.
func (p *phase) end() cpuUse {
	u := readCPU(testenv.AssetsDir()).since(p.before, p.n)
	p.waitProfile()
	fmt.Fprintf(os.Stderr, "   CPU per request, %s: %s\n", p.name, u)
	return u
}
