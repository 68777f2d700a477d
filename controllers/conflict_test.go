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

package controllers_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	dnsv1 "sigs.k8s.io/external-dns/apis/v1alpha1"
	"sigs.k8s.io/external-dns/endpoint"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/naming"
	"github.com/kominfo/subdomain-operator/internal/report"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestSubdomainRulesAgree: the API server admits exactly the spec.subdomain values
// naming.ValidateLabel accepts - the rules the fuzz test FuzzValidateLabel proves give
// valid DNS names, and that the reconciler applies again (naming.CheckName) - over chosen
// edge cases and 400 strings drawn, from a fixed seed, from the characters that matter.
// A CRD rule loosened (a dot let in, say) fails it here, not only in DNS.
func TestSubdomainRulesAgree(t *testing.T) {
	ctx := context.Background()
	labels := []string{"dinkes", "xn--dnkes-bva", "0", "a-b", "a--b", "1-2-3", strings.Repeat("a", 63),
		"", "-", "--", "a-", "-a", "www.dinkes", "a..b", ".", "a.", ".a", "a b", "a\nb", "a\x00", "A", "dinKes",
		"din_kes", "dinkés", "ä", "ａ", "İ", "*", "*.a", "a*", strings.Repeat("a", 64)}
	rng := rand.New(rand.NewPCG(27, 11))
	const alphabet = "a0-.A_é "
	chars := []rune(alphabet)
	for range 400 {
		var b strings.Builder
		for range rng.IntN(6) {
			b.WriteRune(chars[rng.IntN(len(chars))])
		}
		labels = append(labels, b.String())
	}
	for _, l := range labels {
		err := k8s.Create(ctx, newRequest("agree", "z", l), client.DryRunAll)
		if err != nil && !apierrors.IsInvalid(err) {
			t.Fatalf("subdomain %q: %v", l, err)
		}
		if want := naming.ValidateLabel(l); (err == nil) != (want == nil) {
			t.Errorf("subdomain %q: the API server says %v, ValidateLabel says %v", l, err, want)
		}
	}
}

