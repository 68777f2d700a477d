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

package e2e_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestDemo runs `make demo`'s program as a process, as a newcomer would, waits for its
// result, stops it with Ctrl-C (SIGINT) and checks that every process it started is gone.
func TestDemo(t *testing.T) {
	requireTools(t)
	bin := filepath.Join(t.TempDir(), "demo")
	build := exec.Command("go", "build", "-o", bin, "./hack/demo")
	build.Dir = testenv.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./hack/demo: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Dir = testenv.RepoRoot()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waited := false
	defer func() {
		if waited {
			return
		}
		// A failure above: stop the demo as Ctrl-C does, so that it stops what it
		// started; kill it only when it does not stop.
		go func() {
			for range lines { // keep its output flowing
			}
		}()
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	deadline := time.After(3 * time.Minute)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo exited early:\n%s", out.String())
			}
			out.WriteString(l + "\n")
			if strings.Contains(l, "Press Ctrl-C") {
				break wait
			}
		case <-deadline:
			t.Fatalf("demo did not finish setting up:\n%s", out.String())
		}
	}
	for _, want := range []string{"dinkes.pontianak.go.id", "Ready", `approved by "kadis"`, "password: <32 characters, not shown>",
		"export KUBECONFIG="} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	// requireTools found dig, so the DNS answer shown must be the real dig's, not the
	// demo's fallback Go query.
	if !digAnswer.MatchString(out.String()) || strings.Contains(out.String(), "Go DNS client") {
		t.Errorf("demo output lacks dig's answer (%s):\n%s", digAnswer, out.String())
	}
	children := childPIDs(cmd.Process.Pid)
	names := map[string][]int{}
	for _, pid := range children {
		names[processName(pid)] = append(names[processName(pid)], pid)
	}
	for _, want := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "named", "external-dns"} {
		if len(names[want]) != 1 {
			t.Errorf("the demo runs %d %s processes, want 1; its children: %v", len(names[want]), want, names)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for l := range lines {
		out.WriteString(l + "\n")
	}
	err = cmd.Wait()
	waited = true
	if err != nil {
		t.Fatalf("demo did not stop cleanly: %v\n%s", err, out.String())
	}
	for _, pid := range children {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); !strings.Contains(string(b), ") Z ") {
				t.Errorf("process %d outlived the demo", pid)
			}
		}
	}
}

// digAnswer is the demo's line for the real dig's answer for dinkes.
var digAnswer = regexp.MustCompile(`(?m)^  dig @127\.0\.0\.1 -p [0-9]+ \+short dinkes\.pontianak\.go\.id A  ->  10\.20\.0\.1$`)

// processName is the base name of the program pid runs (argv[0]; /proc/PID/comm cuts
// names at 15 bytes), "" if it cannot be read.
func processName(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	argv0, _, _ := strings.Cut(string(b), "\x00")
	return filepath.Base(argv0)
}

// childPIDs lists the direct children of pid.
func childPIDs(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndex(s, ")")+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}
