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
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// KillAPIServer kills kube-apiserver (SIGKILL, as a crash would) and returns a function
// that starts it again with the same command line: same port, certificates and etcd,
// so clients holding the old kubeconfig reconnect to it. Stop stops the new process.
func (e *Env) KillAPIServer() (restart func() error, err error) {
	pid, args, err := e.apiServerProcess()
	if err != nil {
		return nil, err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return nil, err
	}
	for range 100 { // wait until it is gone and its port is free
		if syscall.Kill(pid, 0) != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return func() error {
		logPath := filepath.Join(e.Dir, fmt.Sprintf("kube-apiserver-restart-%d.log", time.Now().UnixNano()))
		logf, err := os.Create(logPath)
		if err != nil {
			return err
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("restarting kube-apiserver: %w", err)
		}
		e.restarted = append(e.restarted, cmd)
		go func() { _ = cmd.Wait(); _ = logf.Close() }()
		if err := e.waitHealthy(2 * time.Minute); err != nil {
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("restarted kube-apiserver not ready: %w; its log ends:\n%s", err, out[max(0, len(out)-3000):])
		}
		return nil
	}, nil
}

// apiServerProcess finds this environment's kube-apiserver by its binary and port.
func (e *Env) apiServerProcess() (int, []string, error) {
	u, err := url.Parse(e.Config.Host)
	if err != nil {
		return 0, nil, err
	}
	bin := filepath.Join(AssetsDir(), "kube-apiserver")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, nil, err
	}
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00")
		if args[0] != bin {
			continue
		}
		for _, a := range args {
			if a == "--secure-port="+u.Port() {
				return pid, args, nil
			}
		}
	}
	return 0, nil, fmt.Errorf("no %s serving port %s", bin, u.Port())
}

// waitHealthy polls until the API server serves a read. (/readyz can stay unready after
// a crash for reasons that do not matter here, such as the kubernetes Service's
// endpoints reconciler refusing to clear them.)
func (e *Env) waitHealthy(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return Eventually(ctx, timeout, 200*time.Millisecond, func() (bool, error) {
		return e.Client.List(ctx, &corev1.NamespaceList{}, client.Limit(1)) == nil, nil
	})
}

// APIServerCPU is the CPU time (user and system) this environment's kube-apiserver has
// used so far; hack/apicost measures what single operations cost the API server with it.
func (e *Env) APIServerCPU() (time.Duration, error) {
	pid, _, err := e.apiServerProcess()
	if err != nil {
		return 0, err
	}
	return ProcessCPU(pid)
}

// ProcessCPU is the CPU time (user and system) process pid has used so far, from
// /proc/<pid>/stat.
func ProcessCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count fields after its ")".
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * ClockTick, nil
}

// ClockTick is the unit of /proc's CPU times: USER_HZ, 1/100 s on Linux.
const ClockTick = 10 * time.Millisecond