// TestValidation: bad input is refused by the API server with a clear message.
func TestValidation(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		obj  client.Object
		want string
	}{
		{"uppercase", newRequest("v1", "z", "Dinkes"), "subdomain must be lowercase"},
		{"leading hyphen", newRequest("v2", "z", "-dinkes"), "must not start or end with a hyphen"},
		{"trailing hyphen", newRequest("v3", "z", "dinkes-"), "must not start or end with a hyphen"},
		{"too long", newRequest("v4", "z", strings.Repeat("a", 64)), "Too long"},
		{"unicode", newRequest("v5", "z", "dinkés"), "punycode"},
		{"a dot: two labels in one", newRequest("v5d", "z", "www.dinkes"), "may contain only a-z, 0-9 and '-'"},
		{"an empty label", newRequest("v5e", "z", "a..b"), "may contain only a-z, 0-9 and '-'"},
		{"underscore", newRequest("v6", "z", "din_kes"), "may contain only a-z, 0-9 and '-'"},
		{"empty zone", newRequest("v7", "", "dinkes"), "spec.zone"},
		{"bad opd code", newRequest("v8", "z", "ok", func(r *sdv1.SubdomainRequest) { r.Spec.OPD.Code = "Din Kes" }), "opd.code must be a lowercase RFC 1123 label"},
		{"system admin group", newRequest("v8g", "z", "ok", func(r *sdv1.SubdomainRequest) { r.Spec.OPD.AdminGroup = "system:authenticated" }), "opd.adminGroup may not be a system: group"},
		{"bad deletion policy", newRequest("v9", "z", "ok", func(r *sdv1.SubdomainRequest) { r.Spec.DeletionPolicy = "Keep" }), "Unsupported value"},
		// Free text printed by `kubectl subdomain describe` and in reports: no line
		// break that forges a line, no terminal escape sequence.
		{"opd name with a line break", newRequest("v9n", "z", "ok", func(r *sdv1.SubdomainRequest) {
			r.Spec.OPD.Name = "Dinas X\nApproved:    \"x\" by kadis"
		}), "opd.name may not contain control characters"},
		{"contact with an escape sequence", newRequest("v9c", "z", "ok", func(r *sdv1.SubdomainRequest) { r.Spec.OPD.Contact.Name = "Budi\x1b[2K" }), "contact.name may not contain control characters"},
		{"phone with a C1 control", newRequest("v9p", "z", "ok", func(r *sdv1.SubdomainRequest) { r.Spec.OPD.Contact.Phone = "0561\u009b2K" }), "contact.phone may not contain control characters"},
		{"email with an escape", newRequest("v9e", "z", "ok", func(r *sdv1.SubdomainRequest) { r.Spec.OPD.Contact.Email = "a\x1b@b.go.id" }), "contact.email may not contain control characters"},
		{"letter number with a tab", newRequest("v9l", "z", "ok", func(r *sdv1.SubdomainRequest) { r.Spec.Letter.Number = "005/\t1" }), "letter.number may not contain control characters"},
		{"admin group with a line break", newRequest("v9g", "z", "ok", func(r *sdv1.SubdomainRequest) { r.Spec.OPD.AdminGroup = "opd:x\nsystem:masters" }), "opd.adminGroup may not contain control characters"},
		{"request name too long", newRequest(strings.Repeat("a", 60), "z", "ok", func(r *sdv1.SubdomainRequest) { r.Spec.OPD.Code = "ok" }), "metadata.name must be a lowercase RFC 1123 label"},
		{"request name with a dot", newRequest("din.kes", "z", "ok"), "metadata.name must be a lowercase RFC 1123 label"},
		{"invalid CIDR", newZone("vz1", "a.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.20.0.0/33"} }), "must be a CIDR"},
		{"CIDR host bits", newZone("vz2", "a.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.20.0.5/24"} }), "network address"},
		{"pool and shared", newZone("vz3", "a.go.id", func(z *sdv1.SubdomainZone) { z.Spec.SharedAddress = "10.0.0.1" }), "set exactly one of addressPool"},
		{"neither pool nor shared", newZone("vz4", "a.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = nil }), "set exactly one of addressPool"},
		{"bad shared address", newZone("vz5", "a.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = nil; z.Spec.SharedAddress = "10.0.0.300" }), "sharedAddress must be an IP"},
		{"uppercase domain", newZone("vz6", "Pontianak.go.id"), "domain must be lowercase"},
		{"window end before start", newZone("vz7", "a.go.id", func(z *sdv1.SubdomainZone) {
			z.Spec.ChangeWindow = &sdv1.ChangeWindow{TimeZone: "Asia/Makassar", Windows: []sdv1.Window{{Days: []sdv1.Weekday{"Mon"}, Start: "16:00", End: "08:00"}}}
		}), "window end must be after start"},
		{"bad window time", newZone("vz8", "a.go.id", func(z *sdv1.SubdomainZone) {
			z.Spec.ChangeWindow = &sdv1.ChangeWindow{TimeZone: "Asia/Makassar", Windows: []sdv1.Window{{Days: []sdv1.Weekday{"Mon"}, Start: "8:00", End: "25:00"}}}
		}), "spec.changeWindow.windows[0].start"},
		{"bad day", newZone("vz9", "a.go.id", func(z *sdv1.SubdomainZone) {
			z.Spec.ChangeWindow = &sdv1.ChangeWindow{TimeZone: "Asia/Makassar", Windows: []sdv1.Window{{Days: []sdv1.Weekday{"Monday"}, Start: "08:00", End: "16:00"}}}
		}), "Unsupported value: \"Monday\""},
		// Durations the typed client cannot write: the manager's zone informer could not
		// decode them, and its cache would stop.
		{"grace in days", rawZone("vz10", map[string]any{"renameGracePeriod": "30d"}), "renameGracePeriod must be a duration of zero or more"},
		{"negative grace", rawZone("vz11", map[string]any{"renameGracePeriod": "-1h"}), "renameGracePeriod must be a duration of zero or more"},
		{"service level in words", rawZone("vz12", map[string]any{"serviceLevel": map[string]any{"approval": "1 day"}}), "serviceLevel.approval must be a duration above zero"},
		{"zero service level", rawZone("vz13", map[string]any{"serviceLevel": map[string]any{"provisioning": "0s"}}), "serviceLevel.provisioning must be a duration above zero"},
		{"zone name too long", newZone(strings.Repeat("z", 64), "a.go.id"), "metadata.name may have at most 63 characters"},
		// Values the API server would store but the child objects made from them refuse
		// (or the typed client cannot decode: 1e1.5 passes the quantity pattern).
		{"quota with a decimal exponent", rawZone("vz14", quota("cpu", "1e1.5")), "hosting.quota.cpu must be a quantity of zero or more"},
		{"negative memory", rawZone("vz15", quota("memory", "-1Gi")), "hosting.quota.memory must be a quantity of zero or more"},
		{"half a pod", rawZone("vz16", quota("pods", "0.5")), "hosting.quota.pods must be a whole number"},
		{"negative pods", rawZone("vz17", quota("pods", int64(-1))), "hosting.quota.pods must be a whole number"},
		{"reserved name in capitals", newZone("vz19", "a.go.id", func(z *sdv1.SubdomainZone) { z.Spec.ReservedNames = []string{"www", "Admin"} }),
			"reservedNames must be lowercase DNS labels"},
		{"time zone Local", newZone("vz20", "a.go.id", func(z *sdv1.SubdomainZone) {
			z.Spec.ChangeWindow = &sdv1.ChangeWindow{TimeZone: "Local", Windows: []sdv1.Window{{Days: []sdv1.Weekday{"Mon"}, Start: "08:00", End: "16:00"}}}
		}), "changeWindow.timeZone must be an IANA time zone name"},
		{"letter date not in the calendar", newRequest("v9d", "z", "ok", func(r *sdv1.SubdomainRequest) { r.Spec.Letter.Date = "2026-02-30" }),
			"letter.date must be a date of the calendar"},
		{"letter date month 13", newRequest("v9m", "z", "ok", func(r *sdv1.SubdomainRequest) { r.Spec.Letter.Date = "2026-13-01" }),
			"letter.date must be a date of the calendar"},
		{"bad class name", rawZone("vz18", map[string]any{"ingress": map[string]any{"className": "Nginx_Class"}}), "ingress.className must name an IngressClass"},
		// Values a child's own validation would refuse (the Service's selector, the
		// Ingress's host, cert-manager's issuer reference) or that freeze a zone's
		// changes (a time zone no database knows): refused here, by the CRD.
		{"selector value with a space", rawZone("vz21", map[string]any{"ingress": map[string]any{"controllerSelector": map[string]any{"app": "ingress nginx"}}}),
			"ingress.controllerSelector values must be label values"},
		{"selector key with a space", rawZone("vz22", map[string]any{"ingress": map[string]any{"controllerSelector": map[string]any{"app name": "x"}}}),
			"ingress.controllerSelector keys must be label keys"},
		{"selector value too long", rawZone("vz23", map[string]any{"ingress": map[string]any{"controllerSelector": map[string]any{"app": strings.Repeat("x", 64)}}}),
			"Too long"},
		{"numeric top-level label", newZone("vz24", "20.30.40"), "domain's last label must not be all digits"},
		{"issuer with a space", rawZone("vz25", map[string]any{"ingress": map[string]any{"clusterIssuer": "Letsencrypt Prod"}}),
			"ingress.clusterIssuer must name a cert-manager ClusterIssuer"},
		{"unknown time zone", newZone("vz26", "a.go.id", func(z *sdv1.SubdomainZone) {
			z.Spec.ChangeWindow = &sdv1.ChangeWindow{TimeZone: "Asia/Makasar", Windows: []sdv1.Window{{Days: []sdv1.Weekday{"Mon"}, Start: "08:00", End: "16:00"}}}
		}), "changeWindow.timeZone"},
		{"an offset for a time zone", newZone("vz27", "a.go.id", func(z *sdv1.SubdomainZone) {
			z.Spec.ChangeWindow = &sdv1.ChangeWindow{TimeZone: "+08:00", Windows: []sdv1.Window{{Days: []sdv1.Weekday{"Mon"}, Start: "08:00", End: "16:00"}}}
		}), "changeWindow.timeZone must be an IANA time zone name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := k8s.Create(ctx, tc.obj)
			if err == nil {
				t.Fatalf("accepted, want refusal containing %q", tc.want)
			}
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want an Invalid error containing %q", err, tc.want)
			}
		})
	}
	t.Run("valid durations and the longest zone name", func(t *testing.T) {
		z := rawZone(strings.Repeat("y", 63), map[string]any{"renameGracePeriod": "0s",
			"serviceLevel": map[string]any{"approval": "1h30m", "provisioning": "0.5h"},
			"hosting":      map[string]any{"quota": map[string]any{"cpu": "500m", "memory": "512Mi", "storage": int64(0), "pods": int64(10)}},
			"ingress": map[string]any{"className": "nginx-internal", "clusterIssuer": "letsencrypt-prod",
				"controllerSelector": map[string]any{"app.kubernetes.io/name": "ingress-nginx", "tier": "Edge_1.a"}},
			"changeWindow": map[string]any{"timeZone": "Etc/GMT-8", "windows": []any{map[string]any{"days": []any{"Mon"}, "start": "08:00", "end": "16:00"}}}})
		if err := k8s.Create(ctx, z); err != nil {
			t.Fatalf("refused: %v", err)
		}
		t.Cleanup(func() { _ = k8s.Delete(ctx, z) })
		got := &sdv1.SubdomainZone{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(z), got); err != nil {
			t.Fatalf("typed read: %v", err)
		}
		if sl := got.Spec.ServiceLevel; got.Spec.RenameGracePeriod.Duration != 0 || sl.Approval.Duration != 90*time.Minute || sl.Provisioning.Duration != 30*time.Minute {
			t.Fatalf("durations read back as %v, %v, %v", got.Spec.RenameGracePeriod, sl.Approval, sl.Provisioning)
		}
		if q := got.Spec.Hosting.Quota; q.CPU.MilliValue() != 500 || q.Pods.Value() != 10 || q.Storage.Value() != 0 {
			t.Fatalf("quota read back as %+v", q)
		}
	})
	t.Run("domain fixed", func(t *testing.T) {
		create(t, newZone("vz21", "vz21.go.id"))
		err := patchZone("vz21", func(z *sdv1.SubdomainZone) { z.Spec.Domain = "other.go.id" })
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "domain cannot change") {
			t.Fatalf("changing the domain: %v", err)
		}
		if err := patchZone("vz21", func(z *sdv1.SubdomainZone) { z.Spec.DNS.TTL = 60 }); err != nil {
			t.Fatalf("another edit of the zone: %v", err)
		}
	})
	t.Run("unknown field", func(t *testing.T) {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "subdomain.kominfo.go.id/v1alpha1", "kind": "SubdomainRequest",
			"metadata": map[string]any{"name": "vunknown"},
			"spec": map[string]any{"zone": "z", "subdomain": "x", "subdomian": "typo",
				"opd": map[string]any{"name": "n", "code": "x", "adminGroup": "g"}},
		}}
		err := k8s.Create(ctx, u, client.FieldValidation("Strict"))
		if err == nil || !strings.Contains(err.Error(), `unknown field "spec.subdomian"`) {
			t.Fatalf("error %v, want unknown field spec.subdomian", err)
		}
	})
}

// quota is a zone spec with one hosting quota value.
func quota(name string, v any) map[string]any {
	return map[string]any{"hosting": map[string]any{"quota": map[string]any{name: v}}}
}

// rawZone is zone name (domain <name>.go.id, pool 10.255.0.0/24) as unstructured, with
// spec fields set as given: values the typed client cannot write.
func rawZone(name string, spec map[string]any) *unstructured.Unstructured {
	s := map[string]any{"domain": name + ".go.id", "addressPool": []any{"10.255.0.0/24"}}
	maps.Copy(s, spec)
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "subdomain.kominfo.go.id/v1alpha1", "kind": "SubdomainZone",
		"metadata": map[string]any{"name": name}, "spec": s,
	}}
}

