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
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// TXTOwnerID is the --txt-owner-id external-dns runs with.
const TXTOwnerID = "subdomain-operator"

// lastSyncMetric is set by external-dns at the end of every successful
// reconciliation (controller.RunOnce) to the Unix time of that sync.
const lastSyncMetric = "external_dns_controller_last_sync_timestamp_seconds"

// ExternalDNSArgs is the command line StartExternalDNS uses, without extraArgs.
//
// --events makes the crd source's informer trigger a sync on any DNSEndpoint
// change; external-dns then schedules the run at most 5 s later (hard-coded in
// controller.ScheduleRunOnce), so the 1 s --interval is what really bounds the
// latency, and --events only matters if a caller passes a longer --interval.
// --rfc2136-axfr is the v0.22 name of the deprecated --rfc2136-tsig-axfr; without
// it external-dns cannot read the zone and behaves as create-only.
func ExternalDNSArgs(kubeconfig string, b *BIND, namespace, metricsAddr string) []string {
	return []string{
		"--source=crd",
		"--crd-source-apiversion=externaldns.k8s.io/v1alpha1",
		"--crd-source-kind=DNSEndpoint",
		"--namespace=" + namespace,
		"--provider=rfc2136",
		"--rfc2136-host=127.0.0.1",
		"--rfc2136-port=" + strconv.Itoa(b.Port),
		"--rfc2136-zone=" + b.Zone,
		"--rfc2136-tsig-keyname=" + b.KeyName,
		"--rfc2136-tsig-secret=" + b.KeySecret,
		"--rfc2136-tsig-secret-alg=" + b.KeyAlgorithm,
		"--rfc2136-axfr",
		"--registry=txt",
		"--txt-owner-id=" + TXTOwnerID,
		// The ownership record of a.<zone> is a TXT at a.a.<zone>, a name of its own.
		// The default, "a-" glued to the first label, makes a 64-character label of
		// a 62-character subdomain: external-dns then writes no ownership record, and
		// never deletes the A record it cannot prove it owns.
		"--txt-prefix=%{record_type}.",
		"--policy=sync",
		"--domain-filter=" + b.Zone,
		"--interval=1s",
		"--events",
		"--min-event-sync-interval=1s",
		// The default :7979 listens on every interface and collides between tests.
		"--metrics-address=" + metricsAddr,
		"--log-level=debug",
		"--kubeconfig=" + kubeconfig,
	}
}

// StartExternalDNS runs the external-dns binary bin against the API server of
// kubeconfig, watching DNSEndpoints in namespace and writing them to b over
// RFC 2136 (TSIG-signed updates, AXFR to read the zone back), with the TXT
// registry and owner id TXTOwnerID. extraArgs are appended to the command line.
// Its output goes to external-dns.log in b.Dir. It returns once external-dns has
// finished its first successful sync (so the API server, the CRD and BIND were
// all reachable); it is stopped by Stop or when ctx is done.
func StartExternalDNS(ctx context.Context, bin string, kubeconfig string, b *BIND, namespace string, extraArgs ...string) (*Process, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		args := append(ExternalDNSArgs(kubeconfig, b, namespace, addr), extraArgs...)
		p, err := startProcess(ctx, "external-dns", filepath.Join(b.Dir, "external-dns.log"), bin, args...)
		if err != nil {
			return nil, err
		}
		p.MetricsAddr = addr
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		lastErr = p.WaitForSync(wctx, time.Time{})
		cancel()
		if lastErr == nil {
			return p, nil
		}
		p.Stop()
		// Retry only when the metrics port was taken under us.
		if ctx.Err() != nil || !strings.Contains(p.LogTail(5), "address already in use") {
			return nil, lastErr
		}
	}
	return nil, lastErr
}

// LastSync is the time of external-dns's last successful sync (zero before the
// first one), read from its metrics endpoint. Only for a Process started by
// StartExternalDNS.
func (e *Process) LastSync(ctx context.Context) (time.Time, error) {
	if e.MetricsAddr == "" {
		return time.Time{}, fmt.Errorf("%s has no metrics address", e.Name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+e.MetricsAddr+"/metrics", nil)
	if err != nil {
		return time.Time{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return time.Time{}, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, lastSyncMetric+" ") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, lastSyncMetric)), 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("parsing %q: %w", line, err)
		}
		if v <= 0 {
			return time.Time{}, nil
		}
		sec := int64(v)
		return time.Unix(sec, int64((v-float64(sec))*1e9)), nil
	}
	return time.Time{}, sc.Err()
}

// WaitForSync waits until external-dns has finished a successful sync later than
// after (any sync when after is zero), failing early if the process exits.
func (e *Process) WaitForSync(ctx context.Context, after time.Time) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		t, err := e.LastSync(ctx)
		if err == nil && !t.IsZero() && t.After(after) {
			return nil
		}
		lastErr = err
		select {
		case <-e.Done():
			return e.exitError()
		case <-ctx.Done():
			return fmt.Errorf("external-dns made no successful sync after %s: %w (last metrics error: %v); last lines of %s:\n%s",
				after.Format(time.RFC3339Nano), ctx.Err(), lastErr, e.LogPath, e.LogTail(40))
		case <-tick.C:
		}
	}
}
