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
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	externaldnsv1alpha1 "sigs.k8s.io/external-dns/apis/v1alpha1"
	"sigs.k8s.io/external-dns/endpoint"
)

const (
	testZone      = "pontianak.go.id"
	testNamespace = "subdomain-system"
)

// repoRoot is the repository's top directory (this file is three levels down).
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("runtime.Caller failed")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// externalDNSPath is $EXTERNAL_DNS, else bin/external-dns.
func externalDNSPath(t *testing.T) string {
	if p := os.Getenv("EXTERNAL_DNS"); p != "" {
		return p
	}
	return filepath.Join(repoRoot(t), "bin", "external-dns")
}

// assetsDir is $KUBEBUILDER_ASSETS, else bin/.
func assetsDir(t *testing.T) string {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}
	return filepath.Join(repoRoot(t), "bin")
}

// needTools skips (or, with SUBDOMAIN_E2E_REQUIRED=1, fails) when named or the
// external-dns binary is missing.
func needTools(t *testing.T, externalDNS bool) (named, edns string) {
	t.Helper()
	var missing []string
	named, err := NamedPath()
	if err != nil {
		missing = append(missing, "named ("+err.Error()+"; apt-get install bind9)")
	}
	if externalDNS {
		edns = externalDNSPath(t)
		if _, err := os.Stat(edns); err != nil {
			missing = append(missing, edns+" (run hack/build-tools.sh external-dns)")
		}
	}
	if len(missing) == 0 {
		return named, edns
	}
	msg := "real-DNS test tier needs " + strings.Join(missing, " and ")
	if os.Getenv("SUBDOMAIN_E2E_REQUIRED") == "1" {
		t.Fatal(msg + " (SUBDOMAIN_E2E_REQUIRED=1, so this is a failure)")
	}
	t.Skip(msg + " (set SUBDOMAIN_E2E_REQUIRED=1 to make this a failure)")
	return "", ""
}

