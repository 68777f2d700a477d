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

package main

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// TestCreated: the change report lists each object once its condition is True, and
// the load balancer's Service only for a pool zone with a controller selector. (The
// plugin's end-to-end test covers a zone without one.)
func TestCreated(t *testing.T) {
	conds := func(types ...string) []metav1.Condition {
		var cs []metav1.Condition
		for _, typ := range types {
			cs = append(cs, metav1.Condition{Type: typ, Status: metav1.ConditionTrue})
		}
		return cs
	}
	zone := func(selector map[string]sdv1.LabelValue) *sdv1.SubdomainZone {
		z := &sdv1.SubdomainZone{Spec: sdv1.SubdomainZoneSpec{AddressPool: []string{"10.20.0.0/24"}}}
		z.Spec.Ingress.ControllerNamespace, z.Spec.Ingress.ControllerSelector, z.Spec.DNS.Namespace = "ingress-nginx", selector, "subdomain-system"
		return z
	}
	req := func(cs []metav1.Condition) *sdv1.SubdomainRequest {
		r := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "rsud"}}
		r.Spec.OPD.AdminGroup, r.Spec.Hosting.Service = "opd:rsud", sdv1.ServiceRef{Name: "web", Port: 80}
		r.Status = sdv1.SubdomainRequestStatus{FQDN: "rsud.pontianak.go.id", Address: "10.20.0.9", Namespace: "opd-rsud",
			CredentialsSecret: &sdv1.SecretReference{Namespace: "opd-rsud", Name: sdv1.CredentialsSecretName}, Conditions: cs}
		return r
	}
	all := conds(sdv1.ConditionHostingReady, sdv1.ConditionIngressReady, sdv1.ConditionDNSReady, sdv1.ConditionCredentialsReady, sdv1.ConditionAddressAssigned)
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	// renamed is rsud renamed from rs, whose grace period ends at expires.
	renamed := func(released bool, expires time.Time) *sdv1.SubdomainRequest {
		r := req(all)
		r.Status.PreviousNames = []sdv1.PreviousName{{FQDN: "rs.pontianak.go.id", ExpiresAt: metav1.NewTime(expires), Released: released}}
		return r
	}
	for _, tc := range []struct {
		name      string
		r         *sdv1.SubdomainRequest
		z         *sdv1.SubdomainZone
		want, not []string
	}{
		{"all, with selector", req(all), zone(map[string]sdv1.LabelValue{"app": "ingress-nginx"}),
			[]string{"Namespace      opd-rsud", "Ingress        opd-rsud/rsud (hosts rsud.pontianak.go.id -> service web:80)",
				"DNSEndpoint    subdomain-system/rsud (A rsud.pontianak.go.id -> 10.20.0.9)", "Secret         opd-rsud/subdomain-credentials",
				"Service        ingress-nginx/sdr-rsud (LoadBalancer 10.20.0.9; AddressAssigned True)"}, nil},
		{"no selector, no Service", req(all), zone(nil), []string{"Ingress        opd-rsud/rsud"}, []string{"Service"}},
		{"IPv6: AAAA", func() *sdv1.SubdomainRequest { r := req(all); r.Status.Address = "fd00:77::1"; return r }(), zone(nil),
			[]string{"(AAAA rsud.pontianak.go.id -> fd00:77::1)"}, []string{"(A rsud"}},
		{"only hosting so far", req(conds(sdv1.ConditionHostingReady)), zone(nil), []string{"NetworkPolicy  opd-rsud/subdomain-hosting"},
			[]string{"Ingress", "DNSEndpoint", "Secret"}},
		{"nothing yet", req(nil), zone(nil), nil, []string{"Created"}},
		{"an old name in its grace period", renamed(false, now.Add(time.Hour)), zone(nil),
			[]string{"(hosts rsud.pontianak.go.id, rs.pontianak.go.id ->", "CNAME rs.pontianak.go.id -> rsud.pontianak.go.id"}, nil},
		{"an old name past its grace period, its claim kept", renamed(false, now.Add(-time.Hour)), zone(nil),
			[]string{"(hosts rsud.pontianak.go.id ->"}, []string{"rs.pontianak.go.id"}},
		{"an old name released", renamed(true, now.Add(-time.Hour)), zone(nil), nil, []string{"rs.pontianak.go.id"}},
		{"zone unreadable", req(all), nil,
			[]string{"(ingress from the namespace and the zone's ingress.controllerNamespace)", "DNSEndpoint    <the zone's dns.namespace>/rsud"},
			[]string{"Service", "and )", " /rsud"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			created(&b, tc.r, tc.z, now)
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("lacks %q:\n%s", w, b.String())
				}
			}
			for _, n := range tc.not {
				if strings.Contains(b.String(), n) {
					t.Errorf("has %q:\n%s", n, b.String())
				}
			}
		})
	}
}