// TestMoveRefused: the zone is fixed once a name is claimed in it and the hosting
// namespace once it is created (a move is a new request); before that, a typo can be
// fixed in place. A name of 59 characters, the longest, provisions.
func TestMoveRefused(t *testing.T) {
	create(t, newZone("mv", "mv.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.150.0.0/24"} }))
	create(t, newZone("mv2", "mv2.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.151.0.0/24"} }))
	long := strings.Repeat("p", 59)
	create(t, newRequest(long, "mv-typo", "pindah", approved("kadis")))
	waitFor(t, long, "missing zone reported", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Phase != "" && r.Status.Phase != sdv1.PhaseReady
	})
	if err := patchRequest(long, func(r *sdv1.SubdomainRequest) { r.Spec.Zone = "mv" }); err != nil {
		t.Fatalf("fixing the zone before anything was claimed: %v", err)
	}
	waitPhase(t, long, sdv1.PhaseReady)
	for _, tc := range []struct {
		name   string
		mutate func(*sdv1.SubdomainRequest)
		want   string
	}{
		{"zone", func(r *sdv1.SubdomainRequest) { r.Spec.Zone = "mv2" }, "spec.zone cannot change once a name is claimed"},
		{"namespace", func(r *sdv1.SubdomainRequest) { r.Spec.Hosting.Namespace = "elsewhere" }, "the hosting namespace (spec.hosting.namespace, default opd-<opd.code>) cannot change"},
		{"opd code behind the default namespace", func(r *sdv1.SubdomainRequest) { r.Spec.OPD.Code = "lain" }, "the hosting namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := patchRequest(long, tc.mutate)
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want an Invalid error containing %q", err, tc.want)
			}
		})
	}
	// The OPD code may change when the namespace it named stays, written out.
	if err := patchRequest(long, func(r *sdv1.SubdomainRequest) {
		r.Spec.OPD.Code, r.Spec.Hosting.Namespace = "lain", r.Status.Namespace
	}); err != nil {
		t.Fatalf("a new code with the namespace kept: %v", err)
	}
	waitPhase(t, long, sdv1.PhaseReady)
}

// TestZoneRules: rules the API server cannot check end in a condition with a clear
// reason, and the request recovers when the cause goes away.
func TestZoneRules(t *testing.T) {
	create(t, newRequest("nozone", "later", "nozone", approved("kadis")))
	r := waitPhase(t, "nozone", sdv1.PhaseFailed)
	if c := condition(r, sdv1.ConditionStalled); c.Reason != "ZoneNotFound" || !strings.Contains(c.Message, `"later"`) {
		t.Errorf("missing zone: %+v", c)
	}
	create(t, newZone("later", "later.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.30.0.0/29"} }))
	waitPhase(t, "nozone", sdv1.PhaseReady)

	create(t, newRequest("reserved", "later", "www", approved("kadis")))
	r = waitPhase(t, "reserved", sdv1.PhaseFailed)
	if c := condition(r, sdv1.ConditionNameAvailable); c.Reason != "ReservedName" || !strings.Contains(c.Message, `"www" is reserved`) {
		t.Errorf("reserved: %+v", c)
	}
	create(t, newZone("longzone", strings.Repeat("a", 63)+"."+strings.Repeat("b", 63)+"."+strings.Repeat("c", 63)+".go.id"))
	create(t, newRequest("toolong", "longzone", strings.Repeat("d", 63), approved("kadis")))
	// Failed with NameAvailable set: a first reconcile may run before the cache shows
	// the zone just created, and fail with ZoneNotFound instead.
	r = waitFor(t, "toolong", "Failed on the name", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Phase == sdv1.PhaseFailed && condition(r, sdv1.ConditionNameAvailable).Reason != ""
	})
	if c := condition(r, sdv1.ConditionNameAvailable); c.Reason != "NameTooLong" || !strings.Contains(c.Message, "at most 253") {
		t.Errorf("too long: %+v", c)
	}
	for _, n := range []string{"reserved", "toolong"} {
		mustNotExist(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-" + n}})
	}

	// Pool exhaustion: a /29 has 6 usable addresses; nozone holds one.
	for i := range 6 {
		create(t, newRequest(fmt.Sprintf("fill%d", i), "later", fmt.Sprintf("fill%d", i), approved("kadis")))
	}
	var failed string
	err := testenv.Eventually(context.Background(), timeout, interval, func() (bool, error) {
		ready, fail := 0, ""
		for i := range 6 {
			r := getRequest(t, fmt.Sprintf("fill%d", i))
			switch r.Status.Phase {
			case sdv1.PhaseReady:
				ready++
			case sdv1.PhaseFailed:
				fail = r.Name
			}
		}
		failed = fail
		return ready == 5 && fail != "", nil
	})
	if err != nil {
		t.Fatalf("want 5 Ready and 1 Failed on a full /29: %v", err)
	}
	r = getRequest(t, failed)
	if c := condition(r, sdv1.ConditionAddressAssigned); c.Reason != "PoolExhausted" || !strings.Contains(c.Message, "no free address") {
		t.Errorf("pool exhausted: %+v", c)
	}
}

// TestConflicts: a name, namespace, Ingress host or DNS name held by someone else is a
// Conflict naming the holder; the holder is untouched.
func TestConflicts(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("kalbar", "kalbarprov.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.40.0.0/24"} }))
	create(t, newRequest("diskominfo", "kalbar", "diskominfo", approved("kadis")))
	holder := waitPhase(t, "diskominfo", sdv1.PhaseReady)
	create(t, newRequest("copycat", "kalbar", "diskominfo", approved("kadis")))
	r := waitPhase(t, "copycat", sdv1.PhaseConflict)
	if c := condition(r, sdv1.ConditionNameAvailable); c.Reason != "NameConflict" || !strings.Contains(c.Message, `SubdomainRequest "diskominfo"`) {
		t.Errorf("name conflict: %+v", c)
	}
	mustNotExist(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-copycat"}})
	if now := getRequest(t, "diskominfo"); now.Status.Phase != sdv1.PhaseReady || now.Status.Address != holder.Status.Address {
		t.Errorf("the holder was touched: %s", statusString(now))
	}

	// An existing namespace is never adopted.
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-bappeda"}})
	create(t, newRequest("bappeda", "kalbar", "bappeda", approved("kadis")))
	r = waitPhase(t, "bappeda", sdv1.PhaseConflict)
	if c := condition(r, sdv1.ConditionHostingReady); c.Reason != "AlreadyExists" || !strings.Contains(c.Message, "Namespace opd-bappeda") ||
		!strings.Contains(c.Message, "not created by subdomain-operator") {
		t.Errorf("namespace conflict: %+v", c)
	}
	ns := &corev1.Namespace{}
	if err := k8s.Get(ctx, types.NamespacedName{Name: "opd-bappeda"}, ns); err != nil || len(ns.OwnerReferences) != 0 || ns.Labels[sdv1.LabelRequest] != "" {
		t.Errorf("the foreign namespace was changed: %+v %v", ns.ObjectMeta, err)
	}
	// Its name was claimed before the namespace conflict was found. Renamed, the old
	// name never served: its claim goes at once, with no grace period.
	if r.Status.FQDN != "bappeda.kalbarprov.go.id" {
		t.Fatalf("bappeda holds no name: %s", statusString(r))
	}
	renameApproved(t, "bappeda", "perencanaan")
	r = waitFor(t, "bappeda", "moved to its new name", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.FQDN == "perencanaan.kalbarprov.go.id"
	})
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "bappeda.kalbarprov.go.id"}})
	if r.Status.Phase != sdv1.PhaseConflict || len(r.Status.PreviousNames) != 0 {
		t.Errorf("a name that never served is no rename: %s %+v", statusString(r), r.Status.PreviousNames)
	}

	// Two requests for one OPD code share the default namespace: the second loses.
	create(t, newRequest("diskominfo2", "kalbar", "kominfo", approved("kadis"), func(r *sdv1.SubdomainRequest) { r.Spec.OPD.Code = "diskominfo" }))
	r = waitPhase(t, "diskominfo2", sdv1.PhaseConflict)
	if c := condition(r, sdv1.ConditionHostingReady); !strings.Contains(c.Message, `SubdomainRequest "diskominfo"`) {
		t.Errorf("shared namespace conflict: %+v", c)
	}

	// A host served by a foreign Ingress, or a name in a foreign DNSEndpoint.
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "legacy"}})
	create(t, foreignIngress("legacy", "old-site", "dispar.kalbarprov.go.id", nil))
	// The request's conflict check reads the operator's cache: the holder must be in
	// it first, or the request would be the earlier of the two.
	waitCached(t, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "legacy", Name: "old-site"}})
	create(t, newRequest("dispar", "kalbar", "dispar", approved("kadis")))
	r = waitPhase(t, "dispar", sdv1.PhaseConflict)
	if c := condition(r, sdv1.ConditionNameAvailable); !strings.Contains(c.Message, "Ingress legacy/old-site") {
		t.Errorf("ingress host conflict: %+v", c)
	}
	create(t, &dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "legacy", Name: "manual"},
		Spec: dnsv1.DNSEndpointSpec{Endpoints: []*endpoint.Endpoint{endpoint.NewEndpoint("disbud.kalbarprov.go.id", "A", "192.0.2.10")}}})
	waitCached(t, &dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "legacy", Name: "manual"}})
	create(t, newRequest("disbud", "kalbar", "disbud", approved("kadis")))
	if c := condition(waitPhase(t, "disbud", sdv1.PhaseConflict), sdv1.ConditionNameAvailable); !strings.Contains(c.Message, "DNSEndpoint legacy/manual") {
		t.Errorf("DNS name conflict: %+v", c)
	}
	// A request in Conflict with a foreign holder holds no claim on the name: a claim
	// would lock the legacy site's owner out of its own Ingress (policy
	// subdomain-claimed-hostnames). When the holder goes, the request gets the name
	// at once, not at its next Conflict retry minutes later.
	mustNotExist(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "dispar.kalbarprov.go.id"}})
	if err := k8s.Delete(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "legacy", Name: "old-site"}}); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, "dispar", sdv1.PhaseReady)

	// When the holder goes, a request in Conflict gets the name.
	if err := k8s.Delete(ctx, getRequest(t, "diskominfo")); err != nil {
		t.Fatal(err)
	}
	r = waitPhase(t, "copycat", sdv1.PhaseReady)

	// A foreign Ingress that serves a held name after the fact does not take it: the
	// holder is untouched, and told. A restart makes the operator look at it afresh.
	// (Made while the operator is stopped: one stopping as it tells would lose the
	// Event - the manager stops its Event writer before its reconcilers - and the
	// restarted one, its status already saying so, tells nothing.)
	stopManager()
	create(t, foreignIngress("legacy", "late-site", r.Status.FQDN, nil))
	mark := requestReconciles("copycat")
	if err := startManager(); err != nil {
		t.Fatal(err)
	}
	waitReconciled(t, "copycat", mark)
	r = waitFor(t, "copycat", "told of the late Ingress", func(r *sdv1.SubdomainRequest) bool {
		return strings.Contains(condition(r, sdv1.ConditionNameAvailable).Message, "Ingress legacy/late-site")
	})
	if r.Status.Phase != sdv1.PhaseReady || condition(r, sdv1.ConditionNameAvailable).Status != metav1.ConditionTrue {
		t.Errorf("the holder must stay Ready with its name: %s", statusString(r))
	}
	assertEventNote(t, "copycat", "ForeignHolder", "Ingress legacy/late-site")
}

