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
	"slices"
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
	// The label rules come first: a name the CRD's rules let through by mistake is
	// still refused, and a reserved name's check never sees it.
	for _, l := range []string{"www.dinkes", "a..b", "Www", ""} {
		if r, msg := CheckName(l, z); r != "InvalidName" || !strings.HasPrefix(msg, "spec.subdomain: ") {
			t.Errorf("%q: %s %s", l, r, msg)
		}
	}
	z.Spec.Domain = strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + ".go.id"
	if r, msg := CheckName(strings.Repeat("d", 63), z); r != "NameTooLong" || !strings.Contains(msg, "253") {
		t.Errorf("long: %s %s", r, msg)
	}
	// The limit itself: a name of exactly 253 characters is a DNS name, one of 254 is not.
	// The domain above is 63+1+63+1+63+6 = 197 characters; label, dot and domain make the FQDN.
	for _, tc := range []struct {
		label  string
		n      int
		reason string
	}{{strings.Repeat("d", 55), 253, ""}, {strings.Repeat("d", 56), 254, "NameTooLong"}} {
		fqdn := FQDN(tc.label, z.Spec.Domain)
		if len(fqdn) != tc.n {
			t.Fatalf("test setup: %q is %d characters, want %d", fqdn, len(fqdn), tc.n)
		}
		if r, msg := CheckName(tc.label, z); r != tc.reason {
			t.Errorf("FQDN of %d characters: reason %q (%s), want %q", tc.n, r, msg, tc.reason)
		}
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

// longDomain is a valid zone domain of 197 characters (three 63-character labels and
// .go.id): with a label of 55 characters the FQDN is exactly 253, the most DNS allows.
var longDomain = strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + ".go.id"

// validDomain tells a zone domain the CRD admits: dot-separated RFC 1123 labels of at
// most 63 characters each, at most 253 in all, the last not all digits.
func validDomain(d string) bool {
	if d == "" || len(d) > MaxFQDNLength || allDigits(d[strings.LastIndex(d, ".")+1:]) {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if len(validation.IsDNS1123Label(l)) > 0 {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// FuzzValidateLabel: no panic; a label that CheckName accepts - the reconciler's check,
// which applies ValidateLabel, whose verdict the API server's CRD rules share
// (controllers TestSubdomainRulesAgree) - gives a valid DNS label, a valid DNS name and
// a valid claim object name, as Kubernetes' own validation (not this package) decides;
// and a valid label that is not reserved and makes a DNS name of at most 253 characters
// is accepted.
func FuzzValidateLabel(f *testing.F) {
	for _, s := range []string{"dinkes", "xn--dnkes-bva", "-", "a-", "Ä", strings.Repeat("z", 64), "a.b", "\x00", "www", "Www"} {
		f.Add(s, "pontianak.go.id")
	}
	f.Add("dinkes", "go.id")
	f.Add("dinkes", "Go.id")
	f.Add("dinkes", "go..id")
	f.Add("dinkes", "-go.id")
	f.Add("10", "20.30.40") // refused by the CRD: FQDN 10.20.30.40
	f.Add("10", "20.30.id")
	f.Add(strings.Repeat("d", 63), longDomain)
	f.Add(strings.Repeat("d", 55), longDomain)     // FQDN of exactly 253 characters
	f.Add(strings.Repeat("d", 56), longDomain)     // 254
	f.Add(strings.Repeat("d", 54), longDomain+"x") // 253, the domain's last label one longer
	f.Add(strings.Repeat("d", 55), longDomain+"x") // 254
	f.Fuzz(func(t *testing.T, label, domain string) {
		if !validDomain(domain) {
			return // the API server refuses such a zone
		}
		zone := &sdv1.SubdomainZone{Spec: sdv1.SubdomainZoneSpec{Domain: domain, ReservedNames: []string{"www", "mail", "api"}}}
		fqdn := FQDN(label, domain)
		labelErr := ValidateLabel(label)
		reason, msg := CheckName(label, zone)
		if (labelErr != nil) != (reason == "InvalidName") {
			t.Fatalf("CheckName(%q) = %s %s, but ValidateLabel says %v", label, reason, msg, labelErr)
		}
		if reason == "" {
			if errs := validation.IsDNS1123Label(label); len(errs) > 0 {
				t.Fatalf("accepted label %q: %v", label, errs)
			}
			if errs := validation.IsDNS1123Subdomain(fqdn); len(errs) > 0 {
				t.Fatalf("accepted label %q in %q: FQDN %q: %v", label, domain, fqdn, errs)
			}
			if _, err := netip.ParseAddr(fqdn); err == nil {
				t.Fatalf("accepted label %q in %q: FQDN %q is an IP address, which an Ingress refuses as a host", label, domain, fqdn)
			}
			if errs := validation.IsDNS1123Subdomain(FQDNClaimName(fqdn)); len(errs) > 0 {
				t.Fatalf("accepted label %q in %q: claim name %q: %v", label, domain, FQDNClaimName(fqdn), errs)
			}
			if slices.Contains(zone.Spec.ReservedNames, label) {
				t.Fatalf("accepted the reserved label %q", label)
			}
		}
		// The other way: what Kubernetes calls a DNS label is accepted, and what makes a
		// valid, unreserved DNS name passes the zone's rules.
		if (labelErr == nil) != (len(validation.IsDNS1123Label(label)) == 0) {
			t.Fatalf("ValidateLabel(%q) = %v, but IsDNS1123Label says %v", label, labelErr, validation.IsDNS1123Label(label))
		}
		if labelErr == nil && !slices.Contains(zone.Spec.ReservedNames, label) &&
			len(validation.IsDNS1123Subdomain(fqdn)) == 0 && reason != "" {
			t.Fatalf("CheckName(%q) in %q refused a valid %d-character name: %s %s", label, domain, len(fqdn), reason, msg)
		}
	})
}
