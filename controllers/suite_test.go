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
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/controllers"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

var (
	env    *testenv.Env
	k8s    client.Client
	writes = &testenv.WriteCounter{}
	// logs captures everything the operator logs, to prove no password reaches it.
	logs = &testenv.SyncBuffer{}
	// reconciles counts the operator's finished reconciles per object, from its log;
	// a pass that returned on a stale cached copy does not count as having looked.
	reconciles = &testenv.Reconciles{Skip: controllers.StaleCopyMessage}
	// stopManager stops the running manager; restartManager replaces it.
	stopManager func()
	// operatorCache is the running manager's cache: waitCached reads it.
	operatorCache client.Reader
)

const (
	timeout  = 90 * time.Second
	interval = 100 * time.Millisecond
)

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.New(reconciles.Sink(zap.New(zap.WriteTo(logs), zap.UseDevMode(true)).GetSink())))
	// With the Gateway API's route CRDs: the operator watches routes as it does
	// Ingresses when the cluster serves them.
	routeCRDs, err := testenv.GatewayAPICRDs()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	env, err = testenv.Start(testenv.Options{ControllerManager: true, CRDs: routeCRDs})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	k8s = env.Client
	code := func() int {
		ctx := context.Background()
		for _, ns := range []string{"subdomain-system", "ingress-nginx"} {
			if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		if err := startManager(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		code := m.Run()
		stopManager()
		n, err := testenv.ReconcilePanics()
		if err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			return 1
		}
		if n > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: %v reconciles panicked\n%s\n", n, logs.String())
			return 1
		}
		return code
	}()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// startManager runs the operator as main.go does, with a write counter on its client,
// 8 concurrent reconciles and a short resync so that steady-state tests see resyncs.
func startManager() error { return startManagerResyncing(5 * time.Second) }

// startManagerResyncing is startManager with the informers' resync period sync (0:
// controller-runtime's default, hours), for a test that must tell a reaction to an
// event from the next resync's look.
func startManagerResyncing(sync time.Duration) error {
	return startManagerWrapped(sync, func(cfg *rest.Config) *rest.Config { return cfg })
}

// startManagerWrapped is startManagerResyncing with the operator's rest.Config passed
// through wrap (a test's hook on its requests).
func startManagerWrapped(sync time.Duration, wrap func(*rest.Config) *rest.Config) error {
	stop, cache, err := env.StartOperatorWithCache(context.Background(), wrap(writes.Wrap(env.Config)), manager.Config{
		MaxConcurrentReconciles: 8, QPS: 200, Burst: 400, SyncPeriod: sync,
	})
	if err != nil {
		return err
	}
	stopManager, operatorCache = stop, cache
	return nil
}

// withHook runs the operator until the test ends with the informers' resync period
// sync and hook in front of each request it sends the API server (next sends one on):
// a test's way to make something happen at a chosen moment of the operator's work.
func withHook(t *testing.T, sync time.Duration, hook func(req *http.Request, next http.RoundTripper) (*http.Response, error)) {
	t.Helper()
	stopManager()
	t.Cleanup(func() {
		stopManager()
		if err := startManager(); err != nil {
			t.Error(err)
		}
	})
	err := startManagerWrapped(sync, func(cfg *rest.Config) *rest.Config {
		cfg = rest.CopyConfig(cfg)
		cfg.Wrap(func(next http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(req *http.Request) (*http.Response, error) { return hook(req, next) })
		})
		return cfg
	})
	if err != nil {
		t.Fatal(err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// apiFailure is the API server's Failure answer to req, for a hook to give instead of
// the API server's: code, reason and message, and details (the resource a 404 is
// about) when not nil.
func apiFailure(req *http.Request, code int32, reason metav1.StatusReason, message string, details *metav1.StatusDetails) *http.Response {
	// A Status of strings and numbers: encoding it cannot fail.
	body, _ := json.Marshal(&metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status: metav1.StatusFailure, Code: code, Reason: reason, Message: message, Details: details})
	return &http.Response{StatusCode: int(code), Header: http.Header{"Content-Type": []string{"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), Request: req}
}

// withoutResync runs the operator without the suite's short resync until the test
// ends, and waits until its first look at request name is over: for a test that must
// tell a reaction to an event from the next resync's look.
func withoutResync(t *testing.T, name string) {
	t.Helper()
	stopManager()
	mark := requestReconciles(name)
	if err := startManagerResyncing(0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopManager()
		if err := startManager(); err != nil {
			t.Error(err)
		}
	})
	waitReconciled(t, name, mark)
}

// --- builders -----------------------------------------------------------------

func newZone(name, domain string, mutate ...func(*sdv1.SubdomainZone)) *sdv1.SubdomainZone {
	z := &sdv1.SubdomainZone{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       sdv1.SubdomainZoneSpec{Domain: domain, AddressPool: []string{"10.20.0.0/24"}},
	}
	for _, m := range mutate {
		m(z)
	}
	return z
}

func newRequest(name, zone, sub string, mutate ...func(*sdv1.SubdomainRequest)) *sdv1.SubdomainRequest {
	r := &sdv1.SubdomainRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: sdv1.SubdomainRequestSpec{
			Zone: zone, Subdomain: sub,
			OPD: sdv1.OPD{Name: "Dinas " + name, Code: name, AdminGroup: "opd:" + name,
				Contact: sdv1.Contact{Name: "Admin", Email: "admin@" + name + ".go.id"}},
			Letter: sdv1.Letter{Number: "400/123/" + strings.ToUpper(name) + "/2026", Date: "2026-11-20"},
		},
	}
	for _, m := range mutate {
		m(r)
	}
	return r
}

// approved sets the approval as an approver would (the admission policy stamps
// approved-by in a full install; the core tests write it as the approver).
func approved(by string) func(*sdv1.SubdomainRequest) {
	return func(r *sdv1.SubdomainRequest) {
		if r.Annotations == nil {
			r.Annotations = map[string]string{}
		}
		r.Annotations[sdv1.AnnotationApproved] = r.Spec.Subdomain
		r.Annotations[sdv1.AnnotationApprovedBy] = by
	}
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatalf("create %s: %v", o.GetName(), err)
		}
	}
}