// TestDrift: children changed by hand are put back.
func TestDrift(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("drift", "drift.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.50.0.0/24"} }))
	create(t, newRequest("dukcapil", "drift", "dukcapil", approved("kadis")))
	waitPhase(t, "dukcapil", sdv1.PhaseReady)

	ing := &networkingv1.Ingress{}
	key := types.NamespacedName{Namespace: "opd-dukcapil", Name: "dukcapil"}
	if err := k8s.Get(ctx, key, ing); err != nil {
		t.Fatal(err)
	}
	ing.Spec.Rules[0].Host = "hijacked.example.com"
	if err := k8s.Update(ctx, ing); err != nil {
		t.Fatal(err)
	}
	np := &networkingv1.NetworkPolicy{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: "opd-dukcapil", Name: "subdomain-hosting"}, np); err != nil {
		t.Fatal(err)
	}
	np.Spec.Ingress = nil
	if err := k8s.Update(ctx, np); err != nil {
		t.Fatal(err)
	}
	err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		if err := k8s.Get(ctx, key, ing); err != nil {
			return false, err
		}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(np), np); err != nil {
			return false, err
		}
		return ing.Spec.Rules[0].Host == "dukcapil.drift.go.id" && len(np.Spec.Ingress) == 1, nil
	})
	if err != nil {
		t.Fatalf("drift was not put back: host=%s netpol=%+v: %v", ing.Spec.Rules[0].Host, np.Spec.Ingress, err)
	}
	// A deleted child comes back.
	ep := &dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "subdomain-system", Name: "dukcapil"}}
	if err := k8s.Delete(ctx, ep); err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(ep), ep)
		return err == nil && ep.DeletionTimestamp.IsZero(), client.IgnoreNotFound(err)
	})
	if err != nil {
		t.Fatalf("deleted DNSEndpoint not recreated: %v", err)
	}
}

// TestConcurrentClaims: 50 requests for 10 names, created at once, with 8 concurrent
// reconciles: exactly 10 winners, and every loser names its winner.
func TestConcurrentClaims(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("race", "race.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.60.0.0/24"} }))
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := newRequest(fmt.Sprintf("race%02d", i), "race", fmt.Sprintf("name%d", i%10), approved("kadis"))
			errs <- k8s.Create(ctx, r)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	winners := map[string]string{}
	addrs := map[string]string{}
	// A violation seen at any poll fails the test, even if a later poll no longer shows it.
	violations := map[string]bool{}
	violate := func(msg string) {
		if !violations[msg] {
			violations[msg] = true
			t.Error(msg)
		}
	}
	err := testenv.Eventually(ctx, 3*timeout, 250*time.Millisecond, func() (bool, error) {
		list := &sdv1.SubdomainRequestList{}
		if err := k8s.List(ctx, list); err != nil {
			return false, err
		}
		clear(winners)
		clear(addrs)
		settled := 0
		for _, r := range list.Items {
			if r.Spec.Zone != "race" {
				continue
			}
			switch r.Status.Phase {
			case sdv1.PhaseReady:
				if prev, dup := winners[r.Status.FQDN]; dup {
					violate(fmt.Sprintf("two winners for %s: %s and %s", r.Status.FQDN, prev, r.Name))
				}
				winners[r.Status.FQDN] = r.Name
				if prev, dup := addrs[r.Status.Address]; dup {
					violate(fmt.Sprintf("address %s held by %s and %s", r.Status.Address, prev, r.Name))
				}
				addrs[r.Status.Address] = r.Name
				settled++
			case sdv1.PhaseConflict:
				settled++
			}
		}
		return settled == 50, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(winners) != 10 {
		t.Fatalf("%d winners, want exactly 10: %v", len(winners), winners)
	}
	list := &sdv1.SubdomainRequestList{}
	if err := k8s.List(ctx, list); err != nil {
		t.Fatal(err)
	}
	for _, r := range list.Items {
		if r.Spec.Zone == "race" && r.Status.Phase == sdv1.PhaseConflict {
			want := winners[r.Spec.Subdomain+".race.go.id"]
			if c := condition(&r, sdv1.ConditionNameAvailable); !strings.Contains(c.Message, fmt.Sprintf("%q", want)) {
				t.Errorf("%s: conflict message %q does not name the holder %s", r.Name, c.Message, want)
			}
			if r.Status.Address != "" {
				t.Errorf("loser %s took an address %s", r.Name, r.Status.Address)
			}
		}
	}
	claims := &sdv1.SubdomainClaimList{}
	if err := k8s.List(ctx, claims, client.MatchingLabels{sdv1.LabelZone: "race"}); err != nil {
		t.Fatal(err)
	}
	if len(claims.Items) != 20 {
		t.Errorf("%d claims in zone race, want 10 FQDN + 10 address", len(claims.Items))
	}
}

// TestPool200: 200 approved requests on a /24 get 200 distinct addresses.
func TestPool200(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("big", "big.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.70.0.0/24"} }))
	for i := range 200 {
		create(t, newRequest(fmt.Sprintf("opd%03d", i), "big", fmt.Sprintf("opd%03d", i), approved("kadis")))
	}
	seen := map[string]string{}
	// A duplicate seen at any poll fails the test, even if a later poll no longer shows it.
	dups := map[string]bool{}
	err := testenv.Eventually(ctx, 5*time.Minute, time.Second, func() (bool, error) {
		list := &sdv1.SubdomainRequestList{}
		if err := k8s.List(ctx, list); err != nil {
			return false, err
		}
		clear(seen)
		for _, r := range list.Items {
			if r.Spec.Zone != "big" || r.Status.Phase != sdv1.PhaseReady {
				continue
			}
			if prev, dup := seen[r.Status.Address]; dup {
				if msg := fmt.Sprintf("address %s given to %s and %s", r.Status.Address, prev, r.Name); !dups[msg] {
					dups[msg] = true
					t.Error(msg)
				}
			}
			seen[r.Status.Address] = r.Name
		}
		return len(seen) == 200, nil
	})
	if err != nil {
		t.Fatalf("%d of 200 Ready with distinct addresses: %v", len(seen), err)
	}
	z, err := zoneWhen("big", func(z *sdv1.SubdomainZone) bool { return z.Status.Allocated == 200 })
	if err != nil {
		t.Errorf("zone allocated = %d, want 200: %v", z.Status.Allocated, err)
	}
}

