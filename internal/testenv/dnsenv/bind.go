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

// Package dnsenv runs the real-DNS tier of the tests: BIND 9 (Debian's `named`,
// package bind9) as an authoritative primary for one zone on 127.0.0.1, and the
// real external-dns binary (built into bin/ by hack/build-tools.sh external-dns) with the
// crd source and the rfc2136 provider pointed at it. Both run as plain child
// processes in their own process groups and are stopped by Stop or by cancelling
// the context they were started with.
package dnsenv

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DefaultNamedPath is where Debian's bind9 package installs named.
const DefaultNamedPath = "/usr/sbin/named"

// NamedPath finds the named binary: $NAMED, /usr/sbin/named, else $PATH.
func NamedPath() (string, error) {
	if p := os.Getenv("NAMED"); p != "" {
		return p, nil
	}
	if _, err := os.Stat(DefaultNamedPath); err == nil {
		return DefaultNamedPath, nil
	}
	p, err := exec.LookPath("named")
	if err != nil {
		return "", fmt.Errorf("named not found (install Debian package bind9): %w", err)
	}
	return p, nil
}

// BIND is a running named serving one primary zone on 127.0.0.1:Port.
type BIND struct {
	// Port is the UDP and TCP port on 127.0.0.1.
	Port int
	// Zone is the served zone, without a trailing dot (e.g. "pontianak.go.id").
	Zone string
	// KeyName, KeySecret (base64) and KeyAlgorithm ("hmac-sha256") are the TSIG
	// key that may send dynamic updates to the zone and transfer it.
	KeyName      string
	KeySecret    string
	KeyAlgorithm string
	// Dir holds named.conf, the zone file and its journal, and the logs.
	Dir string

	proc *Process
}

// StartBIND writes a named.conf into dir (which must exist and be writable) and
// runs named in the foreground on a free port of 127.0.0.1, serving zone as a
// primary with an SOA, an NS and the NS's A record, a fresh random hmac-sha256
// TSIG key that may update and transfer the zone, and no recursion. It returns
// once named answers an SOA query for the zone. named is stopped by Stop or when
// ctx is done.
func StartBIND(ctx context.Context, dir string, zone string) (*BIND, error) {
	named, err := NamedPath()
	if err != nil {
		return nil, err
	}
	zone = strings.ToLower(strings.TrimSuffix(zone, "."))
	if zone == "" {
		return nil, errors.New("dnsenv: empty zone")
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	b := &BIND{
		Zone:         zone,
		KeyName:      "externaldns-key",
		KeySecret:    base64.StdEncoding.EncodeToString(secret),
		KeyAlgorithm: "hmac-sha256",
		Dir:          dir,
	}
	if err := os.WriteFile(filepath.Join(dir, "db."+zone), []byte(b.zoneFile()), 0o644); err != nil {
		return nil, err
	}

	// A free port can be taken between picking it and named binding it; named
	// then exits, and we try again with another port.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if b.Port, err = FreePort(); err != nil {
			return nil, err
		}
		conf := filepath.Join(dir, "named.conf")
		if err := os.WriteFile(conf, []byte(b.namedConf()), 0o644); err != nil {
			return nil, err
		}
		// -g: foreground, log to stderr (ignores the logging statement);
		// -4: IPv4 only; -n 1: one worker thread is plenty;
		// no -u: named keeps the uid it was started with (root here) and never chowns.
		b.proc, err = startProcess(ctx, "named", filepath.Join(dir, "named.log"), named,
			"-g", "-4", "-n", "1", "-c", conf)
		if err != nil {
			return nil, err
		}
		if lastErr = b.waitReady(ctx, 30*time.Second); lastErr == nil {
			return b, nil
		}
		b.proc.Stop()
		if ctx.Err() != nil {
			return nil, lastErr
		}
	}
	return nil, lastErr
}

// zoneFile is the initial zone: SOA with short timers, one NS with its glue.
func (b *BIND) zoneFile() string {
	return fmt.Sprintf(`$ORIGIN %[1]s.
$TTL 60
@	IN	SOA	ns1.%[1]s. hostmaster.%[1]s. ( 1 60 60 3600 5 )
@	IN	NS	ns1.%[1]s.
ns1	IN	A	127.0.0.1
`, b.Zone)
}

func (b *BIND) namedConf() string {
	return fmt.Sprintf(`// Written by internal/testenv/dnsenv; runs only for the test that started it.
key "%[2]s" {
	algorithm %[3]s;
	secret "%[4]s";
};

options {
	directory "%[1]s";
	pid-file "%[1]s/named.pid";
	session-keyfile "%[1]s/session.key";
	managed-keys-directory "%[1]s";
	dump-file "%[1]s/named_dump.db";
	statistics-file "%[1]s/named.stats";
	listen-on port %[5]d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	allow-recursion { none; };
	dnssec-validation no;
	allow-query { any; };
	allow-transfer { none; };
	notify no;
};

// No rndc control channel (would need port 953 and an rndc key).
controls { };

zone "%[6]s" {
	type primary;
	file "%[1]s/db.%[6]s";
	journal "%[1]s/db.%[6]s.jnl";
	allow-update { key "%[2]s"; };
	allow-transfer { key "%[2]s"; };
};
`, b.Dir, b.KeyName, b.KeyAlgorithm, b.KeySecret, b.Port, b.Zone)
}

