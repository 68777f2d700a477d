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
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// The tools that run a control plane outside of tests (hack/bench, hack/apicost) stop
// on their first failure. os.Exit skips deferred calls and would leave etcd, the API
// server and any manager they started running; they exit through Exit instead.
var atExit struct {
	sync.Mutex
	fns []func() // in the order registered; nil once run or released
}

// AtExit registers f to run if the process ends through Exit, and returns a function
// that runs f now and forgets it (for the normal path: defer it). f runs at most once.
func AtExit(f func()) (release func()) {
	atExit.Lock()
	defer atExit.Unlock()
	id := len(atExit.fns)
	atExit.fns = append(atExit.fns, f)
	return func() {
		if g := take(id); g != nil {
			g()
		}
	}
}

// take returns the function registered as id unless it ran already, and forgets it.
func take(id int) func() {
	atExit.Lock()
	defer atExit.Unlock()
	f := atExit.fns[id]
	atExit.fns[id] = nil
	return f
}

// exiting is held by the first Exit until the process ends: a second Exit (a
// failure the first one's cleanup causes on another goroutine) waits for it.
var exiting sync.Mutex

// Exit runs the functions AtExit registered and still holds, the last registered
// first, and ends the process with code. Only the first call runs them and decides
// the code; later calls block until the process ends.
func Exit(code int) {
	exiting.Lock()
	atExit.Lock()
	n := len(atExit.fns)
	atExit.Unlock()
	for id := n - 1; id >= 0; id-- {
		if f := take(id); f != nil {
			f()
		}
	}
	os.Exit(code)
}

// StopSignals are the signals that stop a tool of the project's: Ctrl-C, SIGTERM, and
// SIGHUP (its terminal closed) unless the process was started ignoring it (nohup):
// asking for a signal undoes its being ignored, and a benchmark left running under
// nohup would stop at the logout.
func StopSignals() []os.Signal {
	sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		sigs = append(sigs, syscall.SIGHUP)
	}
	return sigs
}

// ExitOnInterrupt makes the StopSignals end the process through Exit(130).
func ExitOnInterrupt() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, StopSignals()...)
	go func() {
		sig := <-ch
		fmt.Fprintf(os.Stderr, "%s: stopping what this process started\n", sig)
		Exit(130)
	}()
}
