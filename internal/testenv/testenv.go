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

// Package testenv starts the real test control plane for the whole repository:
// kube-apiserver and etcd through controller-runtime's envtest (binaries built from
// Go modules into bin/ by `make envtest-assets`), our CRDs and the external-dns
// DNSEndpoint CRD, and optionally kube-controller-manager so that garbage collection
// and namespace deletion really happen.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/kominfo/subdomain-operator/internal/manager"
)

// Options choose what runs beside the API server.
type Options struct {
	// ControllerManager starts kube-controller-manager (garbagecollector, namespace,
	// clusterrole-aggregation: the admin ClusterRole is aggregated by it).
	ControllerManager bool
	// ExtraManifests are applied after the CRDs: files, directories of YAML, or
	// kustomizations (applied with -k).
	ExtraManifests []string
	// CRDs are more CRD files, installed with ours (and established) before the
	// manifests, for example GatewayAPICRDs.
	CRDs []string
}

// Env is a running control plane.
type Env struct {
	Env    *envtest.Environment
	Config *rest.Config
	Client client.Client
	// Kubeconfig is a file with an admin (system:masters) kubeconfig.
	Kubeconfig string
	Dir        string

	kcm     *exec.Cmd
	kcmDone chan struct{}
	// restarted are kube-apiservers started by KillAPIServer's restart.
	restarted []*exec.Cmd
}

var (
	rootOnce sync.Once
	root     string
)

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	rootOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	})
	return root
}

// AssetsDir is where kube-apiserver, etcd and kube-controller-manager are:
// $KUBEBUILDER_ASSETS, else bin/.
func AssetsDir() string {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(), "bin")
}

// ModuleDir is the directory of module as the Go module in dir (relative to the
// repository root: "" for the main module) requires it, downloaded on first use.
func ModuleDir(dir, module string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = filepath.Join(RepoRoot(), dir)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s in %s: %w", module, cmd.Dir, err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("go mod download %s in %s: %s %v", module, cmd.Dir, mod.Error, err)
	}
	return mod.Dir, nil
}

// DNSEndpointCRD is the path of the DNSEndpoint CRD shipped in the external-dns module.
func DNSEndpointCRD() (string, error) {
	dir, err := ModuleDir("", "sigs.k8s.io/external-dns")
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "config", "crd", "standard", "dnsendpoints.externaldns.k8s.io.yaml"), nil
}

// GatewayAPICRDs are the standard-channel HTTPRoute, GRPCRoute and TLSRoute CRDs of the
// Gateway API module pinned in hack/tools/gatewayapi (downloaded on first use).
func GatewayAPICRDs() ([]string, error) {
	dir, err := ModuleDir(filepath.Join("hack", "tools", "gatewayapi"), "sigs.k8s.io/gateway-api")
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, kind := range []string{"httproutes", "grpcroutes", "tlsroutes"} {
		paths = append(paths, filepath.Join(dir, "config", "crd", "standard", "gateway.networking.k8s.io_"+kind+".yaml"))
	}
	return paths, nil
}

