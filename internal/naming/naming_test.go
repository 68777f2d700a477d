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

package naming

import (
	"net/netip"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

func TestValidateLabel(t *testing.T) {
	for s, ok := range map[string]bool{
		"dinkes": true, "xn--dnkes-bva": true, "a": true, "0": true, "opd-1": true, strings.Repeat("a", 63): true,
		"": false, "Dinkes": false, "-a": false, "a-": false, "din_kes": false, "dinkés": false, "a.b": false, strings.Repeat("a", 64): false,
	} {
		if err := ValidateLabel(s); (err == nil) != ok {
			t.Errorf("ValidateLabel(%q) = %v, want ok=%v", s, err, ok)
		}
	}
}

func TestCheckName(t *testing.T) {
	z := &sdv1.SubdomainZone{Spec: sdv1.SubdomainZoneSpec{Domain: "pontianak.go.id", ReservedNames: []string{"www", "mail"}}}
	if r, _ := CheckName("www", z); r != "ReservedName" {
		t.Errorf("www: %s", r)
	}
	if r, _ := CheckName("dinkes", z); r != "" {
		t.Errorf("dinkes: %s", r)
	}
	z.Spec.Domain = strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + ".go.id"
	if r, msg := CheckName(strings.Repeat("d", 63), z); r != "NameTooLong" || !strings.Contains(msg, "253") {
		t.Errorf("long: %s %s", r, msg)
	}
}

func TestClaimNames(t *testing.T) {
	if got := AddressClaimName(netip.MustParseAddr("10.20.0.15")); got != "ip-10-20-0-15" {
		t.Error(got)
	}
	if got := AddressClaimName(netip.MustParseAddr("fd00::1")); got != "ip-fd00--1" {
		t.Error(got)
	}
	// Every address's claim name is a valid object name, and its own.
	seen := map[string]string{}
	for _, a := range []string{"10.20.0.15", "10.0.0.0", "fd00::1", "fd00::", "::", "::1", "2001:db8::", "2001:db8::10", "fd00:0:0:0:0:0:0:0"} {
		addr := netip.MustParseAddr(a)
		got := AddressClaimName(addr)
		if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
			t.Errorf("%s: claim name %q: %v", a, got, errs)
		}
		if other, ok := seen[got]; ok && netip.MustParseAddr(other) != addr {
			t.Errorf("%s and %s share the claim name %q", a, other, got)
		}
		seen[got] = a
	}
	if got := AddressClaimName(netip.MustParseAddr("fd00::")); got != "ip-fd00--0" {
		t.Error(got)
	}
	if got := FQDNClaimName("Dinkes.Pontianak.go.id"); got != "dinkes.pontianak.go.id" {
		t.Error(got)
	}
}

// FuzzValidateLabel: no panic, and every accepted label is a valid DNS label whose
// FQDN claim name is a valid object name.
func FuzzValidateLabel(f *testing.F) {
	for _, s := range []string{"dinkes", "xn--dnkes-bva", "-", "a-", "Ä", strings.Repeat("z", 64), "a.b", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateLabel(s) != nil {
			return
		}
		if len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
			t.Fatalf("accepted %q", s)
		}
		for _, c := range s {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				t.Fatalf("accepted %q with %q", s, c)
			}
		}
		if n := FQDNClaimName(FQDN(s, "go.id")); n != FQDN(s, "go.id") {
			t.Fatalf("claim name %q", n)
		}
	})
}
