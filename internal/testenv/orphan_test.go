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
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// controlPlaneChild is the re-executed test binary's "controlplane" mode (TestMain):
// it starts a control plane, prints the directories it uses ("dir ..."), the pids of
// its etcd and kube-apiserver ("pid ...") and "ready", then waits to be killed.
func controlPlaneChild() {
	env, err := Start(Options{})
	if err != nil {
		fmt.Println("error:", strings.ReplaceAll(err.Error(), "\n", " | "))
		os.Exit(1)
	}
	fmt.Println("dir", env.Dir)
	fmt.Println("dir", env.Env.ControlPlane.APIServer.CertDir)
	fmt.Println("dir", env.Env.ControlPlane.Etcd.DataDir)
	for _, pid := range childrenNamed(os.Getpid(), "etcd", "kube-apiserver") {
		fmt.Println("pid", pid)
	}
	fmt.Println("ready")
	time.Sleep(5 * time.Minute) // the test kills this process long before
	_ = env.Stop()
	os.Exit(0)
}

// TestControlPlaneDiesWithItsProcess: when the process that started the control plane
// is killed (SIGKILL, as `go test -timeout` or a CI job's cancellation does), its etcd
// and kube-apiserver do not stay behind.
func TestControlPlaneDiesWithItsProcess(t *testing.T) {
	if _, err := Setpriv(); err != nil {
		msg := err.Error() + ": the control plane cannot be tied to its process"
		if os.Getenv("SUBDOMAIN_E2E_REQUIRED") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (set SUBDOMAIN_E2E_REQUIRED=1 to make this a failure)")
	}
	cmd := child(t, "controlplane")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var pids []int
	deadline := time.After(3 * time.Minute)
wait:
	for {
		select {
		case l, ok := <-lines:
			switch {
			case !ok:
				t.Fatal("the child exited before its control plane was ready")
			case l == "ready":
				break wait
			case strings.HasPrefix(l, "pid "):
				pid, err := strconv.Atoi(strings.TrimPrefix(l, "pid "))
				if err != nil {
					t.Fatal(err)
				}
				pids = append(pids, pid)
			case strings.HasPrefix(l, "dir "):
				dir := strings.TrimPrefix(l, "dir ")
				t.Cleanup(func() { _ = os.RemoveAll(dir) }) // Stop never runs in the child
			default:
				t.Log(l)
			}
		case <-deadline:
			t.Fatal("the child's control plane did not get ready in 3 minutes")
		}
	}
	if len(pids) != 2 {
		t.Fatalf("the child runs %d etcd and kube-apiserver processes, want 2", len(pids))
	}
	names := map[int]string{}
	for _, pid := range pids {
		names[pid] = argv0(pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	go func() {
		for range lines { // drain
		}
	}()
	left := pids
	for end := time.Now().Add(15 * time.Second); len(left) > 0 && time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		left = left[:0:0]
		for _, pid := range pids {
			if alive(pid, names[pid]) {
				left = append(left, pid)
			}
		}
	}
	for _, pid := range left {
		t.Errorf("%s (pid %d) outlived the process that started it", names[pid], pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// childrenNamed lists the direct children of pid whose program (argv[0]) is one of names.
func childrenNamed(pid int, names ...string) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 2 || f[1] != strconv.Itoa(pid) {
			continue
		}
		child, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		for _, n := range names {
			if filepath.Base(argv0(child)) == n {
				out = append(out, child)
			}
		}
	}
	return out
}

// argv0 is process pid's argv[0] ("" when it is gone or a zombie).
func argv0(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	a, _, _ := strings.Cut(string(b), "\x00")
	return a
}

// alive tells whether pid still runs program argv0 (a zombie or a reused pid does not).
func alive(pid int, program string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil || strings.Contains(string(b), ") Z ") {
		return false
	}
	return argv0(pid) == program
}

// TestOldSetprivRefused: a setpriv without --pdeathsig (util-linux before 2.33) is
// not used - each control plane would fail to start with an unexplained timeout -
// but reported, so the control plane starts without the shim.
func TestOldSetprivRefused(t *testing.T) {
	dir := t.TempDir()
	old := "#!/bin/sh\necho \"setpriv: unrecognized option '--pdeathsig'\" >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "setpriv"), []byte(old), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	if path, err := Setpriv(); err == nil || !strings.Contains(err.Error(), "cannot set a parent-death signal") {
		t.Fatalf("Setpriv() = %q, %v; want an error saying it cannot set a parent-death signal", path, err)
	}
}