// Start starts the control plane. Call Stop when done.
func Start(opts Options) (*Env, error) {
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(AssetsDir(), bin)); err != nil {
			return nil, fmt.Errorf("%s not found in %s: run `make envtest-assets` first", bin, AssetsDir())
		}
	}
	dnsCRD, err := DNSEndpointCRD()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "subdomain-testenv-")
	if err != nil {
		return nil, err
	}
	e := &Env{Dir: dir}
	e.Env = &envtest.Environment{
		BinaryAssetsDirectory: AssetsDir(),
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths:              append([]string{filepath.Join(RepoRoot(), "config", "crd", "bases"), dnsCRD}, opts.CRDs...),
			ErrorIfPathMissing: true,
		},
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	if err := dieWithThisProcess(e.Env, dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	// Dual-stack Services, IPv4 first (as most clusters): a zone's IPv6 pool gets
	// load balancer Services of its family.
	e.Env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.0.0.0/24,fd00:10:96::/112")
	if e.Config, err = e.Env.Start(); err != nil {
		// envtest leaves etcd and kube-apiserver running when a later step fails (a
		// CRD the API server refuses, say): stop what it started.
		return nil, errors.Join(fmt.Errorf("starting envtest: %w", err), e.Stop())
	}
	if e.Client, err = client.New(e.Config, client.Options{Scheme: manager.Scheme()}); err != nil {
		_ = e.Stop()
		return nil, err
	}
	admin, err := e.AddUser("testenv-admin", "system:masters")
	if err != nil {
		_ = e.Stop()
		return nil, err
	}
	if e.Kubeconfig, err = e.WriteKubeconfig("admin.kubeconfig", admin); err != nil {
		_ = e.Stop()
		return nil, err
	}
	for _, m := range opts.ExtraManifests {
		flag := "-f"
		if _, err := os.Stat(filepath.Join(m, "kustomization.yaml")); err == nil {
			flag = "-k"
		}
		if err := e.Kubectl("apply", "--server-side", flag, m); err != nil {
			_ = e.Stop()
			return nil, err
		}
	}
	if opts.ControllerManager {
		if err := e.startControllerManager(); err != nil {
			_ = e.Stop()
			return nil, err
		}
	}
	return e, nil
}

// StartForTest is Start for one test: it fails t if the control plane does not start,
// and stops it when t's cleanups run (after those registered later, which may still
// use it).
func StartForTest(t testing.TB, opts Options) *Env {
	t.Helper()
	e, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop() })
	return e
}

// dieWithThisProcess makes env's etcd and kube-apiserver die with this process, as
// kube-controller-manager and what dnsenv starts do (Pdeathsig): without it they
// outlive a test binary killed by `go test -timeout`, a cancelled CI job or SIGKILL.
// envtest starts them itself, without a way to set their SysProcAttr, so their Path
// is a shim in dir that execs the real binary under util-linux's `setpriv --pdeathsig
// KILL`. The shim checks, once the death signal is set, that its parent is still this
// process (else it would wait for a parent that is already gone). The pid stays the
// same through the execs and the real binary's path is its argv[0], as before (the
// tests and KillAPIServer find the processes by it). Without setpriv, it warns and
// starts the binaries directly.
func dieWithThisProcess(env *envtest.Environment, dir string) error {
	setpriv, err := Setpriv()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v: etcd and kube-apiserver will outlive this process if it is killed\n", err)
		return nil
	}
	shims := filepath.Join(dir, "bin")
	if err := os.Mkdir(shims, 0o755); err != nil {
		return err
	}
	shim := func(name string) (string, error) {
		path := filepath.Join(shims, name)
		script := fmt.Sprintf(`#!/bin/sh
# testenv: run %[1]s; the kernel kills it when process %[2]d, which started it, dies.
exec %[3]s --pdeathsig KILL -- /bin/sh -c '[ "$PPID" = %[2]d ] || exit 125; exec "$@"' sh %[1]s "$@"
`, shellQuote(filepath.Join(AssetsDir(), name)), os.Getpid(), shellQuote(setpriv))
		return path, os.WriteFile(path, []byte(script), 0o755)
	}
	if env.ControlPlane.Etcd == nil {
		env.ControlPlane.Etcd = &envtest.Etcd{}
	}
	if env.ControlPlane.Etcd.Path, err = shim("etcd"); err != nil {
		return err
	}
	env.ControlPlane.GetAPIServer().Path, err = shim("kube-apiserver")
	return err
}