// waitReady polls an SOA query until named answers it, named exits, or timeout.
func (b *BIND) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		qctx, qcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		rrs, err := b.Lookup(qctx, b.Zone, "SOA")
		qcancel()
		if err == nil && len(rrs) > 0 {
			return nil
		}
		select {
		case <-b.proc.Done():
			return b.proc.exitError()
		case <-ctx.Done():
			return fmt.Errorf("named did not answer SOA %s on 127.0.0.1:%d: %w (last query error: %v); last lines of %s:\n%s",
				b.Zone, b.Port, ctx.Err(), err, b.proc.LogPath, b.proc.LogTail(40))
		case <-tick.C:
		}
	}
}

// Addr is "127.0.0.1:Port".
func (b *BIND) Addr() string { return "127.0.0.1:" + strconv.Itoa(b.Port) }

// LogPath is named's log file.
func (b *BIND) LogPath() string { return b.proc.LogPath }

// Process is the named process.
func (b *BIND) Process() *Process { return b.proc }

// Stop stops named and waits for it to exit.
func (b *BIND) Stop() {
	if b != nil && b.proc != nil {
		b.proc.Stop()
	}
}

// Lookup asks named directly (127.0.0.1:Port, UDP, falling back to TCP when
// truncated) for name and qtype ("A", "CNAME", "TXT", ...), and returns the rdata
// of every answer record the way `dig +short` prints it: "10.20.0.15",
// "dinkes.pontianak.go.id.", "\"heritage=external-dns,...\"". A name that does
// not exist (NXDOMAIN) or has no record of that type gives an empty result and no
// error. Like dig, an A query for a CNAME returns the CNAME's target followed by
// the target's addresses.
func (b *BIND) Lookup(ctx context.Context, name, qtype string) ([]string, error) {
	t, ok := dns.StringToType[strings.ToUpper(qtype)]
	if !ok {
		return nil, fmt.Errorf("unknown query type %q", qtype)
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), t)
	m.RecursionDesired = false
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	in, _, err := c.ExchangeContext(ctx, m, b.Addr())
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, b.Addr())
	}
	if err != nil {
		return nil, fmt.Errorf("query %s %s @%s: %w", name, qtype, b.Addr(), err)
	}
	switch in.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return nil, fmt.Errorf("query %s %s @%s: rcode %s", name, qtype, b.Addr(), dns.RcodeToString[in.Rcode])
	}
	out := make([]string, 0, len(in.Answer))
	for _, rr := range in.Answer {
		out = append(out, rdata(rr))
	}
	return out, nil
}

// Records transfers the whole zone (AXFR, signed with the TSIG key) and returns
// every record in presentation format, e.g.
// "dinkes.pontianak.go.id.\t300\tIN\tA\t10.20.0.15". Handy to see what
// external-dns wrote, including its TXT registry records.
func (b *BIND) Records(ctx context.Context) ([]string, error) {
	key := dns.Fqdn(b.KeyName)
	m := new(dns.Msg)
	m.SetAxfr(dns.Fqdn(b.Zone))
	m.SetTsig(key, tsigAlgorithm(b.KeyAlgorithm), 300, time.Now().Unix())
	deadline := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		deadline = time.Until(d)
	}
	tr := &dns.Transfer{
		TsigSecret:   map[string]string{key: b.KeySecret},
		DialTimeout:  deadline,
		ReadTimeout:  deadline,
		WriteTimeout: deadline,
	}
	ch, err := tr.In(m, b.Addr())
	if err != nil {
		return nil, fmt.Errorf("AXFR %s @%s: %w", b.Zone, b.Addr(), err)
	}
	var out []string
	for env := range ch {
		if env.Error != nil {
			return nil, fmt.Errorf("AXFR %s @%s: %w", b.Zone, b.Addr(), env.Error)
		}
		for _, rr := range env.RR {
			out = append(out, rr.String())
		}
	}
	// The SOA opens and closes an AXFR; keep it once.
	if len(out) > 1 && out[0] == out[len(out)-1] {
		out = out[:len(out)-1]
	}
	return out, nil
}

func tsigAlgorithm(alg string) string {
	switch strings.ToLower(alg) {
	case "hmac-sha1":
		return dns.HmacSHA1
	case "hmac-sha224":
		return dns.HmacSHA224
	case "hmac-sha384":
		return dns.HmacSHA384
	case "hmac-sha512":
		return dns.HmacSHA512
	default:
		return dns.HmacSHA256
	}
}

// rdata is the record without its owner, TTL, class and type.
func rdata(rr dns.RR) string {
	return strings.TrimPrefix(rr.String(), rr.Header().String())
}