// eventually polls cond every 100 ms until it returns true or timeout passes.
// cond returns a description of the current state for the failure message.
func eventually(t *testing.T, ctx context.Context, timeout time.Duration, what string, cond func(context.Context) (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for {
		ok, state := cond(ctx)
		if ok {
			t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %v waiting for %s; last state: %s", timeout, what, state)
		case <-tick.C:
		}
	}
}

// processGone reports whether pid no longer exists.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// TestBIND checks the BIND half alone: SOA, a TSIG-signed dynamic update with
// the generated key, a signed AXFR, and that Stop leaves no process behind.
func TestBIND(t *testing.T) {
	needTools(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	start := time.Now()
	b, err := StartBIND(ctx, t.TempDir(), testZone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	t.Logf("named ready on %s in %v", b.Addr(), time.Since(start).Round(time.Millisecond))

	soa, err := b.Lookup(ctx, testZone, "SOA")
	if err != nil || len(soa) != 1 || !strings.HasPrefix(soa[0], "ns1."+testZone+". ") {
		t.Fatalf("SOA = %q, %v", soa, err)
	}
	if got, err := b.Lookup(ctx, "missing."+testZone, "A"); err != nil || len(got) != 0 {
		t.Fatalf("A missing = %q, %v; want nothing", got, err)
	}

	// A dynamic update signed with the key must be accepted...
	rr, err := dns.NewRR("probe." + testZone + ". 60 IN A 192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	upd := new(dns.Msg)
	upd.SetUpdate(dns.Fqdn(testZone))
	upd.Insert([]dns.RR{rr})
	key := dns.Fqdn(b.KeyName)
	upd.SetTsig(key, dns.HmacSHA256, 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", TsigSecret: map[string]string{key: b.KeySecret}, Timeout: 5 * time.Second}
	in, _, err := c.ExchangeContext(ctx, upd, b.Addr())
	if err != nil || in.Rcode != dns.RcodeSuccess {
		t.Fatalf("signed update: %v %v", in, err)
	}
	if got, err := b.Lookup(ctx, "probe."+testZone, "A"); err != nil || !slices.Equal(got, []string{"192.0.2.7"}) {
		t.Fatalf("A probe = %q, %v", got, err)
	}
	// ...and an unsigned one refused.
	unsigned := new(dns.Msg)
	unsigned.SetUpdate(dns.Fqdn(testZone))
	unsigned.RemoveName([]dns.RR{rr})
	in, _, err = (&dns.Client{Net: "tcp", Timeout: 5 * time.Second}).ExchangeContext(ctx, unsigned, b.Addr())
	if err != nil || in.Rcode != dns.RcodeRefused {
		t.Fatalf("unsigned update: want REFUSED, got %v %v", in, err)
	}

	recs, err := b.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(recs, func(s string) bool { return strings.HasPrefix(s, "probe."+testZone+".") }) {
		t.Fatalf("AXFR lacks the probe record: %q", recs)
	}

	pid := b.Process().Pid()
	b.Stop()
	if !processGone(pid) {
		t.Fatalf("named (pid %d) still running after Stop", pid)
	}
}

// TestBINDStopsOnCancel checks that cancelling the start context stops named.
func TestBINDStopsOnCancel(t *testing.T) {
	needTools(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := StartBIND(ctx, t.TempDir(), testZone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	cancel()
	select {
	case <-b.Process().Done():
	case <-time.After(15 * time.Second):
		t.Fatal("named still running 15 s after its context was cancelled")
	}
	if !processGone(b.Process().Pid()) {
		t.Fatalf("named (pid %d) still exists", b.Process().Pid())
	}
}

// TestExternalDNSWritesBIND runs the whole real-DNS tier: envtest's kube-apiserver
// and etcd with the DNSEndpoint CRD, BIND, and the real external-dns. A
// DNSEndpoint must show up as A and CNAME answers in BIND, and disappear from it
// once the DNSEndpoint is deleted.
func TestExternalDNSWritesBIND(t *testing.T) {
	_, ednsBin := needTools(t, true)
	assets := assetsDir(t)
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			t.Fatalf("%s not found in %s (build the envtest assets first): %v", bin, assets, err)
		}
	}
	testStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)

	// The CRD ships in the external-dns module the main module requires.
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/external-dns")
	cmd.Dir = repoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m sigs.k8s.io/external-dns: %v", err)
	}
	crd := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard", "dnsendpoints.externaldns.k8s.io.yaml")

	dir := t.TempDir()
	b, err := StartBIND(ctx, dir, testZone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)

	testEnv := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths:              []string{crd},
			ErrorIfPathMissing: true,
		},
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	envStart := time.Now()
	cfg, err := testEnv.Start()
	if err != nil {
		t.Fatalf("starting envtest: %v", err)
	}
	t.Cleanup(func() {
		if err := testEnv.Stop(); err != nil {
			t.Errorf("stopping envtest: %v", err)
		}
	})
	t.Logf("envtest up in %v", time.Since(envStart).Round(time.Millisecond))

	scheme := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := externaldnsv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	// external-dns's AddToScheme registers only its types, not the meta/v1 option
	// types (CreateOptions, ...) for its group version; without this, Create fails
	// with "v1.CreateOptions is not suitable for converting to externaldns.k8s.io/v1alpha1".
	metav1.AddToGroupVersion(scheme, externaldnsv1alpha1.GroupVersion)
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}

	admin, err := testEnv.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfigBytes, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(dir, "admin.kubeconfig")
	if err := os.WriteFile(kubeconfig, kubeconfigBytes, 0o600); err != nil {
		t.Fatal(err)
	}

	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNamespace}}); err != nil {
		t.Fatal(err)
	}

	ednsStart := time.Now()
	edns, err := StartExternalDNS(ctx, ednsBin, kubeconfig, b, testNamespace)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(edns.Stop)
	t.Logf("external-dns first sync in %v", time.Since(ednsStart).Round(time.Millisecond))

	// On failure, show what each side saw.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		t.Logf("named log tail:\n%s", b.Process().LogTail(30))
		t.Logf("external-dns log tail:\n%s", edns.LogTail(60))
		if recs, err := b.Records(context.Background()); err == nil {
			t.Logf("zone now:\n%s", strings.Join(recs, "\n"))
		}
	})

	dnsName := "dinkes." + testZone
	aliasName := "old." + testZone
	ep := &externaldnsv1alpha1.DNSEndpoint{
		ObjectMeta: metav1.ObjectMeta{Name: "dinkes", Namespace: testNamespace},
		Spec: externaldnsv1alpha1.DNSEndpointSpec{
			Endpoints: []*endpoint.Endpoint{
				endpoint.NewEndpointWithTTL(dnsName, endpoint.RecordTypeA, 300, "10.20.0.15"),
				endpoint.NewEndpointWithTTL(aliasName, endpoint.RecordTypeCNAME, 300, dnsName),
			},
		},
	}
	created := time.Now()
	if err := k8s.Create(ctx, ep); err != nil {
		t.Fatal(err)
	}

	lookup := func(ctx context.Context, name, qtype string) ([]string, string) {
		got, err := b.Lookup(ctx, name, qtype)
		if err != nil {
			return nil, fmt.Sprintf("%s %s: %v", name, qtype, err)
		}
		return got, fmt.Sprintf("%s %s = %q", name, qtype, got)
	}
	eventually(t, ctx, time.Minute, "A "+dnsName+" -> 10.20.0.15 in BIND", func(ctx context.Context) (bool, string) {
		got, state := lookup(ctx, dnsName, "A")
		return slices.Equal(got, []string{"10.20.0.15"}), state
	})
	eventually(t, ctx, time.Minute, "CNAME "+aliasName+" -> "+dnsName+" in BIND", func(ctx context.Context) (bool, string) {
		got, state := lookup(ctx, aliasName, "CNAME")
		return slices.Equal(got, []string{dnsName + "."}), state
	})
	t.Logf("records visible %v after creating the DNSEndpoint", time.Since(created).Round(time.Millisecond))

	// The A query for the alias follows the CNAME inside the zone, as a resolver would.
	if got, state := lookup(ctx, aliasName, "A"); !slices.Equal(got, []string{dnsName + ".", "10.20.0.15"}) {
		t.Errorf("A via CNAME: %s", state)
	}

	// The TXT registry marks both records as owned by us.
	recs, err := b.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var registry []string
	for _, r := range recs {
		if strings.Contains(r, "\tTXT\t") && strings.Contains(r, "external-dns/owner="+TXTOwnerID) {
			registry = append(registry, r)
		}
	}
	t.Logf("TXT registry records:\n%s", strings.Join(registry, "\n"))
	for _, owned := range []string{"external-dns/resource=crd/" + testNamespace + "/dinkes"} {
		if !slices.ContainsFunc(registry, func(r string) bool { return strings.Contains(r, owned) }) {
			t.Errorf("no TXT registry record naming resource %s in %q", owned, registry)
		}
	}
	if len(registry) < 2 {
		t.Errorf("want a TXT registry record for each of the two records, got %q", registry)
	}

	// Deleting the DNSEndpoint removes the records (policy=sync).
	deleted := time.Now()
	if err := k8s.Delete(ctx, ep); err != nil {
		t.Fatal(err)
	}
	eventually(t, ctx, time.Minute, "DNSEndpoint gone from the API", func(ctx context.Context) (bool, string) {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(ep), &externaldnsv1alpha1.DNSEndpoint{})
		return apierrors.IsNotFound(err), fmt.Sprintf("get: %v", err)
	})
	eventually(t, ctx, time.Minute, dnsName+" and "+aliasName+" gone from BIND", func(ctx context.Context) (bool, string) {
		a, errA := b.Lookup(ctx, dnsName, "A")
		c, errC := b.Lookup(ctx, aliasName, "CNAME")
		return errA == nil && errC == nil && len(a) == 0 && len(c) == 0,
			fmt.Sprintf("A %q (%v); CNAME %q (%v)", a, errA, c, errC)
	})
	t.Logf("records gone %v after deleting the DNSEndpoint", time.Since(deleted).Round(time.Millisecond))
	eventually(t, ctx, 30*time.Second, "TXT registry records gone from BIND", func(ctx context.Context) (bool, string) {
		recs, err := b.Records(ctx)
		if err != nil {
			return false, err.Error()
		}
		var left []string
		for _, r := range recs {
			if strings.Contains(r, "external-dns/owner="+TXTOwnerID) {
				left = append(left, r)
			}
		}
		return len(left) == 0, fmt.Sprintf("%q", left)
	})

	// Stop leaves nothing behind.
	ednsPid, namedPid := edns.Pid(), b.Process().Pid()
	edns.Stop()
	b.Stop()
	for name, pid := range map[string]int{"external-dns": ednsPid, "named": namedPid} {
		if !processGone(pid) {
			t.Errorf("%s (pid %d) still running after Stop", name, pid)
		}
	}
	t.Logf("whole test body took %v", time.Since(testStart).Round(time.Millisecond))
}