// Setpriv returns the absolute path of a util-linux setpriv that can set a parent-death
// signal (--pdeathsig came with util-linux 2.33; an older one refuses the option), or
// why there is none.
func Setpriv() (string, error) {
	path, err := exec.LookPath("setpriv")
	if err != nil {
		return "", errors.New("setpriv (util-linux) not found")
	}
	if path, err = filepath.Abs(path); err != nil {
		return "", err
	}
	if out, err := exec.Command(path, "--pdeathsig", "KILL", "--", "/bin/true").CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s cannot set a parent-death signal (util-linux 2.33 or later can): %v: %s", path, err, strings.TrimSpace(string(out)))
	}
	return path, nil
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// AddUser adds an authenticated user and returns its client config.
func (e *Env) AddUser(name string, groups ...string) (*envtest.AuthenticatedUser, error) {
	return e.Env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
}

// WriteKubeconfig writes u's kubeconfig into the env's directory.
func (e *Env) WriteKubeconfig(file string, u *envtest.AuthenticatedUser) (string, error) {
	b, err := u.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(e.Dir, file)
	return path, os.WriteFile(path, b, 0o600)
}

// Kubectl runs bin/kubectl (or kubectl on PATH) as the admin user.
func (e *Env) Kubectl(args ...string) error {
	kubectl := filepath.Join(AssetsDir(), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		kubectl = "kubectl"
	}
	cmd := exec.Command(kubectl, append([]string{"--kubeconfig", e.Kubeconfig}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return nil
}

func (e *Env) startControllerManager() error {
	bin := filepath.Join(AssetsDir(), "kube-controller-manager")
	logf, err := os.Create(filepath.Join(e.Dir, "kube-controller-manager.log"))
	if err != nil {
		return err
	}
	e.kcm = exec.Command(bin,
		"--kubeconfig="+e.Kubeconfig,
		"--authentication-kubeconfig="+e.Kubeconfig,
		"--authorization-kubeconfig="+e.Kubeconfig,
		"--controllers=garbagecollector,namespace,clusterrole-aggregation,resourcequota",
		"--leader-elect=false",
		"--secure-port=0",
		"--concurrent-gc-syncs=5",
		"--v=1",
	)
	e.kcm.Stdout, e.kcm.Stderr = logf, logf
	// Die with the test binary, even when a timeout kills it.
	e.kcm.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := e.kcm.Start(); err != nil {
		return fmt.Errorf("starting kube-controller-manager: %w", err)
	}
	e.kcmDone = make(chan struct{})
	go func() {
		_ = e.kcm.Wait()
		_ = logf.Close()
		close(e.kcmDone)
	}()
	return nil
}

// ControllerManagerLog returns kube-controller-manager's output so far.
func (e *Env) ControllerManagerLog() string {
	b, _ := os.ReadFile(filepath.Join(e.Dir, "kube-controller-manager.log"))
	return string(b)
}

// Stop stops everything Start started and removes the temporary directory.
func (e *Env) Stop() error {
	var errs []error
	if e.kcm != nil && e.kcm.Process != nil {
		_ = e.kcm.Process.Signal(os.Interrupt)
		select {
		case <-e.kcmDone:
		case <-time.After(10 * time.Second):
			_ = e.kcm.Process.Kill()
			<-e.kcmDone
		}
	}
	for _, cmd := range e.restarted {
		_ = cmd.Process.Kill()
	}
	if e.Env != nil {
		errs = append(errs, e.Env.Stop())
	}
	errs = append(errs, os.RemoveAll(e.Dir))
	return errors.Join(errs...)
}

// ReconcilePanics is the number of reconciles that panicked in this process (every
// controller-runtime controller counts them in the shared metrics registry). An error
// means the registry could not be read, which must not pass for "none".
func ReconcilePanics() (float64, error) {
	return counterSum("controller_runtime_reconcile_panics_total")
}

// counterSum adds up the counters of family name in the shared registry.
func counterSum(name string) (float64, error) {
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		return 0, fmt.Errorf("reading the metrics registry: %w", err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			n += counterValue(m)
		}
	}
	return n, nil
}

// FailOnPanics fails t, when its cleanups run, if any reconcile in this process
// panicked after this call. Controller-runtime recovers reconcile panics by default,
// so without this check a panic only shows as a retried error.
func FailOnPanics(t testing.TB) {
	t.Helper()
	before, err := ReconcilePanics()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		after, err := ReconcilePanics()
		if err != nil {
			t.Error(err)
		} else if after > before {
			t.Errorf("%v reconciles panicked (controller_runtime_reconcile_panics_total)", after-before)
		}
	})
}