// annotate merges annotations into a request (nil value removes the key).
func annotate(t *testing.T, name string, kv map[string]*string) {
	t.Helper()
	editRequest(t, name, func(r *sdv1.SubdomainRequest) { testenv.MergeAnnotations(r, kv) })
}

// patchRequest changes request name as a user would, a merge patch of what mutate
// changes in its latest version, and returns the API server's answer.
func patchRequest(name string, mutate func(*sdv1.SubdomainRequest)) error {
	return testenv.Edit(context.Background(), k8s, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: name}}, mutate)
}

// editRequest is patchRequest that must succeed.
func editRequest(t *testing.T, name string, mutate func(*sdv1.SubdomainRequest)) {
	t.Helper()
	if err := patchRequest(name, mutate); err != nil {
		t.Fatal(err)
	}
}

// editZone changes zone name as editRequest changes a request.
func editZone(t *testing.T, name string, mutate func(*sdv1.SubdomainZone)) {
	t.Helper()
	if err := patchZone(name, mutate); err != nil {
		t.Fatal(err)
	}
}

// patchZone edits zone name as editZone does and returns the API server's answer.
func patchZone(name string, mutate func(*sdv1.SubdomainZone)) error {
	return testenv.Edit(context.Background(), k8s, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: name}}, mutate)
}

func ptr(s string) *string { return &s }