// TestUnservedApprovalEnds: an approval of a request that never served (here, one in
// Conflict) is not kept by rejecting or withdrawing it - that is kept only for a site
// that served. When the name frees up, neither request is provisioned: rejection and a
// missing approval provision nothing.
func TestUnservedApprovalEnds(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("tolak", "tolak.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.41.0.0/24"} }))
	create(t, newRequest("dinsos", "tolak", "dinsos", approved("kadis")))
	waitPhase(t, "dinsos", sdv1.PhaseReady)
	for _, n := range []string{"dinsos-tolak", "dinsos-tarik"} {
		create(t, newRequest(n, "tolak", "dinsos", approved("kadis")))
		waitPhase(t, n, sdv1.PhaseConflict)
	}
	reason := "anggaran tidak tersedia"
	annotate(t, "dinsos-tolak", map[string]*string{sdv1.AnnotationRejected: &reason})
	annotate(t, "dinsos-tarik", map[string]*string{sdv1.AnnotationApproved: nil})
	if c := condition(waitPhase(t, "dinsos-tolak", sdv1.PhaseRejected), sdv1.ConditionApproved); c.Reason != "Rejected" || !strings.Contains(c.Message, reason) {
		t.Errorf("rejected: %+v", c)
	}
	if c := condition(waitPhase(t, "dinsos-tarik", sdv1.PhasePending), sdv1.ConditionApproved); c.Reason != "AwaitingApproval" {
		t.Errorf("withdrawn before it served: %+v", c)
	}

	// Free the name, then make sure the operator looked at both afterwards.
	if err := k8s.Delete(ctx, getRequest(t, "dinsos")); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: naming.FQDNClaimName("dinsos.tolak.go.id")}})
	waitCached(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: naming.FQDNClaimName("dinsos.tolak.go.id")}})
	for _, n := range []string{"dinsos-tolak", "dinsos-tarik"} {
		poke(t, n)
	}
	for n, phase := range map[string]sdv1.Phase{"dinsos-tolak": sdv1.PhaseRejected, "dinsos-tarik": sdv1.PhasePending} {
		if r := getRequest(t, n); r.Status.Phase != phase || r.Status.FQDN != "" {
			t.Errorf("%s was provisioned once the name freed up: %s", n, statusString(r))
		}
		mustNotExist(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-" + n}})
	}
	mustNotExist(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: naming.FQDNClaimName("dinsos.tolak.go.id")}})
}

// TestUnservedApprovalRecorded: the approval of a request deleted before it ever
// served (here one in Conflict, holding no name) is a decision on record: its deletion
// writes an Approved entry dated at the approval, with the approver and the
// time-to-approval, and no Deleted entry (it released nothing). A request that served
// gets no such entry: its Ready entry holds its approval.
func TestUnservedApprovalRecorded(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("catat", "catat.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.169.0.0/24"} }))
	create(t, newRequest("catat-a", "catat", "dinas", approved("kadis")))
	waitPhase(t, "catat-a", sdv1.PhaseReady)
	create(t, newRequest("catat-b", "catat", "dinas", approved("sekda")))
	b := waitPhase(t, "catat-b", sdv1.PhaseConflict)
	if b.Status.ApprovedAt == nil || b.Status.Approval == nil || b.Status.Approval.ApprovedBy != "sekda" || b.Status.FQDN != "" {
		t.Fatalf("catat-b: want an approval on record and no name held: %s approval %+v", statusString(b), b.Status.Approval)
	}
	if err := k8s.Delete(ctx, b); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "catat-b"}})
	entries := ledgerOf(t, "catat", "catat-b")
	var approvals []sdv1.LedgerEntry
	for _, e := range entries {
		switch e.Type {
		case sdv1.LedgerApproved:
			approvals = append(approvals, e)
		default:
			t.Errorf("catat-b never served, yet its ledger has %+v", e)
		}
	}
	if len(approvals) != 1 {
		t.Fatalf("want one Approved entry for catat-b, got %+v", entries)
	}
	e := approvals[0]
	took := b.Status.ApprovedAt.Sub(b.CreationTimestamp.Time)
	want := int64((took + time.Second - 1) / time.Second)
	if e.ApprovedBy != "sekda" || e.FQDN != "dinas.catat.go.id" || !e.At.Equal(b.Status.ApprovedAt) || e.Seconds == nil || *e.Seconds != want {
		t.Errorf("Approved entry %+v (seconds %v), want by sekda for dinas.catat.go.id at %s, %d s after the request", e, e.Seconds, b.Status.ApprovedAt, want)
	}
	// The gone request's change report shows the approval.
	ledgers := &sdv1.SubdomainLedgerList{}
	if err := k8s.List(ctx, ledgers); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if found, err := report.Describe(&out, "catat-b", ledgers.Items, nil); !found || err != nil ||
		!strings.Contains(out.String(), "Approved:    by sekda at "+b.Status.ApprovedAt.UTC().Format(time.RFC3339)) {
		t.Errorf("describe catat-b (found %v, %v):\n%s", found, err, out.String())
	}

	if err := k8s.Delete(ctx, getRequest(t, "catat-a")); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "catat-a"}})
	for _, e := range ledgerOf(t, "catat", "catat-a") {
		if e.Type == sdv1.LedgerApproved {
			t.Errorf("catat-a served: its approval is on its Ready entry, yet %+v", e)
		}
	}
}

// TestLabelIsNotOwnership: an object that carries a request's label but is not
// controlled by that request (anyone may set the label) serves the name for someone
// else: a Conflict naming it, not the request's own.
func TestLabelIsNotOwnership(t *testing.T) {
	create(t, newZone("klaim", "klaim.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.42.0.0/24"} }))
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-x"}})
	create(t, foreignIngress("team-x", "impostor", "barenlitbang.klaim.go.id", map[string]string{sdv1.LabelRequest: "barenlitbang"}))
	waitCached(t, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "team-x", Name: "impostor"}})
	create(t, newRequest("barenlitbang", "klaim", "barenlitbang", approved("kadis")))
	r := waitPhase(t, "barenlitbang", sdv1.PhaseConflict)
	if c := condition(r, sdv1.ConditionNameAvailable); c.Reason != "NameConflict" || !strings.Contains(c.Message, "Ingress team-x/impostor") ||
		!strings.Contains(c.Message, "does not own it") {
		t.Errorf("an Ingress labelled for the request but not its own: %+v", c)
	}
	mustNotExist(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-barenlitbang"}})
}

// TestLongFreeText: an approver's username or a rejection's reason longer than the
// ledger allows is cut to fit: the entry is written, the request is not wedged.
func TestLongFreeText(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("teks", "teks.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.43.0.0/24"} }))
	approver := "system:serviceaccount:gitops:" + strings.Repeat("a", 300)
	create(t, newRequest("panjang", "teks", "panjang", approved(approver)))
	reason := strings.Repeat("anggaran tidak tersedia; ", 80) // 2,000 characters
	create(t, newRequest("ditolak-panjang", "teks", "ditolak-panjang", func(r *sdv1.SubdomainRequest) {
		r.Annotations = map[string]string{sdv1.AnnotationRejected: reason}
	}))
	// A reason longer than a condition message may be (32 KiB): the message quotes
	// its first 1,024 characters, so the status write is not refused.
	huge := strings.Repeat("x", 40000)
	create(t, newRequest("ditolak-besar", "teks", "ditolak-besar", func(r *sdv1.SubdomainRequest) {
		r.Annotations = map[string]string{sdv1.AnnotationRejected: huge}
	}))
	waitPhase(t, "panjang", sdv1.PhaseReady)
	waitPhase(t, "ditolak-panjang", sdv1.PhaseRejected)
	if c := condition(waitPhase(t, "ditolak-besar", sdv1.PhaseRejected), sdv1.ConditionApproved); c.Reason != "Rejected" || len(c.Message) != len("rejected: ")+1024 {
		t.Errorf("rejected with a 40,000-character reason: %s, a message of %d characters", c.Reason, len(c.Message))
	}
	err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		ledgers := &sdv1.SubdomainLedgerList{}
		if err := k8s.List(ctx, ledgers); err != nil {
			return false, err
		}
		var by, why string
		for _, l := range ledgers.Items {
			for _, e := range l.Spec.Entries {
				if e.Request == "panjang" && e.Type == sdv1.LedgerReady {
					by = e.ApprovedBy
				}
				if e.Request == "ditolak-panjang" && e.Type == sdv1.LedgerRejected {
					why = e.Reason
				}
			}
		}
		if by == "" || why == "" {
			return false, nil
		}
		if len([]rune(by)) != 256 || !strings.HasPrefix(approver, strings.TrimSuffix(by, "…")) {
			return false, fmt.Errorf("approvedBy %q: want the first 255 characters and an ellipsis", by)
		}
		if len([]rune(why)) != 1024 || !strings.HasPrefix(reason, strings.TrimSuffix(why, "…")) {
			return false, fmt.Errorf("reason of %d characters: want the first 1,023 and an ellipsis", len([]rune(why)))
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("ledger entries of long free text: %v", err)
	}
	if r := getRequest(t, "panjang"); r.Status.Approval == nil || r.Status.Approval.ApprovedBy != approver {
		t.Errorf("status.approval keeps the whole username: %+v", r.Status.Approval)
	}
}