func counterValue(m *dto.Metric) float64 {
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return 0
}

// WriteCounter counts the write requests (anything but GET, LIST, WATCH) a client
// sends, and records each with the status the API server answered. Wrap the
// operator's rest.Config with it to prove that it writes nothing.
type WriteCounter struct {
	mu  sync.Mutex
	log []Write
}

// Write is one write request a WriteCounter saw.
type Write struct {
	Method string
	Path   string
	// Status is the HTTP status code of the response: 0 while the request is in
	// flight, or if it got no response.
	Status int
}

// String is "METHOD path", the form Since returns.
func (w Write) String() string { return w.Method + " " + w.Path }

// Refused tells a write the API server answered with an error status (4xx, 5xx).
func (w Write) Refused() bool { return w.Status >= 400 }

// Wrap installs the counter on cfg.
func (w *WriteCounter) Wrap(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodGet || req.Method == http.MethodHead {
				return rt.RoundTrip(req)
			}
			w.mu.Lock()
			i := len(w.log)
			w.log = append(w.log, Write{Method: req.Method, Path: req.URL.Path})
			w.mu.Unlock()
			resp, err := rt.RoundTrip(req)
			if resp != nil {
				w.mu.Lock()
				w.log[i].Status = resp.StatusCode
				w.mu.Unlock()
			}
			return resp, err
		})
	})
	return cfg
}

// Count is the number of writes so far.
func (w *WriteCounter) Count() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int64(len(w.log))
}

// Since returns the writes recorded after the first n, as "METHOD path".
func (w *WriteCounter) Since(n int64) []string {
	var out []string
	for _, wr := range w.WritesSince(n) {
		out = append(out, wr.String())
	}
	return out
}

// WritesSince returns the writes recorded after the first n, with their status.
func (w *WriteCounter) WritesSince(n int64) []Write {
	w.mu.Lock()
	defer w.mu.Unlock()
	if int(n) >= len(w.log) {
		return nil
	}
	return append([]Write(nil), w.log[n:]...)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Eventually polls cond every interval until it returns true or timeout passes.
func Eventually(ctx context.Context, timeout, interval time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		ok, err := cond()
		if ok && err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("timed out after %s: %w", timeout, last)
			}
			return fmt.Errorf("timed out after %s", timeout)
		case <-time.After(interval):
		}
	}
}

// WaitFor reads key into obj every interval until cond holds for what it read, or
// timeout passes. cond sees only fresh reads; obj holds the last one.
func WaitFor[T client.Object](ctx context.Context, c client.Reader, key client.ObjectKey, obj T, timeout, interval time.Duration, cond func(T) bool) error {
	return Eventually(ctx, timeout, interval, func() (bool, error) {
		// A decode into a filled object keeps what the new read lacks (map keys, for one).
		reflect.ValueOf(obj).Elem().SetZero()
		if err := c.Get(ctx, key, obj); err != nil {
			return false, err
		}
		return cond(obj), nil
	})
}

// Edit reads the latest obj (by its name and namespace) as c, applies mutate to it and
// writes what mutate changed back as c, in a merge patch: a user's edit. It returns
// the first error; obj then holds what was written, or what was refused.
func Edit[T client.Object](ctx context.Context, c client.Client, obj T, mutate func(T)) error {
	key := client.ObjectKeyFromObject(obj)
	// A decode into a filled object keeps what the new read lacks (map keys, for one).
	reflect.ValueOf(obj).Elem().SetZero()
	if err := c.Get(ctx, key, obj); err != nil {
		return err
	}
	base := obj.DeepCopyObject().(client.Object)
	mutate(obj)
	return c.Patch(ctx, obj, client.MergeFrom(base))
}