func getRequest(t *testing.T, name string) *sdv1.SubdomainRequest {
	t.Helper()
	r := &sdv1.SubdomainRequest{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Name: name}, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// waitFor polls the request until cond holds, and fails with its status otherwise.
func waitFor(t *testing.T, name string, what string, cond func(*sdv1.SubdomainRequest) bool) *sdv1.SubdomainRequest {
	t.Helper()
	var last *sdv1.SubdomainRequest
	err := testenv.Eventually(context.Background(), timeout, interval, func() (bool, error) {
		r := &sdv1.SubdomainRequest{}
		if err := k8s.Get(context.Background(), types.NamespacedName{Name: name}, r); err != nil {
			return false, err
		}
		last = r
		return cond(r), nil
	})
	if err != nil {
		t.Fatalf("request %s never became %s: %v\nstatus: %s\noperator log (tail):\n%s", name, what, err, statusString(last), logTail())
	}
	return last
}

// zoneWhen polls zone name until cond holds (the zone counts its claims about a
// second after they change); it returns the last zone read and the poll's error.
func zoneWhen(name string, cond func(*sdv1.SubdomainZone) bool) (*sdv1.SubdomainZone, error) {
	z := &sdv1.SubdomainZone{}
	err := testenv.WaitFor(context.Background(), k8s, types.NamespacedName{Name: name}, z, timeout, interval, cond)
	return z, err
}

// zoneReadyWhen waits until zone name's Ready condition (the zero condition while it
// has none) satisfies cond.
func zoneReadyWhen(name string, cond func(metav1.Condition) bool) (*sdv1.SubdomainZone, error) {
	return zoneWhen(name, func(z *sdv1.SubdomainZone) bool {
		c := meta.FindStatusCondition(z.Status.Conditions, sdv1.ConditionReady)
		if c == nil {
			c = &metav1.Condition{}
		}
		return cond(*c)
	})
}

// waitCached waits until the operator's cache shows obj (by name) as the API server
// has it now, or shows it gone when the API server has none: a test that changed an
// object the operator reads from its cache (a zone, a foreign Ingress, a claim) then
// knows the operator's next look sees the change.
func waitCached(t *testing.T, obj client.Object) {
	t.Helper()
	if err := testenv.WaitCached(context.Background(), operatorCache, k8s, obj, timeout, interval); err != nil {
		t.Fatal(err)
	}
}

// requestReconciles marks how many reconciles of request name the operator has started.
func requestReconciles(name string) int { return reconciles.Mark("subdomainrequest", name) }

// waitReconciled waits until a reconcile of request name that started after mark has
// finished: after a change that leaves no trace of its own, the operator has then
// looked at the request.
func waitReconciled(t *testing.T, name string, mark int) {
	t.Helper()
	if err := reconciles.Wait(context.Background(), timeout, "subdomainrequest", name, mark); err != nil {
		t.Fatal(err)
	}
}

func waitPhase(t *testing.T, name string, phase sdv1.Phase) *sdv1.SubdomainRequest {
	t.Helper()
	return waitFor(t, name, string(phase), func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Phase == phase && r.Status.ObservedGeneration == r.Generation
	})
}

func statusString(r *sdv1.SubdomainRequest) string {
	if r == nil {
		return "<none>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s fqdn=%s address=%s ns=%s\n", r.Status.Phase, r.Status.FQDN, r.Status.Address, r.Status.Namespace)
	for _, c := range r.Status.Conditions {
		fmt.Fprintf(&b, "  %s=%s %s: %s\n", c.Type, c.Status, c.Reason, c.Message)
	}
	return b.String()
}

// zoneCondition is zone z's condition typ (the zero condition while it has none).
func zoneCondition(z *sdv1.SubdomainZone, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(z.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{}
}

func condition(r *sdv1.SubdomainRequest, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(r.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// mustNotExist fails if obj exists.
func mustNotExist(t *testing.T, obj client.Object) {
	t.Helper()
	err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
	if !apierrors.IsNotFound(err) {
		t.Fatalf("%T %s/%s exists (err=%v), want none", obj, obj.GetNamespace(), obj.GetName(), err)
	}
}

// waitGone waits until obj no longer exists.
func waitGone(t *testing.T, obj client.Object) {
	t.Helper()
	err := testenv.Eventually(context.Background(), timeout, interval, func() (bool, error) {
		err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if err != nil {
		t.Fatalf("%T %s/%s still exists: %v", obj, obj.GetNamespace(), obj.GetName(), err)
	}
}

// poke changes an annotation of request name and waits for the reconcile that brings:
// a pass that started after everything the test made sure the cache shows.
func poke(t *testing.T, name string) {
	t.Helper()
	mark := requestReconciles(name)
	v := time.Now().Format(time.RFC3339Nano)
	annotate(t, name, map[string]*string{"test.example/poke": &v})
	waitReconciled(t, name, mark)
}

// gcSentinel makes a ConfigMap owned by request name (which must exist) and returns a
// wait for its deletion by kube-controller-manager's garbage collector. Called after
// the request is gone, the wait returns once the collector has acted on its absence:
// anything the request still owned would be deleted then too. A barrier for checks
// that garbage collection left something alone, instead of a guess at how long it takes.
func gcSentinel(t *testing.T, name string) (wait func()) {
	t.Helper()
	r := getRequest(t, name)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "subdomain-system", Name: "gc-sentinel-" + name,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: sdv1.GroupVersion.String(), Kind: "SubdomainRequest", Name: r.Name, UID: r.UID}}}}
	create(t, cm)
	return func() {
		t.Helper()
		waitGone(t, cm)
	}
}

// logTail is the end of the operator's log, for failure messages.
func logTail() string {
	s := logs.String()
	if len(s) > 6000 {
		s = s[len(s)-6000:]
	}
	return s
}
