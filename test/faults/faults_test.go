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

// Package faults_test breaks things in the middle of provisioning, on the real control
// plane, with the operator running as its own process (bin/manager, built here):
// SIGKILL of the manager at chosen points, a crash and restart of kube-apiserver, and
// the death of the leader of two replicas. After each, every request must converge with
// no duplicate name or address, no orphan, and no password a user could have read
// changed.
package faults_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	dnsv1 "sigs.k8s.io/external-dns/apis/v1alpha1"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

var managerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "subdomain-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	managerBin = filepath.Join(dir, "manager")
	build := exec.Command("go", "build", "-o", managerBin, ".")
	build.Dir = testenv.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the manager: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one manager process.
type proc struct {
	cmd     *exec.Cmd
	metrics string
	done    chan struct{}
}

// logs collects every manager's output of a test, to check for secrets and to show on failure.
var logs testenv.SyncBuffer

func startManager(t *testing.T, kubeconfig string, extra ...string) *proc {
	t.Helper()
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--kubeconfig", kubeconfig, "--metrics-bind-address", addr, "--health-probe-bind-address", "0",
		"--max-concurrent-reconciles", "4"}, extra...)
	p := &proc{cmd: exec.Command(managerBin, args...), metrics: "http://" + addr + "/metrics", done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &logs, &logs
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	return p
}

// kill is a crash: SIGKILL, no shutdown of any kind.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// leader tells whether the manager holds the leader lease, from its own metrics.
func (p *proc) leader() bool {
	v, err := testenv.Metric(p.metrics, "leader_election_master_status", nil)
	return err == nil && v >= 1
}

const zoneName = "faults"

// world is a control plane with a zone, and a watcher that records what a user could
// have seen: every password the credentials Secrets ever held.
type world struct {
	env *testenv.Env
	c   client.Client
	ctx context.Context

	mu        sync.Mutex
	passwords map[string][]string // namespace -> distinct passwords seen, in order
	triggers  map[string]chan string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	env, err := testenv.Start(testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logStart := len(logs.String())
	t.Cleanup(func() {
		// Runs after the managers' cleanups killed them: their whole output is in.
		failOnPanics(t, logs.String()[logStart:])
		if t.Failed() {
			out := logs.String()
			t.Logf("manager output (last 4000 bytes):\n%s", out[max(0, len(out)-4000):])
		}
		_ = env.Stop()
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := &world{env: env, c: env.Client, ctx: ctx, passwords: map[string][]string{}, triggers: map[string]chan string{}}
	if err := env.CreateNamespaces(ctx, "subdomain-system", "ingress-nginx"); err != nil {
		t.Fatal(err)
	}
	zone := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: zoneName},
		Spec: sdv1.SubdomainZoneSpec{Domain: "faults.go.id", AddressPool: []string{"10.30.0.0/24"}}}
	if err := w.c.Create(ctx, zone); err != nil {
		t.Fatal(err)
	}
	owned, err := labels.NewRequirement(sdv1.LabelRequest, selection.Exists, nil)
	if err != nil {
		t.Fatal(err)
	}
	byLabel := cache.ByObject{Label: labels.NewSelector().Add(*owned)}
	informers, err := cache.New(env.Config, cache.Options{Scheme: manager.Scheme(), ByObject: map[client.Object]cache.ByObject{
		&corev1.Secret{}: byLabel, &corev1.Namespace{}: byLabel, &rbacv1.RoleBinding{}: byLabel,
	}})
	if err != nil {
		t.Fatal(err)
	}
	watch := func(obj client.Object, kind string) {
		inf, err := informers.GetInformer(ctx, obj)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { w.saw(kind, o) },
			UpdateFunc: func(_, o any) { w.saw(kind, o) },
		}); err != nil {
			t.Fatal(err)
		}
	}
	watch(&sdv1.SubdomainClaim{}, "SubdomainClaim")
	watch(&corev1.Namespace{}, "Namespace")
	watch(&rbacv1.RoleBinding{}, "RoleBinding")
	watch(&corev1.Secret{}, "Secret")
	go func() { _ = informers.Start(ctx) }()
	if !informers.WaitForCacheSync(ctx) {
		t.Fatal("informers did not sync")
	}
	return w
}

// panicMarks are what a manager logs when a reconcile panicked: controller-runtime
// recovers the panic, k8s.io/apimachinery's util/runtime handler logs it, and the
// reconcile returns the error "panic: ... [recovered]".
var panicMarks = []string{"Observed a panic", "[recovered]"}