// foreignIngress is an Ingress the operator did not make, serving host, with labels.
func foreignIngress(namespace, name, host string, labels map[string]string) *networkingv1.Ingress {
	ing := testenv.Ingress(namespace, name, host)
	ing.Labels = labels
	return ing
}

// TestZoneRecreatedWithAnotherDomain: a zone deleted (its finalizer removed by hand,
// which the zone's message offers) and made again with another domain does not turn
// its requests' names into labels of the new one (the whole old name under the new
// domain): the request is Failed, saying so, and serves as before.
func TestZoneRecreatedWithAnotherDomain(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ zone, request, domain, again, pool string }{
		{"zdom", "pindahdomain", "zdom.go.id", "lain.go.id", "10.142.0.0/24"},
		// Made again with the domain above: the whole old name still ends in the new
		// domain, but its part before it is no label.
		{"zdomatas", "pindahatas", "a.zdomatas.go.id", "zdomatas.go.id", "10.178.13.0/24"},
	} {
		zone := newZone(tc.zone, tc.domain, func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{tc.pool} })
		create(t, zone)
		create(t, newRequest(tc.request, tc.zone, tc.request, approved("kadis")))
		waitPhase(t, tc.request, sdv1.PhaseReady)
		if err := k8s.Delete(ctx, zone); err != nil {
			t.Fatal(err)
		}
		if _, err := zoneWhen(tc.zone, func(z *sdv1.SubdomainZone) bool { return zoneReason(z) == "DeletionWaitsForRequests" }); err != nil {
			t.Fatal(err)
		}
		if err := testenv.Edit(ctx, k8s, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: tc.zone}}, func(z *sdv1.SubdomainZone) {
			controllerutil.RemoveFinalizer(z, sdv1.ZoneFinalizer)
		}); err != nil {
			t.Fatal(err)
		}
		waitGone(t, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: tc.zone}})
		create(t, newZone(tc.zone, tc.again, func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{tc.pool} }))
		fqdn := tc.request + "." + tc.domain
		r := waitFor(t, tc.request, "Failed on the domain", func(r *sdv1.SubdomainRequest) bool {
			return r.Status.Phase == sdv1.PhaseFailed && condition(r, sdv1.ConditionNameAvailable).Reason == "ZoneDomainChanged"
		})
		if c := condition(r, sdv1.ConditionNameAvailable); !strings.Contains(c.Message, fqdn+" is not under the domain") {
			t.Errorf("%s: NameAvailable = %+v", tc.request, c)
		}
		if r.Status.FQDN != fqdn {
			t.Errorf("%s: fqdn %s", tc.request, r.Status.FQDN)
		}
		for _, name := range []string{fqdn + "." + tc.again, tc.request + "." + tc.again} {
			mustNotExist(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: name}})
		}
	}
}

// TestOverlappingPools: address claims are named by address alone, so zones whose
// pools overlap share their addresses; a request of one zone waiting for a free
// address (PoolExhausted) gets the one a request of the other zone gives back.
func TestOverlappingPools(t *testing.T) {
	ctx := context.Background()
	for _, z := range []string{"tumpang1", "tumpang2"} {
		create(t, newZone(z, z+".go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.143.0.0/30"} }))
	}
	create(t, newRequest("tumpanga", "tumpang1", "a", approved("kadis")))
	create(t, newRequest("tumpangb", "tumpang1", "b", approved("kadis")))
	waitPhase(t, "tumpanga", sdv1.PhaseReady)
	waitPhase(t, "tumpangb", sdv1.PhaseReady)
	create(t, newRequest("tumpangc", "tumpang2", "c", approved("kadis")))
	r := waitPhase(t, "tumpangc", sdv1.PhaseFailed)
	if c := condition(r, sdv1.ConditionAddressAssigned); c.Reason != "PoolExhausted" {
		t.Fatalf("AddressAssigned = %+v", c)
	}
	gone := getRequest(t, "tumpanga")
	if err := k8s.Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if r := waitPhase(t, "tumpangc", sdv1.PhaseReady); r.Status.Address != gone.Status.Address {
		t.Errorf("tumpangc got %s, want the freed %s", r.Status.Address, gone.Status.Address)
	}
}

// TestNarrowedPool: a pool narrowed under its requests leaves them their addresses
// (a site's address does not change under it); the zone counts only the pool's
// addresses as allocated and says how many are held outside it.
func TestNarrowedPool(t *testing.T) {
	create(t, newZone("sempit", "sempit.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.144.0.0/29"} }))
	create(t, newRequest("sempit1", "sempit", "satu", approved("kadis")))
	before := waitPhase(t, "sempit1", sdv1.PhaseReady)
	if _, err := zoneWhen("sempit", func(z *sdv1.SubdomainZone) bool { return z.Status.Allocated == 1 }); err != nil {
		t.Fatal(err)
	}
	editZone(t, "sempit", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.144.1.0/29"} })
	z, err := zoneWhen("sempit", func(z *sdv1.SubdomainZone) bool {
		return z.Status.ObservedGeneration == z.Generation && z.Status.Allocated == 0 && z.Status.Capacity == 6
	})
	if err != nil {
		t.Fatalf("zone after narrowing: allocated %d capacity %d: %v", z.Status.Allocated, z.Status.Capacity, err)
	}
	if c := meta.FindStatusCondition(z.Status.Conditions, sdv1.ConditionReady); c == nil || !strings.Contains(c.Message, "0 of 6 addresses allocated; 1 more held outside spec.addressPool") {
		t.Errorf("zone Ready = %+v", c)
	}
	if r := getRequest(t, "sempit1"); r.Status.Address != before.Status.Address || r.Status.Phase != sdv1.PhaseReady {
		t.Errorf("the request after narrowing: %s", statusString(r))
	}
}

// zoneReason is the reason of zone z's Ready condition, or "".
func zoneReason(z *sdv1.SubdomainZone) string {
	if c := meta.FindStatusCondition(z.Status.Conditions, sdv1.ConditionReady); c != nil && c.ObservedGeneration == z.Generation {
		return c.Reason
	}
	return ""
}