// CreateNamespaces creates namespaces (the operator's DNS namespace and the ingress
// controller's, in most tests).
func (e *Env) CreateNamespaces(ctx context.Context, names ...string) error {
	for _, n := range names {
		if err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil {
			return err
		}
	}
	return nil
}

// RunOperator runs the operator in this process against cfg (the env's admin config
// when nil) until t ends: it stops it in t's cleanups and then fails t if any
// reconcile panicked meanwhile.
func (e *Env) RunOperator(t testing.TB, ctx context.Context, cfg *rest.Config, mc manager.Config) {
	t.Helper()
	FailOnPanics(t) // registered first, so it runs after the stop below
	stop, err := e.StartOperator(ctx, cfg, mc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
}

// StartOperator runs the operator in this process against cfg (the env's admin config
// when nil) and returns a function that stops it and waits.
func (e *Env) StartOperator(ctx context.Context, cfg *rest.Config, mc manager.Config) (stop func(), err error) {
	stop, _, err = e.StartOperatorWithCache(ctx, cfg, mc)
	return stop, err
}

// StartOperatorWithCache is StartOperator that also returns the operator's cache, for
// tests that must wait until the operator sees a change (WaitCached) before the step
// that depends on it.
func (e *Env) StartOperatorWithCache(ctx context.Context, cfg *rest.Config, mc manager.Config) (stop func(), cache client.Reader, err error) {
	if cfg == nil {
		cfg = e.Config
	}
	if mc.MetricsAddr == "" {
		mc.MetricsAddr = "0"
	}
	if mc.ProbeAddr == "" {
		mc.ProbeAddr = "0"
	}
	mc.SkipNameValidation = true
	ctx, cancel := context.WithCancel(ctx)
	mgr, err := manager.New(ctx, cfg, mc)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "operator:", err)
		}
	}()
	return func() { cancel(); <-done }, mgr.GetCache(), nil
}

// WaitCached waits until cache (an operator's, StartOperatorWithCache) shows obj as
// the API server (api) has it now: at its resourceVersion or a later one, or gone
// when the API server has no such object (or one with another UID). A test that
// changed an object with api then knows the operator's next look sees the change.
// obj needs its name (and namespace); its kind's objects must be ones the operator
// caches.
func WaitCached(ctx context.Context, cache, api client.Reader, obj client.Object, timeout, interval time.Duration) error {
	key := client.ObjectKeyFromObject(obj)
	now := obj.DeepCopyObject().(client.Object)
	err := api.Get(ctx, key, now)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	gone := apierrors.IsNotFound(err)
	seen := obj.DeepCopyObject().(client.Object)
	err = Eventually(ctx, timeout, interval, func() (bool, error) {
		err := cache.Get(ctx, key, seen)
		switch {
		case apierrors.IsNotFound(err):
			return gone, nil
		case err != nil:
			return false, err
		case gone:
			return false, nil
		}
		return seen.GetUID() == now.GetUID() && resourceVersionAtLeast(seen.GetResourceVersion(), now.GetResourceVersion()), nil
	})
	switch {
	case err == nil:
		return nil
	case gone:
		return fmt.Errorf("the operator's cache still has %T %s, which the API server no longer has: %w", obj, key, err)
	}
	return fmt.Errorf("the operator's cache does not show %T %s at resourceVersion %s (it has %q): %w", obj, key, now.GetResourceVersion(), seen.GetResourceVersion(), err)
}

// resourceVersionAtLeast compares two resourceVersions as the etcd revisions they are
// on this API server (opaque to clients in general; a test knows its server).
func resourceVersionAtLeast(have, want string) bool {
	h, err1 := strconv.ParseUint(have, 10, 64)
	w, err2 := strconv.ParseUint(want, 10, 64)
	if err1 != nil || err2 != nil {
		return have == want
	}
	return h >= w
}