// failOnPanics fails t if the managers' output shows that a reconcile panicked: a
// recovered panic is otherwise only a retried error, and the request may still converge.
func failOnPanics(t *testing.T, out string) {
	t.Helper()
	for _, mark := range panicMarks {
		if i := strings.Index(out, mark); i >= 0 {
			t.Errorf("a reconcile panicked: the manager logged %q:\n%s", mark, out[max(0, i-300):min(len(out), i+3000)])
		}
	}
}

// saw records passwords and fires an armed trigger for kind.
func (w *world) saw(kind string, o any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s, ok := o.(*corev1.Secret); ok && s.Name == sdv1.CredentialsSecretName {
		if pw := string(s.Data[sdv1.SecretKeyPassword]); pw != "" {
			seen := w.passwords[s.Namespace]
			if len(seen) == 0 || seen[len(seen)-1] != pw {
				w.passwords[s.Namespace] = append(seen, pw)
			}
		}
	}
	if ch := w.triggers[kind]; ch != nil {
		delete(w.triggers, kind)
		ch <- fmt.Sprintf("%s %s", kind, o.(client.Object).GetName())
	}
}

// arm returns a channel that gets the next object of kind the watcher sees.
func (w *world) arm(kind string) <-chan string {
	ch := make(chan string, 1)
	w.mu.Lock()
	w.triggers[kind] = ch
	w.mu.Unlock()
	return ch
}

// await waits for the channel arm returned for kind and gives what the watcher saw.
func await(t *testing.T, fired <-chan string, kind string) string {
	t.Helper()
	select {
	case what := <-fired:
		return what
	case <-time.After(2 * time.Minute):
		t.Fatalf("the manager never wrote a %s", kind)
		return ""
	}
}

// interrupted logs the requests' phases after fault and fails if all n were already
// Ready: the fault must have hit a batch in progress.
func (w *world) interrupted(t *testing.T, n int, fault string) {
	t.Helper()
	phases, _ := w.phases(t)
	t.Logf("%s; requests: %v", fault, phases)
	if phases[sdv1.PhaseReady] == n {
		t.Fatalf("all requests were Ready before %s: it did not interrupt provisioning", fault)
	}
}

