// Package naming derives the names the operator works with (FQDNs, claim names,
// hosting namespaces) and checks the rules the API server cannot check itself.
package naming

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// MaxFQDNLength is the longest name DNS allows (RFC 1035, without the final dot).
const MaxFQDNLength = 253

var labelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidateLabel reports why s is not a lowercase RFC 1123 DNS label, or nil.
// It repeats the CRD's rules on spec.subdomain (controllers TestSubdomainRulesAgree
// holds the two together against the API server), and
// CheckName applies it, so that a name the CRD's rules would let through by
// mistake is still refused before anything is claimed.
func ValidateLabel(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("must not be empty")
	case len(s) > 63:
		return fmt.Errorf("%q is %d characters, a DNS label has at most 63", s, len(s))
	case strings.ToLower(s) != s:
		return fmt.Errorf("%q must be lowercase", s)
	case strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-"):
		return fmt.Errorf("%q must not start or end with a hyphen", s)
	case !labelRE.MatchString(s):
		return fmt.Errorf("%q may contain only a-z, 0-9 and '-' (write internationalized names as punycode, xn--...)", s)
	}
	return nil
}

// FQDN joins a label and the zone's domain.
func FQDN(label, domain string) string { return label + "." + domain }

// LabelOf returns the first label of fqdn when fqdn is directly under domain.
func LabelOf(fqdn, domain string) string {
	return strings.TrimSuffix(fqdn, "."+domain)
}

// CheckName applies the name rules to a label that passed the CRD schema: the label
// rules again (ValidateLabel), then the zone's reserved names and the total length. It
// returns a condition reason and message, or "" if the name may be used.
func CheckName(label string, zone *sdv1.SubdomainZone) (reason, message string) {
	if err := ValidateLabel(label); err != nil {
		return "InvalidName", "spec.subdomain: " + err.Error()
	}
	if slices.Contains(zone.Spec.ReservedNames, label) {
		return "ReservedName", fmt.Sprintf("%q is reserved in zone %s (reservedNames: %s)",
			label, zone.Name, strings.Join(zone.Spec.ReservedNames, ", "))
	}
	if n := len(FQDN(label, zone.Spec.Domain)); n > MaxFQDNLength {
		return "NameTooLong", fmt.Sprintf("%s is %d characters; a DNS name has at most %d",
			FQDN(label, zone.Spec.Domain), n, MaxFQDNLength)
	}
	return "", ""
}

// HostingNamespace is the request's hosting namespace: spec.hosting.namespace or opd-<code>.
func HostingNamespace(r *sdv1.SubdomainRequest) string {
	if r.Spec.Hosting.Namespace != "" {
		return r.Spec.Hosting.Namespace
	}
	return sdv1.HostingNamespacePrefix + r.Spec.OPD.Code
}

// FQDNClaimName is the name of the claim on fqdn: the FQDN itself. An FQDN always has
// a dot, so it never collides with an address claim's name.
func FQDNClaimName(fqdn string) string { return strings.ToLower(fqdn) }

// AddressClaimName is the name of the claim on addr: ip-<address>, with '.' and ':'
// written as '-' so that it is a valid object name without dots. An IPv6 address
// ending in "::" (fd00:: of a /128 pool) gets a final 0, since a name may not end in
// '-'; no address is written with a trailing "::0", so the name is still its own.
func AddressClaimName(addr netip.Addr) string {
	name := "ip-" + strings.NewReplacer(".", "-", ":", "-").Replace(addr.Unmap().String())
	if strings.HasSuffix(name, "-") {
		name += "0"
	}
	return name
}
