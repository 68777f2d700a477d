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
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	dnsv1 "sigs.k8s.io/external-dns/apis/v1alpha1"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

var managerBin string

func TestMain(m *testing.M) {
	// The test's own informers log through controller-runtime; nothing to show.
	ctrllog.SetLogger(logr.Discard())
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
	t       *testing.T
	cmd     *exec.Cmd
	metrics string // "" when its metrics endpoint is off
	done    chan struct{}

	mu     sync.Mutex
	killed bool
}

// logs collects every manager's output of a test, to check for secrets and to show on failure.
var logs testenv.SyncBuffer

// startManager starts a manager with its metrics endpoint off ("0"): no port to pick,
// so none that another process can take between picking and binding.
func startManager(t *testing.T, kubeconfig string, extra ...string) *proc {
	t.Helper()
	return launch(t, kubeconfig, false, extra...)
}

// startManagerWithMetrics starts a manager serving its metrics on a free port, for a
// test that reads them.
func startManagerWithMetrics(t *testing.T, kubeconfig string, extra ...string) *proc {
	t.Helper()
	return launch(t, kubeconfig, true, extra...)
}

func launch(t *testing.T, kubeconfig string, metrics bool, extra ...string) *proc {
	t.Helper()
	bind, url := "0", ""
	if metrics {
		addr, err := testenv.FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		bind, url = addr, "http://"+addr+"/metrics"
	}
	args := append([]string{"--kubeconfig", kubeconfig, "--metrics-bind-address", bind, "--health-probe-bind-address", "0",
		"--max-concurrent-reconciles", "4"}, extra...)
	p := &proc{t: t, cmd: exec.Command(managerBin, args...), metrics: url, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &logs, &logs
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	// Also at the end of the test: a manager that exited on its own by then fails it.
	t.Cleanup(p.kill)
	return p
}

// kill is a crash: SIGKILL, no shutdown of any kind. A manager that had already exited,
// or that ends other than by this SIGKILL, crashed on its own: the test fails.
func (p *proc) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.killed {
		return
	}
	p.killed = true
	select {
	case <-p.done:
		p.t.Errorf("manager pid %d exited on its own (%v) before the test killed it", p.cmd.Process.Pid, p.cmd.ProcessState)
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		p.t.Errorf("manager pid %d ended with %v, not by the test's SIGKILL: it exited on its own", p.cmd.Process.Pid, p.cmd.ProcessState)
	}
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

const (
	zoneName     = "faults"
	dnsNamespace = "subdomain-system"
	ingressNS    = "ingress-nginx"
)

// controllerSelector makes the zone announce each address with a LoadBalancer Service
// sdr-<request> in ingressNS; the test plays the load balancer (playLoadBalancer).
var controllerSelector = map[string]sdv1.LabelValue{"app.kubernetes.io/name": "ingress-nginx"}

// world is a control plane with a zone, and a watcher that records what a user could
// have seen: every password the credentials Secrets ever held, and every name and
// address the requests ever showed.
type world struct {
	env *testenv.Env
	c   client.Client
	ctx context.Context
	// asManager writes as the managers' user: the barriers' probes.
	asManager client.Client

	mu        sync.Mutex
	passwords map[string][]string // namespace -> distinct passwords seen, in order
	triggers  map[string]chan string
	// atFault is, for each namespace whose Secret the watch had seen when a fault hit,
	// the password it had then.
	atFault map[string]string
	// secretsAtFault is how many Secrets the watch had seen when the last fault hit.
	secretsAtFault int
	// shown is what each request's status showed last: address and FQDN.
	shown      map[string]shownName
	violations []string
}

type shownName struct{ address, fqdn string }

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
	w := &world{env: env, c: env.Client, ctx: ctx, asManager: managerClient(t, env.Kubeconfig),
		passwords: map[string][]string{}, triggers: map[string]chan string{}, atFault: map[string]string{},
		shown: map[string]shownName{}}
	t.Cleanup(w.reportViolations(t))
	if err := env.CreateNamespaces(ctx, dnsNamespace, ingressNS); err != nil {
		t.Fatal(err)
	}
	zone := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: zoneName},
		Spec: sdv1.SubdomainZoneSpec{Domain: "faults.go.id", AddressPool: []string{"10.30.0.0/24"},
			Ingress: sdv1.ZoneIngress{ControllerNamespace: ingressNS, ControllerSelector: controllerSelector}}}
	if err := w.c.Create(ctx, zone); err != nil {
		t.Fatal(err)
	}
	owned, err := labels.NewRequirement(sdv1.LabelRequest, selection.Exists, nil)
	if err != nil {
		t.Fatal(err)
	}
	byLabel := cache.ByObject{Label: labels.NewSelector().Add(*owned)}
	informers, err := cache.New(env.Config, cache.Options{Scheme: manager.Scheme(), ByObject: map[client.Object]cache.ByObject{
		&corev1.Secret{}: byLabel, &corev1.Namespace{}: byLabel, &rbacv1.RoleBinding{}: byLabel, &corev1.Service{}: byLabel,
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
			DeleteFunc: func(o any) { w.gone(kind, o) },
		}); err != nil {
			t.Fatal(err)
		}
	}
	watch(&sdv1.SubdomainClaim{}, "SubdomainClaim")
	watch(&corev1.Namespace{}, "Namespace")
	watch(&rbacv1.RoleBinding{}, "RoleBinding")
	watch(&corev1.Secret{}, "Secret")
	watch(&sdv1.SubdomainRequest{}, "SubdomainRequest")
	if _, err := informers.GetInformer(ctx, &corev1.Service{}); err != nil {
		t.Fatal(err)
	}
	go func() { _ = informers.Start(ctx) }()
	if !informers.WaitForCacheSync(ctx) {
		t.Fatal("informers did not sync")
	}
	go w.playLoadBalancer(informers)
	return w
}

