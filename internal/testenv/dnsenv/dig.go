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
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// DigPath finds the dig binary (Debian package bind9-dnsutils): $DIG, else dig on $PATH.
func DigPath() (string, error) {
	dig := "dig"
	if p := os.Getenv("DIG"); p != "" {
		dig = p
	}
	p, err := exec.LookPath(dig)
	if err != nil {
		return "", fmt.Errorf("dig not found (install Debian package bind9-dnsutils): %w", err)
	}
	return p, nil
}

// DigCommand is the dig command line Dig runs for name and qtype, as a user would type it.
func (b *BIND) DigCommand(name, qtype string) string {
	return strings.Join(b.digArgs("dig", "+short", name, qtype), " ")
}

func (b *BIND) digArgs(dig string, opts ...string) []string {
	return append([]string{dig, "@127.0.0.1", "-p", strconv.Itoa(b.Port)}, opts...)
}

// Dig asks named with the real dig, `dig @127.0.0.1 -p Port +short NAME TYPE`, and
// returns dig's answer lines as it printed them (see Lookup for their form). Dig
// failing, or printing a diagnostic (";; ..."), is an error. An empty answer is
// confirmed by a second dig that shows the response header: only an authoritative
// NOERROR or NXDOMAIN means "no such record"; REFUSED, SERVFAIL or a non-authoritative
// reply is an error, so a server that lost the zone never passes for a name that does
// not resolve.
func (b *BIND) Dig(ctx context.Context, name, qtype string) ([]string, error) {
	out, err := b.runDig(ctx, "+short", name, qtype)
	if err != nil {
		return nil, err
	}
	var answer []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case l == "":
		case strings.HasPrefix(l, ";"):
			return nil, fmt.Errorf("%s: %s", b.DigCommand(name, qtype), strings.TrimSpace(out))
		default:
			answer = append(answer, l)
		}
	}
	if len(answer) > 0 {
		return answer, nil
	}
	header, err := b.runDig(ctx, "+noall", "+comments", name, qtype)
	if err != nil {
		return nil, err
	}
	m := digHeader.FindStringSubmatch(header)
	if m == nil {
		return nil, fmt.Errorf("dig printed no response header for %s %s:\n%s", name, qtype, header)
	}
	status, flags := m[1], strings.Fields(m[2])
	if (status != "NOERROR" && status != "NXDOMAIN") || !slices.Contains(flags, "aa") {
		return nil, fmt.Errorf("%s %s @%s: status %s, flags %v (want an authoritative NOERROR or NXDOMAIN)",
			name, qtype, b.Addr(), status, flags)
	}
	return nil, nil
}

// digHeader picks the status and the flags out of dig's response header comments.
var digHeader = regexp.MustCompile(`(?s)status: ([A-Z]+),.*?;; flags: ([a-z ]*);`)

// runDig runs dig against named with opts and returns its standard output.
func (b *BIND) runDig(ctx context.Context, opts ...string) (string, error) {
	dig, err := DigPath()
	if err != nil {
		return "", err
	}
	args := b.digArgs(dig, opts...)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}