// TestZoneDeletionWaitsForRequests: a zone being deleted stays while requests name
// it, saying which; its served sites keep their upkeep, a request that serves nothing
// yet gets nothing (ZoneDeleting), and the zone goes with its last request.
func TestZoneDeletionWaitsForRequests(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("tutup", "tutup.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.166.0.0/24"} }))
	create(t, newRequest("tutupa", "tutup", "a", approved("kadis")))
	waitPhase(t, "tutupa", sdv1.PhaseReady)
	if z, err := zoneWhen("tutup", func(z *sdv1.SubdomainZone) bool { return controllerutil.ContainsFinalizer(z, sdv1.ZoneFinalizer) }); err != nil {
		t.Fatalf("zone tutup has no finalizer %s: %v (%v)", sdv1.ZoneFinalizer, err, z.Finalizers)
	}
	// Taken off a live zone (a replace without it, say), it is put back. (A zone with
	// no requests and no claims: nothing else brings it a reconcile.)
	create(t, newZone("tutupkosong", "tutupkosong.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.167.0.0/24"} }))
	if _, err := zoneWhen("tutupkosong", func(z *sdv1.SubdomainZone) bool {
		return controllerutil.ContainsFinalizer(z, sdv1.ZoneFinalizer) && z.Status.ObservedGeneration == z.Generation
	}); err != nil {
		t.Fatal(err)
	}
	if err := testenv.Edit(ctx, k8s, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "tutupkosong"}}, func(z *sdv1.SubdomainZone) {
		controllerutil.RemoveFinalizer(z, sdv1.ZoneFinalizer)
	}); err != nil {
		t.Fatal(err)
	}
	if z, err := zoneWhen("tutupkosong", func(z *sdv1.SubdomainZone) bool { return controllerutil.ContainsFinalizer(z, sdv1.ZoneFinalizer) }); err != nil {
		t.Fatalf("the finalizer taken off zone tutupkosong was not put back: %v (%v)", err, z.Finalizers)
	}
	// A zone no request names goes at once.
	if err := k8s.Delete(ctx, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "tutupkosong"}}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "tutupkosong"}})
	if err := k8s.Delete(ctx, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "tutup"}}); err != nil {
		t.Fatal(err)
	}
	z, err := zoneWhen("tutup", func(z *sdv1.SubdomainZone) bool { return zoneReason(z) == "DeletionWaitsForRequests" })
	if err != nil {
		t.Fatalf("zone tutup being deleted: %+v: %v", z.Status.Conditions, err)
	}
	if c := meta.FindStatusCondition(z.Status.Conditions, sdv1.ConditionReady); c.Status != metav1.ConditionFalse ||
		!strings.Contains(c.Message, "deletion waits for 1 SubdomainRequest naming the zone: tutupa;") {
		t.Errorf("zone tutup Ready = %+v", c)
	}

	// Nothing new is provisioned in it.
	create(t, newRequest("tutupb", "tutup", "b", approved("kadis")))
	r := waitFor(t, "tutupb", "ZoneDeleting", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionReady).Reason == "ZoneDeleting"
	})
	if r.Status.Phase != sdv1.PhaseFailed || r.Status.FQDN != "" || r.Status.Namespace != "" {
		t.Errorf("tutupb in a zone being deleted, want Failed and nothing provisioned: %s", statusString(r))
	}
	mustNotExist(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-tutupb"}})
	if _, err := zoneReadyWhen("tutup", func(c metav1.Condition) bool {
		return strings.Contains(c.Message, "2 SubdomainRequests naming the zone: tutupa, tutupb;")
	}); err != nil {
		t.Errorf("zone tutup does not name both requests: %v", err)
	}

	// The served site is kept up: its deleted DNSEndpoint comes back.
	ep := &dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "subdomain-system", Name: "tutupa"}}
	if err := k8s.Delete(ctx, ep); err != nil {
		t.Fatal(err)
	}
	if err := testenv.WaitFor(ctx, k8s, client.ObjectKeyFromObject(ep), &dnsv1.DNSEndpoint{}, timeout, interval,
		func(*dnsv1.DNSEndpoint) bool { return true }); err != nil {
		t.Errorf("the served site's DNSEndpoint was not made again while its zone is being deleted: %v", err)
	}
	if r := getRequest(t, "tutupa"); r.Status.Phase != sdv1.PhaseReady {
		t.Errorf("tutupa: %s", statusString(r))
	}

	// The zone goes with its last request, not before.
	if err := k8s.Delete(ctx, getRequest(t, "tutupb")); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "tutupb"}})
	if _, err := zoneReadyWhen("tutup", func(c metav1.Condition) bool {
		return strings.Contains(c.Message, "1 SubdomainRequest naming the zone: tutupa;")
	}); err != nil {
		t.Errorf("zone tutup after tutupb went: %v", err)
	}
	if err := k8s.Delete(ctx, getRequest(t, "tutupa")); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "tutupa"}})
	waitGone(t, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "tutup"}})
	mustNotExist(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-tutupa"}})
}

// TestDeletedClaimTakenAgain: a claim deleted by hand (not released by its holder) is
// taken again by the holder at once, not at the next resync hours later: until then
// the admission policies would let an Ingress in any namespace serve the name. The
// operator runs without its short test resync here.
func TestDeletedClaimTakenAgain(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("ambilan", "ambilan.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.172.0.0/24"} }))
	create(t, newRequest("ambilan", "ambilan", "ambilan", approved("kadis")))
	r := waitPhase(t, "ambilan", sdv1.PhaseReady)
	withoutResync(t, "ambilan")
	for _, name := range []string{"ambilan.ambilan.go.id", naming.AddressClaimName(netip.MustParseAddr(r.Status.Address))} {
		c := &sdv1.SubdomainClaim{}
		if err := k8s.Get(ctx, types.NamespacedName{Name: name}, c); err != nil {
			t.Fatal(err)
		}
		old := c.UID
		if err := k8s.Delete(ctx, c); err != nil {
			t.Fatal(err)
		}
		err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
			err := k8s.Get(ctx, types.NamespacedName{Name: name}, c)
			return err == nil && c.UID != old, client.IgnoreNotFound(err)
		})
		if err != nil {
			t.Errorf("claim %s not taken again: %v", name, err)
		} else if c.Spec.Request != "ambilan" {
			t.Errorf("claim %s taken by %q", name, c.Spec.Request)
		}
	}
	if r := getRequest(t, "ambilan"); r.Status.Phase != sdv1.PhaseReady {
		t.Errorf("ambilan: %s", statusString(r))
	}
}

// TestForeignHolderTold: a foreign Ingress serving a held name is told to its holder
// when it comes and when it goes, not at the holder's next reconcile (a resync, hours
// away: the operator runs without its short test resync here). The holder stays Ready.
func TestForeignHolderTold(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("numpang", "numpang.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.176.0.0/24"} }))
	create(t, newRequest("tuanrumah", "numpang", "tuanrumah", approved("kadis")))
	waitPhase(t, "tuanrumah", sdv1.PhaseReady)
	withoutResync(t, "tuanrumah")
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "penumpang"}})
	// cert-manager's HTTP-01 solver Ingress serves the name for the site: no holder.
	solver := foreignIngress("penumpang", "cm-acme-http-solver-x", "tuanrumah.numpang.go.id", map[string]string{"acme.cert-manager.io/http01-solver": "true"})
	create(t, solver)
	waitCached(t, solver)
	poke(t, "tuanrumah")
	if c := condition(getRequest(t, "tuanrumah"), sdv1.ConditionNameAvailable); strings.Contains(c.Message, "cm-acme-http-solver") {
		t.Errorf("the ACME solver taken for a foreign holder: %+v", c)
	}
	ing := foreignIngress("penumpang", "numpang", "tuanrumah.numpang.go.id", nil)
	create(t, ing)
	r := waitFor(t, "tuanrumah", "told of the foreign Ingress", func(r *sdv1.SubdomainRequest) bool {
		return strings.Contains(condition(r, sdv1.ConditionNameAvailable).Message, "Ingress penumpang/numpang")
	})
	if r.Status.Phase != sdv1.PhaseReady || condition(r, sdv1.ConditionNameAvailable).Status != metav1.ConditionTrue {
		t.Errorf("the holder must stay Ready with its name: %s", statusString(r))
	}
	assertEventNote(t, "tuanrumah", "ForeignHolder", "Ingress penumpang/numpang")
	if err := k8s.Delete(ctx, ing); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "tuanrumah", "no longer naming the foreign Ingress", func(r *sdv1.SubdomainRequest) bool {
		c := condition(r, sdv1.ConditionNameAvailable)
		return c.Status == metav1.ConditionTrue && !strings.Contains(c.Message, "penumpang")
	})
}

// TestZonePlaceNotHosting: a hosting namespace that a zone names as its DNS or
// ingress controller namespace, while it does not exist yet, is not created for a
// request (its OPD's group would get admin over every site's DNS records, or over
// pods every hosting NetworkPolicy lets in): Conflict NamespaceReserved, nothing
// made; with another namespace the request goes on.
func TestZonePlaceNotHosting(t *testing.T) {
	create(t, newZone("tempat", "tempat.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.178.0.0/24"}
		z.Spec.DNS.Namespace = "dns-tempat"
		z.Spec.Ingress.ControllerNamespace = "lb-tempat"
	}))
	for name, ns := range map[string]string{"tempatdns": "dns-tempat", "tempatlb": "lb-tempat"} {
		create(t, newRequest(name, "tempat", name, approved("kadis"), func(r *sdv1.SubdomainRequest) { r.Spec.Hosting.Namespace = ns }))
		r := waitPhase(t, name, sdv1.PhaseConflict)
		if c := condition(r, sdv1.ConditionHostingReady); c.Reason != "NamespaceReserved" || !strings.Contains(c.Message, "SubdomainZone tempat's spec.") {
			t.Errorf("%s: HostingReady %+v", name, c)
		}
		mustNotExist(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "dns-tempat"}}) // as its admin would
	editRequest(t, "tempatlb", func(r *sdv1.SubdomainRequest) { r.Spec.Hosting.Namespace = "opd-tempatlb" })
	waitPhase(t, "tempatlb", sdv1.PhaseReady)
}