// playLoadBalancer is the cluster's load balancer (MetalLB, Cilium LB-IPAM) for the
// operator's Services: it reports the address each one asks for in its status, as
// the controllers tests do by hand. Errors (the API server down) are retried.
func (w *world) playLoadBalancer(services client.Reader) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-tick.C:
		}
		list := &corev1.ServiceList{}
		if err := services.List(w.ctx, list, client.InNamespace(ingressNS), client.HasLabels{sdv1.LabelRequest}); err != nil {
			continue
		}
		for i := range list.Items {
			svc := &list.Items[i]
			ip := svc.Annotations["metallb.io/loadBalancerIPs"]
			if ip == "" {
				ip = svc.Spec.LoadBalancerIP //nolint:staticcheck // what the operator asks for, among others
			}
			lb := svc.Status.LoadBalancer.Ingress
			if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || ip == "" || (len(lb) == 1 && lb[0].IP == ip) {
				continue
			}
			svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
			_ = w.c.Status().Update(w.ctx, svc)
		}
	}
}

// panicMarks are what a manager logs when a reconcile panicked: controller-runtime
// recovers the panic, k8s.io/apimachinery's util/runtime handler logs it, and the
// reconcile returns the error "panic: ... [recovered]"; and what the Go runtime prints
// when the process dies of an unrecovered panic or a fatal error (concurrent map
// writes, say): "fatal error: ..." and the goroutine dump headed "goroutine N [running]:".
var panicMarks = []string{"Observed a panic", "[recovered]", "fatal error:"}

var goroutineDump = regexp.MustCompile(`goroutine \d+ \[running\]:`)

// failOnPanics fails t if the managers' output shows that a reconcile panicked or a
// manager crashed: a recovered panic is otherwise only a retried error, and the
// request may still converge.
func failOnPanics(t *testing.T, out string) {
	t.Helper()
	show := func(mark string, i int) {
		t.Errorf("a manager panicked or crashed: it logged %q:\n%s", mark, out[max(0, i-300):min(len(out), i+3000)])
	}
	for _, mark := range panicMarks {
		if i := strings.Index(out, mark); i >= 0 {
			show(mark, i)
		}
	}
	if loc := goroutineDump.FindStringIndex(out); loc != nil {
		show(out[loc[0]:loc[1]], loc[0])
	}
}

// saw records passwords and what requests show, and fires an armed trigger for kind.
func (w *world) saw(kind string, o any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch o := o.(type) {
	case *corev1.Secret:
		if o.Name == sdv1.CredentialsSecretName {
			if pw := string(o.Data[sdv1.SecretKeyPassword]); pw != "" {
				seen := w.passwords[o.Namespace]
				if len(seen) == 0 || seen[len(seen)-1] != pw {
					w.passwords[o.Namespace] = append(seen, pw)
				}
			}
		}
	case *sdv1.SubdomainRequest:
		w.sawRequest(o)
	}
	if ch := w.triggers[kind]; ch != nil {
		delete(w.triggers, kind)
		ch <- fmt.Sprintf("%s %s", kind, o.(client.Object).GetName())
	}
}