// createBatch creates n approved requests at once.
func (w *world) createBatch(t *testing.T, prefix string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("%s%02d", prefix, i)
			errs <- w.c.Create(w.ctx, &sdv1.SubdomainRequest{
				ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{sdv1.AnnotationApproved: name}},
				Spec: sdv1.SubdomainRequestSpec{Zone: zoneName, Subdomain: name,
					OPD: sdv1.OPD{Name: "Dinas " + name, Code: name, AdminGroup: "opd:" + name}},
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// phases counts requests by phase.
func (w *world) phases(t *testing.T) (map[sdv1.Phase]int, []sdv1.SubdomainRequest) {
	t.Helper()
	list := &sdv1.SubdomainRequestList{}
	if err := w.c.List(w.ctx, list); err != nil {
		t.Fatal(err)
	}
	out := map[sdv1.Phase]int{}
	for _, r := range list.Items {
		out[r.Status.Phase]++
	}
	return out, list.Items
}

// waitAllReady waits until all n requests are Ready.
func (w *world) waitAllReady(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	var last map[sdv1.Phase]int
	err := testenv.Eventually(w.ctx, timeout, 250*time.Millisecond, func() (bool, error) {
		last, _ = w.phases(t)
		return last[sdv1.PhaseReady] == n, nil
	})
	if err != nil {
		t.Fatalf("not all %d requests Ready after %s: %v", n, timeout, last)
	}
}

// checkConverged asserts the invariants of a converged batch of n requests.
func (w *world) checkConverged(t *testing.T, n int) {
	t.Helper()
	_, reqs := w.phases(t)
	if len(reqs) != n {
		t.Fatalf("%d requests, want %d", len(reqs), n)
	}
	byName := map[string]sdv1.SubdomainRequest{}
	addrs, fqdns := map[string]string{}, map[string]string{}
	for _, r := range reqs {
		byName[r.Name] = r
		if other, dup := addrs[r.Status.Address]; dup || r.Status.Address == "" {
			t.Errorf("address %q of %s also held by %s", r.Status.Address, r.Name, other)
		}
		addrs[r.Status.Address] = r.Name
		if other, dup := fqdns[r.Status.FQDN]; dup || r.Status.FQDN == "" {
			t.Errorf("name %q of %s also held by %s", r.Status.FQDN, r.Name, other)
		}
		fqdns[r.Status.FQDN] = r.Name
	}
	// Claims: exactly the name and the address of each request; none left over from an
	// allocation a crash interrupted.
	claims := &sdv1.SubdomainClaimList{}
	if err := w.c.List(w.ctx, claims); err != nil {
		t.Fatal(err)
	}
	if len(claims.Items) != 2*n {
		t.Errorf("%d claims, want %d (a name and an address per request)", len(claims.Items), 2*n)
	}
	for _, c := range claims.Items {
		r, ok := byName[c.Spec.Request]
		switch {
		case !ok:
			t.Errorf("claim %s held by missing request %q", c.Name, c.Spec.Request)
		case c.Labels[sdv1.LabelRequestUID] != string(r.UID):
			t.Errorf("claim %s: request-uid %q, but %s is %s", c.Name, c.Labels[sdv1.LabelRequestUID], r.Name, r.UID)
		case c.Spec.Type == sdv1.ClaimTypeAddress && c.Spec.Value != r.Status.Address:
			t.Errorf("claim %s: address %s, but %s uses %s", c.Name, c.Spec.Value, r.Name, r.Status.Address)
		case c.Spec.Type == sdv1.ClaimTypeFQDN && c.Name != r.Status.FQDN:
			t.Errorf("claim %s: %s serves %s", c.Name, r.Name, r.Status.FQDN)
		}
	}
	// No orphans: every namespace, Secret and DNSEndpoint the operator made belongs to a
	// request that points at it, one each.
	owned := client.HasLabels{sdv1.LabelRequest}
	nss := &corev1.NamespaceList{}
	secrets := &corev1.SecretList{}
	eps := &dnsv1.DNSEndpointList{}
	for _, l := range []client.ObjectList{nss, secrets, eps} {
		if err := w.c.List(w.ctx, l, owned); err != nil {
			t.Fatal(err)
		}
	}
	if len(nss.Items) != n || len(secrets.Items) != n || len(eps.Items) != n {
		t.Errorf("%d namespaces, %d Secrets, %d DNSEndpoints; want %d each", len(nss.Items), len(secrets.Items), len(eps.Items), n)
	}
	// owner is the live request obj's label names, once per kind: a second object of a
	// kind for one request is an orphan too.
	claimed := map[string]bool{}
	owner := func(kind string, obj client.Object) (sdv1.SubdomainRequest, bool) {
		name := obj.GetLabels()[sdv1.LabelRequest]
		r, ok := byName[name]
		if !ok || claimed[kind+"/"+name] {
			return r, false
		}
		claimed[kind+"/"+name] = true
		return r, true
	}
	for _, ns := range nss.Items {
		if r, ok := owner("Namespace", &ns); !ok || r.Status.Namespace != ns.Name {
			t.Errorf("namespace %s is an orphan (label %q)", ns.Name, ns.Labels[sdv1.LabelRequest])
		}
	}
	for _, s := range secrets.Items {
		r, ok := owner("Secret", &s)
		if !ok || s.Name != sdv1.CredentialsSecretName || r.Status.Namespace != s.Namespace || r.Status.CredentialsSecret == nil ||
			*r.Status.CredentialsSecret != (sdv1.SecretReference{Namespace: s.Namespace, Name: s.Name}) {
			t.Errorf("Secret %s/%s is an orphan (label %q; that request's namespace %q, credentialsSecret %v)", s.Namespace, s.Name,
				s.Labels[sdv1.LabelRequest], r.Status.Namespace, r.Status.CredentialsSecret)
		}
	}
	for _, ep := range eps.Items {
		r, ok := owner("DNSEndpoint", &ep)
		a := ep.Spec.Endpoints
		if !ok || ep.Name != r.Name || ep.Namespace != "subdomain-system" || len(a) != 1 || a[0].RecordType != "A" ||
			a[0].DNSName != r.Status.FQDN || len(a[0].Targets) != 1 || a[0].Targets[0] != r.Status.Address {
			t.Errorf("DNSEndpoint %s/%s is an orphan (label %q; records %v; that request has %s -> %s)", ep.Namespace, ep.Name,
				ep.Labels[sdv1.LabelRequest], a, r.Status.FQDN, r.Status.Address)
		}
	}
	// Passwords: the one a user could first read is the one there now. (After an API
	// server crash the test's own watch may take a while to come back.)
	err := testenv.Eventually(w.ctx, time.Minute, 200*time.Millisecond, func() (bool, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, s := range secrets.Items {
			if len(w.passwords[s.Namespace]) == 0 {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Errorf("the test's watch never saw some Secrets: %v", err)
	}
	log := logs.String()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range secrets.Items {
		now := string(s.Data[sdv1.SecretKeyPassword])
		seen := w.passwords[s.Namespace]
		if len(seen) != 1 || seen[0] != now {
			t.Errorf("Secret %s/%s: passwords seen %d (want 1), first equals current: %v", s.Namespace, s.Name, len(seen),
				len(seen) > 0 && seen[0] == now)
		}
		if now == "" || strings.Contains(log, now) {
			t.Errorf("Secret %s/%s: password empty or in the operator's log", s.Namespace, s.Name)
		}
	}
	// The ledger has each request's Ready once (ids are unique; pages may repeat one).
	ledgers := &sdv1.SubdomainLedgerList{}
	if err := w.c.List(w.ctx, ledgers); err != nil {
		t.Fatal(err)
	}
	ready := map[string]bool{}
	for _, l := range ledgers.Items {
		for _, e := range l.Spec.Entries {
			if e.Type == sdv1.LedgerReady {
				ready[e.Request] = true
			}
		}
	}
	if len(ready) != n {
		t.Errorf("ledger records %d Ready requests, want %d", len(ready), n)
	}
	// The zone's count agrees.
	zone := &sdv1.SubdomainZone{}
	err = testenv.WaitFor(w.ctx, w.c, client.ObjectKey{Name: zoneName}, zone, 30*time.Second, 200*time.Millisecond, func(z *sdv1.SubdomainZone) bool {
		return z.Status.Allocated == int64(n)
	})
	if err != nil {
		t.Errorf("zone allocated %d, want %d: %v", zone.Status.Allocated, n, err)
	}
}

// TestManagerKilled kills the manager (SIGKILL) the moment it has written a claim, a
// namespace, and the last hosting object before the credentials Secret, restarting it
// each time, while a batch is being provisioned.
func TestManagerKilled(t *testing.T) {
	w := newWorld(t)
	const n = 30
	w.createBatch(t, "kill", n)
	points := []struct{ name, kind string }{
		{"after the claim", "SubdomainClaim"},
		{"after the namespace", "Namespace"},
		{"before the Secret", "RoleBinding"},
	}
	for _, pt := range points {
		fired := w.arm(pt.kind)
		m := startManager(t, w.env.Kubeconfig)
		what := await(t, fired, pt.kind)
		m.kill()
		phases, _ := w.phases(t)
		t.Logf("killed the manager %s (%s); requests: %v", pt.name, what, phases)
	}
	w.interrupted(t, n, "the last kill")
	startManager(t, w.env.Kubeconfig)
	w.waitAllReady(t, n, 3*time.Minute)
	w.checkConverged(t, n)
}

// TestAPIServerRestart crashes kube-apiserver in the middle of a batch and starts it
// again: the same manager process carries on and finishes.
func TestAPIServerRestart(t *testing.T) {
	w := newWorld(t)
	const n = 30
	firstNamespace := w.arm("Namespace")
	m := startManager(t, w.env.Kubeconfig)
	w.createBatch(t, "apis", n)
	await(t, firstNamespace, "Namespace")
	restart, err := w.env.KillAPIServer()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second) // down for a while: requests and watches fail
	if err := restart(); err != nil {
		t.Fatal(err)
	}
	w.interrupted(t, n, "the API server crash")
	w.waitAllReady(t, n, 3*time.Minute)
	if !m.alive() {
		t.Fatal("the manager exited: it must recover without a restart")
	}
	w.checkConverged(t, n)
}

// TestLeaderKilled runs two managers with leader election and kills the leader in the
// middle of a batch: the other takes the lease and finishes.
func TestLeaderKilled(t *testing.T) {
	w := newWorld(t)
	const n = 30
	le := []string{"--leader-elect", "--leader-election-namespace", "subdomain-system"}
	a := startManager(t, w.env.Kubeconfig, le...)
	b := startManager(t, w.env.Kubeconfig, le...)
	var leader, follower *proc
	err := testenv.Eventually(w.ctx, time.Minute, 200*time.Millisecond, func() (bool, error) {
		switch {
		case a.leader():
			leader, follower = a, b
		case b.leader():
			leader, follower = b, a
		}
		return leader != nil, nil
	})
	if err != nil {
		t.Fatal("no manager became leader")
	}
	if follower.leader() {
		t.Fatal("both managers claim to lead")
	}
	firstNamespace := w.arm("Namespace")
	w.createBatch(t, "lead", n)
	await(t, firstNamespace, "Namespace")
	leader.kill()
	w.interrupted(t, n, "the leader's death")
	// The lease lasts 15 s; the follower takes over after it runs out.
	w.waitAllReady(t, n, 3*time.Minute)
	if !follower.leader() {
		t.Error("the surviving manager does not report itself leader")
	}
	w.checkConverged(t, n)
}
