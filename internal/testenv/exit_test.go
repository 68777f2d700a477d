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
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// exitChild, set in a re-executed test binary, selects what it does instead of the
// tests: "exit" registers a, b and c, releases a and ends through Exit(3); "signal"
// registers one function, says ready and waits for Ctrl-C; "controlplane" starts a
// control plane and waits to be killed (controlPlaneChild).
const exitChild = "TESTENV_EXIT_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(exitChild) {
	case "exit":
		releaseA := AtExit(func() { fmt.Println("a") })
		AtExit(func() { fmt.Println("b") })
		AtExit(func() { fmt.Println("c") })
		releaseA()
		releaseA() // runs once
		fmt.Println("exiting")
		Exit(3)
	case "signal":
		ExitOnInterrupt()
		AtExit(func() { fmt.Println("cleaned up") })
		fmt.Println("ready")
		time.Sleep(time.Minute)
		fmt.Println("not interrupted")
		os.Exit(0)
	case "controlplane":
		controlPlaneChild()
	}
	os.Exit(m.Run())
}

func child(t *testing.T, mode string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), exitChild+"="+mode)
	return cmd
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("want an exit status, got %v", err)
	}
	return ee.ExitCode()
}

// TestExitRunsWhatIsStillRegistered: Exit runs the registered functions that were not
// released, the last registered first, then exits with the code; a released one ran
// once, when released.
func TestExitRunsWhatIsStillRegistered(t *testing.T) {
	out, err := child(t, "exit").Output()
	if code := exitCode(t, err); code != 3 {
		t.Fatalf("exit code %d, want 3", code)
	}
	if got, want := string(out), "a\nexiting\nc\nb\n"; got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
}

// TestInterruptExitsThroughExit: after ExitOnInterrupt, SIGINT (Ctrl-C), SIGTERM or
// SIGHUP (the terminal closed) runs the registered functions and ends the process
// with 130.
func TestInterruptExitsThroughExit(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := child(t, "signal")
			stopsCleanly(t, cmd, startReady(t, cmd), sig)
		})
	}
}

// TestNohupKeepsRunning: a process started ignoring SIGHUP (nohup) keeps running when
// it comes - ExitOnInterrupt must not undo nohup - and still stops on Ctrl-C.
func TestNohupKeepsRunning(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", `trap "" HUP; exec "$0" -test.run='^$'`, os.Args[0])
	cmd.Env = append(os.Environ(), exitChild+"=signal")
	lines := startReady(t, cmd)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	// Still running: a child that ended is a zombie (state Z) until Wait.
	state, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(state)); len(f) < 3 || f[2] == "Z" {
		t.Fatalf("the child ignoring SIGHUP stopped on it: %s", state)
	}
	stopsCleanly(t, cmd, lines, syscall.SIGINT)
}

// startReady starts cmd, a "signal" child, and returns its output once it says ready.
func startReady(t *testing.T, cmd *exec.Cmd) *bufio.Scanner {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("child did not get ready: %q", lines.Text())
	}
	return lines
}

// stopsCleanly sends sig to the ready child cmd (lines: the rest of its output) and
// wants it to run its registered function and exit with 130.
func stopsCleanly(t *testing.T, cmd *exec.Cmd, lines *bufio.Scanner, sig syscall.Signal) {
	t.Helper()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	if code := exitCode(t, cmd.Wait()); code != 130 {
		t.Fatalf("exit code %d, want 130", code)
	}
	if len(rest) != 1 || rest[0] != "cleaned up" {
		t.Fatalf("after %s the child printed %q, want [cleaned up]", sig, rest)
	}
}