// sawRequest checks, on every event, what no user may ever see: a request's address or
// FQDN changing once set (no test here renames), or two requests showing the same one
// at the same time. Called with w.mu held.
func (w *world) sawRequest(r *sdv1.SubdomainRequest) {
	now := shownName{address: r.Status.Address, fqdn: r.Status.FQDN}
	before := w.shown[r.Name]
	if before.address != "" && now.address != before.address {
		w.violate("request %s: status.address changed from %q to %q (resourceVersion %s)", r.Name, before.address, now.address, r.ResourceVersion)
	}
	if before.fqdn != "" && now.fqdn != before.fqdn {
		w.violate("request %s: status.fqdn changed from %q to %q (resourceVersion %s)", r.Name, before.fqdn, now.fqdn, r.ResourceVersion)
	}
	for other, s := range w.shown {
		if other == r.Name {
			continue
		}
		if now.address != "" && s.address == now.address {
			w.violate("requests %s and %s both show address %s (%s at resourceVersion %s)", other, r.Name, now.address, r.Name, r.ResourceVersion)
		}
		if now.fqdn != "" && s.fqdn == now.fqdn {
			w.violate("requests %s and %s both show FQDN %s (%s at resourceVersion %s)", other, r.Name, now.fqdn, r.Name, r.ResourceVersion)
		}
	}
	w.shown[r.Name] = now
}

// gone forgets a deleted request (none is deleted here; a deleted one's name and
// address may be taken again).
func (w *world) gone(kind string, o any) {
	if kind != "SubdomainRequest" {
		return
	}
	if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	if r, ok := o.(*sdv1.SubdomainRequest); ok {
		w.mu.Lock()
		delete(w.shown, r.Name)
		w.mu.Unlock()
	}
}

// violate records a violation; called with w.mu held.
func (w *world) violate(format string, args ...any) {
	if len(w.violations) < 50 {
		w.violations = append(w.violations, fmt.Sprintf(format, args...))
	}
}

// reportViolations fails t, at the end, with what the request watch saw go wrong.
func (w *world) reportViolations(t *testing.T) func() {
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, v := range w.violations {
			t.Errorf("seen in the requests' status: %s", v)
		}
	}
}

