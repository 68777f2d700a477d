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

package dnsenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a process gets after SIGTERM before it is killed.
const stopGrace = 10 * time.Second

// Process is a child process started by this package. Its stdout and stderr go
// to LogPath. It is stopped by Stop or when the context given at start is done;
// it runs in its own process group, and the whole group is signalled.
type Process struct {
	// Name is a short label used in errors ("named", "external-dns").
	Name string
	// LogPath is the file that receives the process's stdout and stderr.
	LogPath string
	// Args is the command line (after the binary).
	Args []string
	// MetricsAddr is external-dns's 127.0.0.1:port for /healthz and /metrics
	// (empty for named).
	MetricsAddr string

	cmd      *exec.Cmd
	done     chan struct{}
	err      error
	stopOnce sync.Once
}

// startProcess runs bin with args, output appended to logPath. The process is
// stopped when ctx is done.
func startProcess(ctx context.Context, name, logPath, bin string, args ...string) (*Process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logFile, "### %s %s\n", bin, strings.Join(redactArgs(args), " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = os.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group, so Stop reaches anything the process forks.
		Setpgid: true,
		// Safety net: if the test binary dies (e.g. `go test -timeout` panics),
		// the kernel kills the child instead of leaving it behind.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Process{Name: name, LogPath: logPath, Args: args, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	go func() {
		select {
		case <-ctx.Done():
			p.Stop()
		case <-p.done:
		}
	}()
	return p, nil
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the process's exit error; valid once Done is closed.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the process group, waits up to 10 s, then SIGKILLs the
// group, and returns once the process has been reaped. It is safe to call more
// than once and concurrently.
func (p *Process) Stop() {
	p.stopOnce.Do(func() {
		pgid := p.cmd.Process.Pid
		if !p.Exited() {
			_ = syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(stopGrace):
			}
		}
		// Whatever is left in the group (the leader if it ignored SIGTERM, or any
		// child it left behind) is killed.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	})
	<-p.done
}

// LogTail returns the last n lines of the process log.
func (p *Process) LogTail(n int) string {
	return logTail(p.LogPath, n)
}

func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", path, err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// exitError describes an early exit with the end of the log.
func (p *Process) exitError() error {
	return fmt.Errorf("%s exited early (%v); last lines of %s:\n%s", p.Name, p.Err(), p.LogPath, p.LogTail(40))
}

// redactArgs hides TSIG secrets in the command line written to the log.
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.HasPrefix(a, "--rfc2136-tsig-secret=") {
			a = "--rfc2136-tsig-secret=REDACTED"
		}
		out[i] = a
	}
	return out
}

// FreePort returns a port on 127.0.0.1 that was free for both TCP and UDP a
// moment ago (it is released before returning, so it can still be taken by
// someone else; callers retry on a bind failure).
func FreePort() (int, error) {
	var lastErr error
	for range 20 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			lastErr = err
			continue
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port))
		_ = l.Close()
		if err != nil {
			lastErr = err
			continue
		}
		_ = u.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free port on 127.0.0.1: %w", lastErr)
}
