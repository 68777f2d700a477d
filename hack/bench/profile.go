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
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// profilePhase, when BENCH_PROFILE names a directory, records CPU profiles for the
// first d of a phase, in the background: the API server's into <dir>/<name>-apiserver.pprof
// and, when the manager serves pprof (BENCH_PPROF), the manager's into
// <dir>/<name>-manager.pprof. wait blocks until they are written.
func profilePhase(cfg *rest.Config, name string, d time.Duration, withManager bool) (wait func()) {
	dir := os.Getenv("BENCH_PROFILE")
	if dir == "" {
		return func() {}
	}
	rc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		fail("%v", err)
	}
	query := fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(d.Seconds()))
	w1 := profile(rc, strings.TrimSuffix(cfg.Host, "/")+query, filepath.Join(dir, name+"-apiserver.pprof"))
	w2 := func() {}
	if addr := os.Getenv("BENCH_PPROF"); addr != "" && withManager {
		w2 = profile(http.DefaultClient, "http://"+addr+query, filepath.Join(dir, name+"-manager.pprof"))
	}
	return func() { w1(); w2() }
}

// profile fetches the CPU profile at url (a /debug/pprof/profile address, which
// answers when its seconds are over) into path, in the background; wait blocks until
// it is written or has failed. A failure is reported, not fatal: the figures stand.
func profile(rc *http.Client, url, path string) (wait func()) {
	name := filepath.Base(path)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := rc.Get(url)
		if err != nil {
			fmt.Fprintf(os.Stderr, "   profile %s: %v\n", name, err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fmt.Fprintf(os.Stderr, "   profile %s: %s\n", name, resp.Status)
			return
		}
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "   profile %s: %v\n", name, err)
			return
		}
		defer f.Close()
		if _, err := io.Copy(f, resp.Body); err != nil {
			fmt.Fprintf(os.Stderr, "   profile %s: %v\n", name, err)
		}
	}()
	return func() { <-done }
}

// profileFor is how long to profile a phase of n requests that takes about perThousand
// per 1,000 on this machine: long enough to cover it all (the idle tail adds little).
func profileFor(n int, perThousand time.Duration) time.Duration {
	return max(10*time.Second, perThousand*time.Duration(n)/1000)
}