// fault records, at a fault, which Secrets' passwords a user could have read by then:
// each of them must never change.
func (w *world) fault() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.secretsAtFault = len(w.passwords)
	for ns, seen := range w.passwords {
		if _, ok := w.atFault[ns]; !ok {
			w.atFault[ns] = seen[0]
		}
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
	phases, _ := w.mustPhases(t)
	w.mu.Lock()
	secrets := w.secretsAtFault
	w.mu.Unlock()
	t.Logf("%s; requests: %v; Secrets seen when it hit: %d of %d", fault, phases, secrets, n)
	// Either count shows provisioning was under way when the fault hit: fewer Secrets
	// than requests then (each request makes one, before its Ingress and records), or
	// requests not Ready now (a manager that recovered fast may have finished them all
	// since).
	if phases[sdv1.PhaseReady] == n && secrets == n {
		t.Fatalf("all requests were provisioned before %s: it did not interrupt provisioning", fault)
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

// phases counts requests by phase. It returns the List error: callers inside
// Eventually retry it (the API server may be coming back).
func (w *world) phases() (map[sdv1.Phase]int, []sdv1.SubdomainRequest, error) {
	list := &sdv1.SubdomainRequestList{}
	if err := w.c.List(w.ctx, list); err != nil {
		return nil, nil, err
	}
	out := map[sdv1.Phase]int{}
	for _, r := range list.Items {
		out[r.Status.Phase]++
	}
	return out, list.Items, nil
}

// mustPhases is phases, retried for a while, failing t if the list never succeeds.
func (w *world) mustPhases(t *testing.T) (map[sdv1.Phase]int, []sdv1.SubdomainRequest) {
	t.Helper()
	var (
		phases map[sdv1.Phase]int
		items  []sdv1.SubdomainRequest
	)
	err := testenv.Eventually(w.ctx, 30*time.Second, 200*time.Millisecond, func() (bool, error) {
		var err error
		phases, items, err = w.phases()
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("listing the requests: %v", err)
	}
	return phases, items
}

// waitAllReady waits until all n requests are Ready.
func (w *world) waitAllReady(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	var last map[sdv1.Phase]int
	err := testenv.Eventually(w.ctx, timeout, 250*time.Millisecond, func() (bool, error) {
		phases, _, err := w.phases()
		if err != nil {
			return false, err
		}
		last = phases
		return last[sdv1.PhaseReady] == n, nil
	})
	if err != nil {
		t.Fatalf("not all %d requests Ready after %s: %v: %v", n, timeout, last, err)
	}
}

// child is one kind of object each request must have exactly one of.
type child struct {
	kind      string
	list      client.ObjectList
	namespace func(r *sdv1.SubdomainRequest) string // "" for cluster-scoped
	name      func(r *sdv1.SubdomainRequest) string
}

func children() []child {
	hostingNS := func(r *sdv1.SubdomainRequest) string { return r.Status.Namespace }
	named := func(name string) func(*sdv1.SubdomainRequest) string {
		return func(*sdv1.SubdomainRequest) string { return name }
	}
	requestName := func(r *sdv1.SubdomainRequest) string { return r.Name }
	return []child{
		{"Namespace", &corev1.NamespaceList{}, func(*sdv1.SubdomainRequest) string { return "" }, hostingNS},
		{"ResourceQuota", &corev1.ResourceQuotaList{}, hostingNS, named(sdv1.HostingObjectName)},
		{"LimitRange", &corev1.LimitRangeList{}, hostingNS, named(sdv1.HostingObjectName)},
		{"NetworkPolicy", &networkingv1.NetworkPolicyList{}, hostingNS, named(sdv1.HostingObjectName)},
		{"RoleBinding", &rbacv1.RoleBindingList{}, hostingNS, named(sdv1.AdminRoleBindingName)},
		{"Secret", &corev1.SecretList{}, hostingNS, named(sdv1.CredentialsSecretName)},
		{"Ingress", &networkingv1.IngressList{}, hostingNS, requestName},
		{"DNSEndpoint", &dnsv1.DNSEndpointList{}, func(*sdv1.SubdomainRequest) string { return dnsNamespace }, requestName},
		{"Service", &corev1.ServiceList{}, func(*sdv1.SubdomainRequest) string { return ingressNS },
			func(r *sdv1.SubdomainRequest) string { return sdv1.LoadBalancerServicePrefix + r.Name }},
	}
}

// checkConverged asserts the invariants of a converged batch of n requests.
func (w *world) checkConverged(t *testing.T, n int) {
	t.Helper()
	_, reqs := w.mustPhases(t)
	if len(reqs) != n {
		t.Fatalf("%d requests, want %d", len(reqs), n)
	}
	byName := map[string]*sdv1.SubdomainRequest{}
	addrs, fqdns := map[string]string{}, map[string]string{}
	for i := range reqs {
		r := &reqs[i]
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
	// No orphans: of each kind the operator makes, every object labelled as a request's
	// belongs to a live request, sits where that request puts it, is controlled by that
	// request (owner reference with its UID, controller=true), and each request has
	// exactly one.
	owned := client.HasLabels{sdv1.LabelRequest}
	found := map[string]map[string]client.Object{} // kind -> request -> its object
	for _, ch := range children() {
		if err := w.c.List(w.ctx, ch.list, owned); err != nil {
			t.Fatal(err)
		}
		objs, err := meta.ExtractList(ch.list)
		if err != nil {
			t.Fatal(err)
		}
		found[ch.kind] = map[string]client.Object{}
		for _, o := range objs {
			obj := o.(client.Object)
			where := obj.GetName()
			if obj.GetNamespace() != "" {
				where = obj.GetNamespace() + "/" + where
			}
			label := obj.GetLabels()[sdv1.LabelRequest]
			r, ok := byName[label]
			switch {
			case !ok:
				t.Errorf("%s %s is an orphan: label %q names no request", ch.kind, where, label)
				continue
			case found[ch.kind][label] != nil:
				t.Errorf("%s %s is an orphan: request %s already has %s %s", ch.kind, where, label, ch.kind,
					client.ObjectKeyFromObject(found[ch.kind][label]))
				continue
			case obj.GetNamespace() != ch.namespace(r) || obj.GetName() != ch.name(r):
				t.Errorf("%s %s is an orphan: request %s's is %s/%s", ch.kind, where, label, ch.namespace(r), ch.name(r))
				continue
			}
			found[ch.kind][label] = obj
			if ref := metav1.GetControllerOf(obj); ref == nil || ref.UID != r.UID || ref.Kind != "SubdomainRequest" ||
				ref.APIVersion != sdv1.GroupVersion.String() || ref.Name != r.Name {
				t.Errorf("%s %s: controller owner %+v, want SubdomainRequest %s (uid %s) with controller=true; owners %+v",
					ch.kind, where, ref, r.Name, r.UID, obj.GetOwnerReferences())
			}
		}
		for name := range byName {
			if found[ch.kind][name] == nil {
				t.Errorf("request %s has no %s", name, ch.kind)
			}
		}
	}
	// What the children say agrees with their request.
	for name, r := range byName {
		if s, ok := found["Secret"][name].(*corev1.Secret); ok && (r.Status.CredentialsSecret == nil ||
			*r.Status.CredentialsSecret != (sdv1.SecretReference{Namespace: s.Namespace, Name: s.Name})) {
			t.Errorf("Secret %s/%s: request %s's credentialsSecret is %v", s.Namespace, s.Name, name, r.Status.CredentialsSecret)
		}
		if ep, ok := found["DNSEndpoint"][name].(*dnsv1.DNSEndpoint); ok {
			a := ep.Spec.Endpoints
			if len(a) != 1 || a[0].RecordType != "A" || a[0].DNSName != r.Status.FQDN || len(a[0].Targets) != 1 || a[0].Targets[0] != r.Status.Address {
				t.Errorf("DNSEndpoint %s/%s has records %v; request %s has %s -> %s", ep.Namespace, ep.Name, a, name, r.Status.FQDN, r.Status.Address)
			}
		}
		if ing, ok := found["Ingress"][name].(*networkingv1.Ingress); ok && (len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != r.Status.FQDN) {
			t.Errorf("Ingress %s/%s has rules %+v; request %s serves %s", ing.Namespace, ing.Name, ing.Spec.Rules, name, r.Status.FQDN)
		}
		if svc, ok := found["Service"][name].(*corev1.Service); ok && (svc.Spec.Type != corev1.ServiceTypeLoadBalancer ||
			svc.Spec.LoadBalancerIP != r.Status.Address || svc.Annotations["metallb.io/loadBalancerIPs"] != r.Status.Address) { //nolint:staticcheck
			t.Errorf("Service %s/%s asks for %q (%s, annotation %q); request %s has %s", svc.Namespace, svc.Name,
				svc.Spec.LoadBalancerIP, svc.Spec.Type, svc.Annotations["metallb.io/loadBalancerIPs"], name, r.Status.Address) //nolint:staticcheck
		}
	}
	// Passwords: the one a user could first read is the one there now. (After an API
	// server crash the test's own watch may take a while to come back.)
	secrets := found["Secret"]
	err := testenv.Eventually(w.ctx, time.Minute, 200*time.Millisecond, func() (bool, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, s := range secrets {
			if len(w.passwords[s.GetNamespace()]) == 0 {
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
	for _, o := range secrets {
		s := o.(*corev1.Secret)
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
	// The passwords that existed when a fault hit are still the ones in their Secrets.
	for ns, pw := range w.atFault {
		s, ok := secretIn(secrets, ns)
		if !ok {
			t.Errorf("the Secret of namespace %s, seen before a fault, is gone", ns)
		} else if string(s.Data[sdv1.SecretKeyPassword]) != pw {
			t.Errorf("Secret %s/%s: the password a user could read before a fault changed", s.Namespace, s.Name)
		}
	}
	// The ledger has each request's Ready exactly once: one entry ID per request (ids
	// are unique; pages may repeat one).
	ledgers := &sdv1.SubdomainLedgerList{}
	if err := w.c.List(w.ctx, ledgers); err != nil {
		t.Fatal(err)
	}
	ready := map[string]map[string]bool{}
	for _, l := range ledgers.Items {
		for _, e := range l.Spec.Entries {
			if e.Type == sdv1.LedgerReady {
				if ready[e.Request] == nil {
					ready[e.Request] = map[string]bool{}
				}
				ready[e.Request][e.ID] = true
			}
		}
	}
	for name := range byName {
		if ids := ready[name]; len(ids) != 1 {
			t.Errorf("ledger: request %s has %d Ready entries, want 1: %v", name, len(ids), slices.Sorted(maps.Keys(ids)))
		}
	}
	for name := range ready {
		if byName[name] == nil {
			t.Errorf("ledger: Ready entries of unknown request %s", name)
		}
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

func secretIn(secrets map[string]client.Object, ns string) (*corev1.Secret, bool) {
	for _, o := range secrets {
		if o.GetNamespace() == ns {
			return o.(*corev1.Secret), true
		}
	}
	return nil, false
}

// requireFaultPasswords fails t unless at least min Secrets existed, and were seen by
// the test's watch, when a fault hit: else the password check covered no fault.
func (w *world) requireFaultPasswords(t *testing.T, min int) {
	t.Helper()
	w.mu.Lock()
	n := len(w.atFault)
	w.mu.Unlock()
	t.Logf("%d Secrets were seen before a fault", n)
	if n < min {
		t.Errorf("only %d Secrets existed before a fault, want at least %d: the password check covers no fault", n, min)
	}
}

// condition is the request's condition typ, or an empty one.
func condition(r *sdv1.SubdomainRequest, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(r.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// countOwned is the number of objects in list labelled as a request's.
func (w *world) countOwned(list client.ObjectList) (int, error) {
	if err := w.c.List(w.ctx, list, client.HasLabels{sdv1.LabelRequest}); err != nil {
		return 0, err
	}
	return meta.LenList(list), nil
}

// mustCount is countOwned, failing t on an error.
func (w *world) mustCount(t *testing.T, list client.ObjectList) int {
	t.Helper()
	n, err := w.countOwned(list)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitUntil polls the requests until reached says the barrier stopped all of them
// where it should, and returns its last explanation.
func (w *world) waitUntil(t *testing.T, point string, reached func(reqs []sdv1.SubdomainRequest) (bool, string)) {
	t.Helper()
	why := ""
	err := testenv.Eventually(w.ctx, 90*time.Second, 200*time.Millisecond, func() (bool, error) {
		_, reqs, err := w.phases()
		if err != nil {
			return false, err
		}
		ok, msg := reached(reqs)
		why = msg
		return ok, nil
	})
	if err != nil {
		t.Fatalf("the manager never got %s: %v; %s", point, err, why)
	}
}

// allRefused says whether every request has condition typ False with reason
// ChildRefused and a message containing all of words.
func allRefused(n int, typ string, words ...string) func([]sdv1.SubdomainRequest) (bool, string) {
	return func(reqs []sdv1.SubdomainRequest) (bool, string) {
		var waiting []string
		for i := range reqs {
			c := condition(&reqs[i], typ)
			ok := c.Status == metav1.ConditionFalse && c.Reason == "ChildRefused"
			for _, word := range words {
				ok = ok && strings.Contains(c.Message, word)
			}
			if !ok {
				waiting = append(waiting, fmt.Sprintf("%s (%s: %s %s)", reqs[i].Name, typ, c.Reason, c.Message))
			}
		}
		if len(reqs) != n || len(waiting) > 0 {
			return false, fmt.Sprintf("%d requests; not there yet: %s", len(reqs), strings.Join(waiting[:min(len(waiting), 3)], "; "))
		}
		return true, ""
	}
}

// TestManagerKilled kills the manager (SIGKILL) at known steps of provisioning a batch
// and restarts it each time: a ValidatingAdmissionPolicy denies the manager the next
// step, the test waits until every request reports the denial, asserts the state there,
// kills the manager, lifts the policy and restarts it. The points: after the claims,
// after the namespace, before the Secret, and after the Secret but before the request's
// status records it. Then one kill at a random moment of a second batch.
func TestManagerKilled(t *testing.T) {
	w := newWorld(t)
	const n, m = 30, 30
	w.createBatch(t, "kill", n)
	points := []struct {
		name    string
		barrier barrier
		reached func([]sdv1.SubdomainRequest) (bool, string)
		check   func(t *testing.T)
	}{
		{"after the claim", denyNamespaces, allRefused(n, sdv1.ConditionHostingReady, "Namespace", denyNamespaces.marker()),
			func(t *testing.T) {
				if c := w.mustCount(t, &sdv1.SubdomainClaimList{}); c != 2*n {
					t.Errorf("after the claim: %d claims, want %d", c, 2*n)
				}
				if c := w.mustCount(t, &corev1.NamespaceList{}); c != 0 {
					t.Errorf("after the claim: %d hosting namespaces, want none", c)
				}
			}},
		{"after the namespace", denyQuotas, allRefused(n, sdv1.ConditionHostingReady, "ResourceQuota", denyQuotas.marker()),
			func(t *testing.T) {
				if c := w.mustCount(t, &corev1.NamespaceList{}); c != n {
					t.Errorf("after the namespace: %d hosting namespaces, want %d", c, n)
				}
				if c := w.mustCount(t, &corev1.ResourceQuotaList{}); c != 0 {
					t.Errorf("after the namespace: %d ResourceQuotas, want none", c)
				}
			}},
		// A Secret's refusal is not quoted (its fields are the credentials): the
		// condition names the Secret only.
		{"before the Secret", denySecrets, allRefused(n, sdv1.ConditionCredentialsReady, "Secret"),
			func(t *testing.T) {
				if c := w.mustCount(t, &rbacv1.RoleBindingList{}); c != n {
					t.Errorf("before the Secret: %d RoleBindings, want %d", c, n)
				}
				if c := w.mustCount(t, &corev1.SecretList{}); c != 0 {
					t.Errorf("before the Secret: %d Secrets, want none", c)
				}
			}},
		{"after the Secret, before status", denyStatus("kill00"), func(reqs []sdv1.SubdomainRequest) (bool, string) {
			secrets, err := w.countOwned(&corev1.SecretList{})
			if err != nil {
				return false, err.Error()
			}
			w.mu.Lock()
			watched := len(w.passwords)
			w.mu.Unlock()
			recorded := 0
			for _, r := range reqs {
				if r.Status.CredentialsSecret != nil {
					recorded++
				}
			}
			return secrets == n && watched == n, fmt.Sprintf("%d Secrets, %d seen by the watch, %d recorded in status", secrets, watched, recorded)
		}, func(t *testing.T) {
			_, reqs := w.mustPhases(t)
			for _, r := range reqs {
				if r.Status.CredentialsSecret != nil {
					t.Errorf("after the Secret, before status: %s records credentialsSecret %v", r.Name, r.Status.CredentialsSecret)
				}
			}
			if c := w.mustCount(t, &corev1.SecretList{}); c != n {
				t.Errorf("after the Secret, before status: %d Secrets, want %d", c, n)
			}
			// Requests that reached Ready here wrote their ledger entry, then failed to
			// write status: the restart must not record a second one (checkConverged).
			ledgers := &sdv1.SubdomainLedgerList{}
			if err := w.c.List(w.ctx, ledgers); err != nil {
				t.Fatal(err)
			}
			ready := map[string]bool{}
			for _, l := range ledgers.Items {
				for _, e := range l.Spec.Entries {
					ready[e.Request] = ready[e.Request] || e.Type == sdv1.LedgerReady
				}
			}
			t.Logf("after the Secret, before status: %d requests have a Ready ledger entry but no Ready status", len(ready))
		}},
	}
	for _, pt := range points {
		lower := w.raise(t, pt.barrier)
		mgr := startManager(t, w.env.Kubeconfig)
		w.waitUntil(t, pt.name, pt.reached)
		mgr.kill()
		w.fault()
		phases, _ := w.mustPhases(t)
		t.Logf("killed the manager %s; requests: %v", pt.name, phases)
		pt.check(t)
		lower()
	}
	w.interrupted(t, n, "the last kill at a barrier")

	// The first batch finishes; a second one is created, and the manager killed at a
	// random moment of its provisioning: after the first claim of the second batch.
	mgr := startManager(t, w.env.Kubeconfig)
	w.waitAllReady(t, n, 2*time.Minute)
	mgr.kill()
	w.createBatch(t, "rand", m)
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("FAULTS_SEED"), 10, 64); err == nil {
		seed = s
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	// Here the manager provisions 30 requests in about 1.5 s from its first claim: a
	// delay of at most 0.4 s after it lands in the middle of that, at a point no barrier
	// chose; interrupted fails the test if it did not.
	delay := time.Duration(rng.Int64N(int64(400 * time.Millisecond)))
	t.Logf("random kill: seed %d (set FAULTS_SEED to repeat), %s after the second batch's first claim", seed, delay)
	mgr = startManager(t, w.env.Kubeconfig)
	if err := testenv.Eventually(w.ctx, 90*time.Second, 5*time.Millisecond, func() (bool, error) {
		claims := &sdv1.SubdomainClaimList{}
		if err := w.c.List(w.ctx, claims); err != nil {
			return false, err
		}
		return slices.ContainsFunc(claims.Items, func(c sdv1.SubdomainClaim) bool { return strings.HasPrefix(c.Spec.Request, "rand") }), nil
	}); err != nil {
		t.Fatalf("the manager never claimed for the second batch: %v", err)
	}
	time.Sleep(delay)
	mgr.kill()
	w.fault()
	w.interrupted(t, n+m, fmt.Sprintf("the random kill %s after the second batch's first claim", delay))

	startManager(t, w.env.Kubeconfig)
	w.waitAllReady(t, n+m, 3*time.Minute)
	w.checkConverged(t, n+m)
	// Every Secret of the first batch existed when the manager was killed after it
	// (before status): each of their passwords must have stayed.
	w.requireFaultPasswords(t, n)
}

// TestAPIServerRestart crashes kube-apiserver in the middle of a batch and starts it
// again: the same manager process, leader-elected as shipped, keeps its lead through
// the outage, carries on and finishes.
func TestAPIServerRestart(t *testing.T) {
	w := newWorld(t)
	const n = 30
	firstSecret := w.arm("Secret")
	// As shipped: with leader election, whose Lease cannot be renewed while the API
	// server is down.
	m := startManagerWithMetrics(t, w.env.Kubeconfig, leaderElection...)
	if err := testenv.Eventually(w.ctx, time.Minute, 200*time.Millisecond, func() (bool, error) { return m.leader(), nil }); err != nil {
		t.Fatal("the manager never became leader")
	}
	w.createBatch(t, "apis", n)
	await(t, firstSecret, "Secret")
	restart, err := w.env.KillAPIServer()
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	w.fault()
	// Down for a while: requests, watches and the Lease's renewals fail - longer than
	// controller-runtime's default renew deadline (10 s), which would have the leader
	// give up and exit, and within the operator's (30 s), the API server's start
	// included.
	time.Sleep(12 * time.Second)
	if err := restart(); err != nil {
		t.Fatal(err)
	}
	down := time.Since(killed)
	t.Logf("the API server was down %s", down.Round(time.Second))
	w.interrupted(t, n, "the API server crash")
	w.waitAllReady(t, n, 3*time.Minute)
	if !m.alive() {
		t.Fatalf("the manager exited: it must recover without a restart (the API server down %s)", down.Round(time.Second))
	}
	if !m.leader() {
		t.Error("the manager no longer reports itself leader")
	}
	w.checkConverged(t, n)
	w.requireFaultPasswords(t, 1)
}

// leaderElection are the manager's arguments for leader election as the manifests
// and the chart run it (the Lease's timing is the operator's default).
var leaderElection = []string{"--leader-elect", "--leader-election-namespace", dnsNamespace}

// TestLeaderKilled runs two managers with leader election and kills the leader in the
// middle of a batch: the other takes the lease and finishes.
func TestLeaderKilled(t *testing.T) {
	w := newWorld(t)
	const n = 30
	a := startManagerWithMetrics(t, w.env.Kubeconfig, leaderElection...)
	b := startManagerWithMetrics(t, w.env.Kubeconfig, leaderElection...)
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
	firstSecret := w.arm("Secret")
	w.createBatch(t, "lead", n)
	await(t, firstSecret, "Secret")
	// Only the leader works: the follower has reconciled nothing.
	if v, err := testenv.Metric(follower.metrics, "controller_runtime_reconcile_total", nil); err != nil || v != 0 {
		t.Errorf("the follower reconciled while the other led: controller_runtime_reconcile_total %v (%v)", v, err)
	}
	leader.kill()
	w.fault()
	w.interrupted(t, n, "the leader's death")
	// The Lease lasts 35 s; the follower takes over after it runs out.
	w.waitAllReady(t, n, 3*time.Minute)
	if !follower.leader() {
		t.Error("the surviving manager does not report itself leader")
	}
	w.checkConverged(t, n)
	w.requireFaultPasswords(t, 1)
}