// TestUnservedRenameIntoConflict: a request that never served (its namespace is
// someone else's) renamed to a name another request serves gives back the name it
// had claimed: a third request may take it. Before, that claim stayed the first
// request's for as long as the other kept the new name.
func TestUnservedRenameIntoConflict(t *testing.T) {
	create(t, newZone("lamabaru", "lamabaru.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.2.0/24"} }))
	create(t, newRequest("lamab", "lamabaru", "lamay", approved("kadis")))
	waitPhase(t, "lamab", sdv1.PhaseReady)
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-lamar"}})
	create(t, newRequest("lamar", "lamabaru", "lamax", approved("kadis")))
	waitFor(t, "lamar", "in Conflict holding lamax", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Phase == sdv1.PhaseConflict && r.Status.FQDN == "lamax.lamabaru.go.id"
	})
	renameApproved(t, "lamar", "lamay")
	r := waitFor(t, "lamar", "in Conflict over lamay", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionNameAvailable).Reason == "NameConflict" && r.Status.ObservedGeneration == r.Generation
	})
	if c := condition(r, sdv1.ConditionNameAvailable); !strings.Contains(c.Message, `SubdomainRequest "lamab"`) {
		t.Errorf("NameAvailable: %+v", c)
	}
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "lamax.lamabaru.go.id"}})
	create(t, newRequest("lamac", "lamabaru", "lamax", approved("kadis")))
	waitServing(t, "lamac", "lamax.lamabaru.go.id")
}

// TestRouteHolds: a Gateway API route that serves a name before a request claims it
// (made before the claim, or while the claimed-hostnames policy failed open) is a
// foreign holder, as an Ingress is: the request is a Conflict naming it and takes no
// claim; when the route goes, the request is looked at again and serves.
func TestRouteHolds(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("rute", "rute.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.4.0/24"} }))
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "rute-luar"}})
	old := testenv.Route("HTTPRoute", "rute-luar", "lama", []any{"rutehub.rute.go.id", "*.rute.go.id"})
	create(t, old)
	waitCached(t, old)
	create(t, newRequest("rutehub", "rute", "rutehub", approved("kadis")))
	r := waitPhase(t, "rutehub", sdv1.PhaseConflict)
	if c := condition(r, sdv1.ConditionNameAvailable); c.Reason != "NameConflict" || !strings.Contains(c.Message, "HTTPRoute rute-luar/lama (not created by subdomain-operator)") {
		t.Errorf("NameAvailable: %+v", c)
	}
	mustNotExist(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "rutehub.rute.go.id"}})
	// Its wildcard is no holder: an exact name wins over it.
	create(t, newRequest("rutelain", "rute", "rutelain", approved("kadis")))
	waitPhase(t, "rutelain", sdv1.PhaseReady)
	if err := k8s.Delete(ctx, old); err != nil {
		t.Fatal(err)
	}
	waitServing(t, "rutehub", "rutehub.rute.go.id")
}

// TestZoneDomainsMeet: zones may nest, but a name of the outer zone that is the inner
// zone's domain (or above it) is refused: its hosting namespace could serve every name
// of the inner zone. A zone made under a name already served gives nothing until that
// site goes; a second zone of the same domain gives nothing while the first is there
// (it would give the names the first reserves). Each is woken when that changes.
func TestZoneDomainsMeet(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("induk", "induk.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.8.0/24"} }))
	create(t, newZone("anak", "dinkes.induk.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.9.0/24"} }))
	create(t, newRequest("indukdinkes", "induk", "dinkes", approved("kadis")))
	r := waitPhase(t, "indukdinkes", sdv1.PhaseConflict)
	if c := condition(r, sdv1.ConditionNameAvailable); c.Reason != "NameConflict" || !strings.Contains(c.Message, "is the domain of SubdomainZone anak") {
		t.Errorf("a name that is another zone's domain: NameAvailable %+v", c)
	}
	mustNotExist(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-indukdinkes"}})
	mustNotExist(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "dinkes.induk.go.id"}})
	// The inner zone gives its own names.
	create(t, newRequest("anakweb", "anak", "web", approved("kadis")))
	waitServing(t, "anakweb", "web.dinkes.induk.go.id")

	// The same domain again: the second zone gives nothing while the first is there.
	create(t, newZone("kembar", "induk.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.178.10.0/24"}
		z.Spec.ReservedNames = []string{"mail"} // not admin, which the first reserves
	}))
	create(t, newRequest("kembaradmin", "kembar", "admin", approved("kadis")))
	r = waitFor(t, "kembaradmin", "held by the first zone of its domain", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionStalled).Reason == "ZoneDomainOverlap"
	})
	if c := condition(r, sdv1.ConditionStalled); !strings.Contains(c.Message, "SubdomainZone induk has the same domain") {
		t.Errorf("a second zone of a domain: Stalled %+v", c)
	}
	mustNotExist(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "admin.induk.go.id"}})
	// A decision on a request held so is taken and recorded all the same.
	create(t, newRequest("kembartolak", "kembar", "tolak", func(r *sdv1.SubdomainRequest) {
		r.Annotations = map[string]string{sdv1.AnnotationRejected: "zona ganda"}
	}))
	waitPhase(t, "kembartolak", sdv1.PhaseRejected)
	if err := waitForLedger(t, "kembar", "kembartolak", func(entries []sdv1.LedgerEntry) bool {
		return countEntries(entries, sdv1.LedgerRejected, func(e sdv1.LedgerEntry) string { return e.Reason })["zona ganda"] == 1
	}); err != nil {
		t.Errorf("the rejection in the held zone: %v", err)
	}

	// A zone under a name already served: its requests wait for that site to go.
	create(t, newZone("atas", "atas.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.11.0/24"} }))
	create(t, newRequest("atasweb", "atas", "web", approved("kadis")))
	waitServing(t, "atasweb", "web.atas.go.id")
	create(t, newZone("bawah", "x.web.atas.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.12.0/24"} }))
	create(t, newRequest("bawahsatu", "bawah", "satu", approved("kadis")))
	r = waitFor(t, "bawahsatu", "held by the site above its zone", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionStalled).Reason == "ZoneDomainOverlap"
	})
	if c := condition(r, sdv1.ConditionStalled); !strings.Contains(c.Message, "web.atas.go.id, at or above its domain x.web.atas.go.id, is held by request atasweb") {
		t.Errorf("a zone under a served name: Stalled %+v", c)
	}
	mustNotExist(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-bawahsatu"}})

	// Each is woken when what held it goes: the site's claim released, the zones deleted.
	if err := k8s.Delete(ctx, getRequest(t, "atasweb")); err != nil {
		t.Fatal(err)
	}
	waitServing(t, "bawahsatu", "satu.x.web.atas.go.id")
	if err := k8s.Delete(ctx, getRequest(t, "anakweb")); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "anakweb"}})
	if err := k8s.Delete(ctx, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "anak"}}); err != nil {
		t.Fatal(err)
	}
	waitServing(t, "indukdinkes", "dinkes.induk.go.id")
	if err := k8s.Delete(ctx, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "induk"}}); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Delete(ctx, getRequest(t, "indukdinkes")); err != nil {
		t.Fatal(err)
	}
	waitServing(t, "kembaradmin", "admin.induk.go.id")
}

// TestMovedBeforeServingTakesNewAddress: a request that never served and holds no name
// (a Conflict on its namespace, then a rename into a name taken) may still be moved to
// another zone (spec.zone is fixed only once a name is claimed); it then takes an
// address of that zone's pool and gives back the one it held from the first. Before,
// it kept the first zone's address: published and announced for the second zone, and
// counted in the first zone's pool.
func TestMovedBeforeServingTakesNewAddress(t *testing.T) {
	create(t, newZone("asal", "asal.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.15.0/24"} }))
	create(t, newZone("tujuan", "tujuan.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.16.0/24"} }))
	create(t, newRequest("asaly", "asal", "dipakai", approved("kadis")))
	waitPhase(t, "asaly", sdv1.PhaseReady)
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-asalx"}})
	create(t, newRequest("asalx", "asal", "asalx", approved("kadis")))
	r := waitFor(t, "asalx", "in Conflict holding an address", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Phase == sdv1.PhaseConflict && r.Status.Address != ""
	})
	old := r.Status.Address
	renameApproved(t, "asalx", "dipakai")
	waitFor(t, "asalx", "in Conflict over the name, holding none", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionNameAvailable).Reason == "NameConflict" && r.Status.FQDN == "" && r.Status.ObservedGeneration == r.Generation
	})
	editRequest(t, "asalx", func(r *sdv1.SubdomainRequest) {
		r.Spec.Zone, r.Spec.Subdomain, r.Spec.Hosting.Namespace = "tujuan", "pindahan", "opd-asalx-baru"
		r.Annotations[sdv1.AnnotationApproved] = "pindahan"
	})
	r = waitServing(t, "asalx", "pindahan.tujuan.go.id")
	if !strings.HasPrefix(r.Status.Address, "10.178.16.") {
		t.Errorf("moved to zone tujuan, it serves at %s (it held %s of zone asal)", r.Status.Address, old)
	}
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "ip-" + strings.ReplaceAll(old, ".", "-")}})
}
