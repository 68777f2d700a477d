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

// Command bench measures the operator against the real test control plane and prints
// one table. For each N it starts a fresh control plane, runs bin/manager as its own
// process (so its RSS and heap are its own) with the memory limit the shipped manifests
// give it (-memory-limit, MEMORY_LIMIT), creates N approved requests at once, and
// reports: time until all are Ready, approval-to-Ready latency (p50/p99, seen by a
// watch), API writes per request (the manager's client-go metrics), peak RSS and heap,
// writes during a quiet minute and after a restart, and the time a tight client loop
// with the same QPS takes to create the same objects directly (copies of the batch's
// children under other names; ratio direct/operator),
// with the machine's CPU time per request in the batch and in the direct loop (stderr
// splits it by process: kube-apiserver, etcd, the manager, this program). With
// -backlog it also times one manager draining N requests created before it started,
// on another fresh control plane. With -floor it also times a floor loop: the direct
// loop plus the user's create of each request and one status write making it Ready,
// the calls the design cannot do without, made by a client with no cost of its own:
// ratio direct/floor is the best any operator could reach on this machine.
//
//	go run ./hack/bench [-n 100,1000,5000] [-qps 200 -burst 400] [-quiet 60s] [-memory-limit 160Mi] [-backlog] [-floor]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

type result struct {
	n                    int
	allReady             time.Duration
	p50, p99             time.Duration
	writesPerReq         float64
	rssMiB, heapMiB      float64
	quietWrites          float64
	restartWrites        float64
	direct               time.Duration
	cpuBatch, cpuDirect  cpuUse        // per request
	backlog              time.Duration // with -backlog
	cpuBacklog           cpuUse
	floor                time.Duration // with -floor
	cpuFloor             cpuUse
	singleP50, singleP99 time.Duration
}

func main() {
	ns := flag.String("n", "100,1000", "comma-separated batch sizes")
	qps := flag.Float64("qps", 200, "client QPS of the manager and of the direct loop")
	burst := flag.Int("burst", 400, "client burst")
	quiet := flag.Duration("quiet", 60*time.Second, "steady-state window")
	flag.StringVar(containerLimit, "memory-limit", "160Mi", "MEMORY_LIMIT for the manager, as the shipped manifests set it from the container's memory limit (the manager holds its heap to 75% of it); empty: unset")
	flag.StringVar(memLimit, "gomemlimit", "", "GOMEMLIMIT for the manager (wins over -memory-limit); empty: unset")
	flag.StringVar(goGC, "gogc", "", "GOGC for the manager; empty: unset (Go's default, 100)")
	flag.IntVar(workers, "workers", 8, "the manager's --max-concurrent-reconciles; also the direct loop's concurrency")
	flag.BoolVar(withPolicies, "policies", true, "install config/policies, as deployments do (the finalizer policy saves the manager a write per request)")
	flag.BoolVar(backlog, "backlog", false, "also time a backlog: N approved requests created on a fresh control plane before the manager starts, drained by it (the operator's throughput without users' creates in its time)")
	flag.BoolVar(floor, "floor", false, "also time a floor loop: the direct loop plus each request's create and one status write to Ready (the calls the design cannot do without, from a client that costs nothing itself)")
	flag.Parse()
	testenv.ExitOnInterrupt()
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	root := testenv.RepoRoot()
	mgrBin := filepath.Join(testenv.AssetsDir(), "manager")
	build := exec.Command("go", "build", "-o", mgrBin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fail("building the manager: %v\n%s", err, out)
	}
	var results []result
	for _, s := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fail("bad -n %q", s)
		}
		fmt.Fprintf(os.Stderr, "== N=%d\n", n)
		results = append(results, runOne(mgrBin, n, *qps, *burst, *quiet))
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	header := "N\tall Ready\tp50 appr->Ready\tp99 appr->Ready\twrites/req\tpeak RSS MiB\tpeak heap MiB\twrites in quiet\twrites after restart\tdirect loop\tratio direct/operator\tCPU/req operator\tCPU/req direct\tsingle p50\tsingle p99\t"
	if *backlog {
		header += "backlog\tratio direct/backlog\tCPU/req backlog\t"
	}
	if *floor {
		header += "floor loop\tratio direct/floor\tCPU/req floor\t"
	}
	fmt.Fprintln(tw, header)
	for _, r := range results {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.1f\t%.0f\t%.0f\t%.0f\t%.0f\t%s\t%.2f\t%s\t%s\t%s\t%s\t", r.n, r.allReady.Round(10*time.Millisecond),
			r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond), r.writesPerReq, r.rssMiB, r.heapMiB, r.quietWrites, r.restartWrites,
			r.direct.Round(10*time.Millisecond), r.direct.Seconds()/r.allReady.Seconds(), ms(r.cpuBatch.machine), ms(r.cpuDirect.machine), r.singleP50.Round(time.Millisecond), r.singleP99.Round(time.Millisecond))
		if *backlog {
			fmt.Fprintf(tw, "%s\t%.2f\t%s\t", r.backlog.Round(10*time.Millisecond), r.direct.Seconds()/r.backlog.Seconds(), ms(r.cpuBacklog.machine))
		}
		if *floor {
			fmt.Fprintf(tw, "%s\t%.2f\t%s\t", r.floor.Round(10*time.Millisecond), r.direct.Seconds()/r.floor.Seconds(), ms(r.cpuFloor.machine))
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
}

var (
	workers        = new(int)
	memLimit       = new(string)
	containerLimit = new(string)
	goGC           = new(string)
	withPolicies   = new(bool)
	backlog        = new(bool)
	floor          = new(bool)
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	testenv.Exit(1)
}

type managerProc struct {
	cmd      *exec.Cmd
	metrics  string
	peakRSS  float64
	peakHeap float64
	stop     chan struct{}
	wg       sync.WaitGroup
	end      func() // interrupts the process and waits for it, once
}

func startManager(bin, kubeconfig string, qps float64, burst int) *managerProc {
	addr, err := testenv.FreeAddr()
	if err != nil {
		fail("%v", err)
	}
	m := &managerProc{metrics: "http://" + addr + "/metrics", stop: make(chan struct{})}
	m.cmd = exec.Command(bin, "--kubeconfig", kubeconfig, "--metrics-bind-address", addr, "--health-probe-bind-address", "0",
		"--kube-api-qps", fmt.Sprint(qps), "--kube-api-burst", fmt.Sprint(burst), "--max-concurrent-reconciles", fmt.Sprint(*workers))
	if os.Getenv("BENCH_DEBUG") != "" {
		m.cmd.Stderr = os.Stderr
	}
	m.cmd.Env = os.Environ()
	if *containerLimit != "" {
		m.cmd.Env = append(m.cmd.Env, "MEMORY_LIMIT="+*containerLimit)
	}
	if *memLimit != "" {
		m.cmd.Env = append(m.cmd.Env, "GOMEMLIMIT="+*memLimit)
	}
	if *goGC != "" {
		m.cmd.Env = append(m.cmd.Env, "GOGC="+*goGC)
	}
	if p := os.Getenv("BENCH_PPROF"); p != "" {
		m.cmd.Args = append(m.cmd.Args, "--pprof-bind-address", p)
	}
	if err := m.cmd.Start(); err != nil {
		fail("starting the manager: %v", err)
	}
	m.end = testenv.AtExit(func() {
		_ = m.cmd.Process.Signal(os.Interrupt)
		_ = m.cmd.Wait()
	})
	m.wg.Add(1)
	go func() { // sample RSS and heap
		defer m.wg.Done()
		// Each scrape costs the manager a walk of its cache: sample once a second.
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				if h, err := m.metric("go_memstats_heap_alloc_bytes", nil); err == nil && h/(1<<20) > m.peakHeap {
					m.peakHeap = h / (1 << 20)
				}
			}
		}
	}()
	return m
}

// rss is the process's peak resident set (VmHWM) in MiB.
func (m *managerProc) rss() float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", m.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(sc.Text())[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func (m *managerProc) halt() {
	m.peakRSS = m.rss()
	close(m.stop)
	m.wg.Wait()
	m.end()
}

// metric sums a metric's samples whose labels pass keep.
func (m *managerProc) metric(name string, keep func(labels string) bool) (float64, error) {
	return testenv.Metric(m.metrics, name, keep)
}

func (m *managerProc) writes() float64 {
	v, _ := m.metric("rest_client_requests_total", func(l string) bool {
		for _, verb := range []string{`method="POST"`, `method="PUT"`, `method="PATCH"`, `method="DELETE"`} {
			if strings.Contains(l, verb) {
				return true
			}
		}
		return false
	})
	return v
}

// controlPlane is a fresh test control plane set up for the benchmark's requests:
// the shipped policies (unless -policies=false), the namespaces the operator writes
// to, and zone bench (bench.go.id, addresses from 10.0.0.0/16). c and cfg are the
// benchmark's own client and its config (QPS 1,000, no compression). stop stops it.
type controlPlane struct {
	env  *testenv.Env
	cfg  *rest.Config
	c    client.Client
	stop func()
}

func startControlPlane(ctx context.Context) *controlPlane {
	opts := testenv.Options{}
	if *withPolicies {
		opts.ExtraManifests = []string{filepath.Join(testenv.RepoRoot(), "config", "policies")}
	}
	env, err := testenv.Start(opts)
	if err != nil {
		fail("%v", err)
	}
	cp := &controlPlane{env: env, stop: testenv.AtExit(func() { _ = env.Stop() })}
	cp.cfg = rest.CopyConfig(env.Config)
	cp.cfg.QPS, cp.cfg.Burst = 1000, 2000
	// The benchmark's own watch of the requests is measurement, not work: spare the
	// API server gzipping its events, as the manager's clients do.
	cp.cfg.DisableCompression = true
	if cp.c, err = client.New(cp.cfg, client.Options{Scheme: manager.Scheme()}); err != nil {
		fail("%v", err)
	}
	if *withPolicies {
		if err := testenv.WaitForPolicies(ctx, cp.c); err != nil {
			fail("%v", err)
		}
	}
	for _, ns := range []string{"subdomain-system", "ingress-nginx"} {
		if err := cp.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			fail("%v", err)
		}
	}
	zone := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "bench"},
		Spec: sdv1.SubdomainZoneSpec{Domain: "bench.go.id", AddressPool: []string{"10.0.0.0/16"}}}
	if err := cp.c.Create(ctx, zone); err != nil {
		fail("%v", err)
	}
	return cp
}

// createRequests creates n approved requests <prefix>00000... from 32 workers;
// created, when not nil, is called with each name once it is created.
func (cp *controlPlane) createRequests(ctx context.Context, prefix string, n int, created func(name string)) {
	if err := testenv.ForEach(n, 32, func(i int) error {
		name := fmt.Sprintf("%s%05d", prefix, i)
		if err := cp.c.Create(ctx, approvedRequest(name)); err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
		if created != nil {
			created(name)
		}
		return nil
	}); err != nil {
		fail("%v", err)
	}
}

// readyWatch records when each request is first seen Ready. It watches with an
// informer, which lists and watches again whenever the API server ends a watch, so no
// transition is missed in a long batch.
type readyWatch struct {
	mu      sync.Mutex
	readyAt map[string]time.Time
	target  int
	all     chan struct{}
	stop    func()
}

func watchReady(ctx context.Context, cfg *rest.Config) *readyWatch {
	w := &readyWatch{readyAt: map[string]time.Time{}, all: make(chan struct{})}
	seen := func(o any) {
		r, ok := o.(*sdv1.SubdomainRequest)
		if !ok || r.Status.Phase != sdv1.PhaseReady {
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if _, seen := w.readyAt[r.Name]; !seen {
			w.readyAt[r.Name] = time.Now()
			if len(w.readyAt) == w.target {
				close(w.all)
			}
		}
	}
	informers, err := cache.New(cfg, cache.Options{Scheme: manager.Scheme()})
	if err != nil {
		fail("%v", err)
	}
	inf, err := informers.GetInformer(ctx, &sdv1.SubdomainRequest{})
	if err != nil {
		fail("%v", err)
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { seen(o) },
		UpdateFunc: func(_, o any) { seen(o) },
	}); err != nil {
		fail("%v", err)
	}
	watchCtx, cancel := context.WithCancel(ctx)
	w.stop = testenv.AtExit(cancel) // an API server with open watches takes a minute to stop
	go func() { _ = informers.Start(watchCtx) }()
	if !informers.WaitForCacheSync(watchCtx) {
		fail("request informer did not sync")
	}
	return w
}

// expect returns a channel closed once more requests than now are Ready; call it
// before creating them.
func (w *readyWatch) expect(more int) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.target = len(w.readyAt) + more
	w.all = make(chan struct{})
	return w.all
}

// latencies is, sorted, the time from created[name] until the request was seen Ready,
// for every request seen Ready.
func (w *readyWatch) latencies(created map[string]time.Time) []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	lat := make([]time.Duration, 0, len(w.readyAt))
	for name, t := range w.readyAt {
		lat = append(lat, t.Sub(created[name]))
	}
	slices.Sort(lat)
	return lat
}

// waitReady waits for ch, failing the benchmark after d; every 10 s it prints how
// many requests are in each phase, and how long since start.
func (cp *controlPlane) waitReady(ctx context.Context, ch <-chan struct{}, d time.Duration, what string, start time.Time) {
	deadline := time.After(d)
	progress := time.NewTicker(10 * time.Second)
	defer progress.Stop()
	for {
		select {
		case <-ch:
			return
		case <-deadline:
			fail("%s not Ready after %s", what, d)
		case <-progress.C:
			list := &sdv1.SubdomainRequestList{}
			if err := cp.c.List(ctx, list); err == nil {
				phases := map[sdv1.Phase]int{}
				for _, r := range list.Items {
					phases[r.Status.Phase]++
				}
				fmt.Fprintf(os.Stderr, "   %s: %v\n", time.Since(start).Round(time.Second), phases)
			}
		}
	}
}

func runOne(bin string, n int, qps float64, burst int, quiet time.Duration) result {
	ctx := context.Background()
	cp := startControlPlane(ctx)
	defer cp.stop()
	cfg, c := cp.cfg, cp.c
	res := result{n: n}
	apiBefore := apiRequests(cfg)
	m := startManager(bin, cp.env.Kubeconfig, qps, burst)

	ready := watchReady(ctx, cfg)
	defer ready.stop()
	// Wait for the manager's caches: a first request must become Ready.
	time.Sleep(2 * time.Second)
	batch := startPhase(cfg, "batch", n, 30*time.Second, true)
	allReady := ready.expect(n)
	var mu sync.Mutex
	created := map[string]time.Time{}
	start := time.Now()
	cp.createRequests(ctx, "opd", n, func(name string) {
		mu.Lock()
		created[name] = time.Now()
		mu.Unlock()
	})
	cp.waitReady(ctx, allReady, 60*time.Minute, "the batch", start)
	res.allReady = time.Since(start)
	res.cpuBatch = batch.end()
	lat := ready.latencies(created)
	res.p50, res.p99 = lat[len(lat)*50/100], lat[min(len(lat)-1, len(lat)*99/100)]
	time.Sleep(3 * time.Second) // zone status and trailing writes settle
	res.writesPerReq = m.writes() / float64(n)
	if os.Getenv("BENCH_DEBUG") != "" {
		printRequestBreakdown(apiBefore, apiRequests(cfg), n)
		m.printReconcileStats("batch")
	}

	// Steady state, then a restart.
	before := m.writes()
	time.Sleep(quiet)
	res.quietWrites = m.writes() - before
	m.halt()
	res.rssMiB, res.heapMiB = m.peakRSS, m.peakHeap
	m2 := startManager(bin, cp.env.Kubeconfig, qps, burst)
	time.Sleep(quiet / 2)
	res.restartWrites = m2.writes()

	// Single requests on an idle control plane.
	var single []time.Duration
	for i := range 20 {
		name := fmt.Sprintf("single%02d", i)
		ch := ready.expect(1)
		t0 := time.Now()
		if err := c.Create(ctx, approvedRequest(name)); err != nil {
			fail("%v", err)
		}
		cp.waitReady(ctx, ch, time.Minute, name, t0)
		single = append(single, time.Since(t0))
	}
	if os.Getenv("BENCH_DEBUG") != "" {
		m2.printReconcileStats("after 20 single requests (restarted manager)")
	}
	m2.halt()
	if os.Getenv("BENCH_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "   peak RSS / heap MiB: batch manager %.0f / %.0f, restarted manager %.0f / %.0f\n", res.rssMiB, res.heapMiB, m2.peakRSS, m2.peakHeap)
	}
	// Peak RSS and heap are the larger of the batch's manager and the restarted one,
	// which loaded every cached object at once.
	res.rssMiB, res.heapMiB = max(res.rssMiB, m2.peakRSS), max(res.heapMiB, m2.peakHeap)
	ready.stop()
	slices.Sort(single)
	res.singleP50, res.singleP99 = single[len(single)/2], single[len(single)-1]

	children, err := childrenByRequest(ctx, c)
	if err != nil {
		fail("%v", err)
	}
	objs, err := copiesOfChildren(c.Scheme(), children, n, "dir", "11")
	if err != nil {
		fail("%v", err)
	}
	if os.Getenv("BENCH_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "   the direct loop's objects for the first request:\n")
		for _, o := range objs[0] {
			raw, _ := json.Marshal(o)
			fmt.Fprintf(os.Stderr, "     %s\n", raw)
		}
	}
	var floorObjs [][]client.Object
	var statuses [][]byte
	if *floor {
		if floorObjs, err = copiesOfChildren(c.Scheme(), children, n, "flr", "12"); err != nil {
			fail("%v", err)
		}
		if statuses, err = readyStatuses(ctx, c, n); err != nil {
			fail("%v", err)
		}
	}
	cp.stop()
	// Each loop on a fresh control plane set up as the batch's, so that none runs on a
	// store holding another phase's objects: with both loops on the batch's control
	// plane, the one run last came out dearer (N=1,000: ratio direct/floor 0.65 with
	// the floor loop last, 0.79 with the direct loop last).
	res.direct, res.cpuDirect = runLoop(ctx, "direct loop", n, func(cfg *rest.Config) time.Duration {
		return direct(cfg, objs, qps, burst)
	})
	if *floor {
		res.floor, res.cpuFloor = runLoop(ctx, "floor loop", n, func(cfg *rest.Config) time.Duration {
			return floorLoop(cfg, floorObjs, statuses, qps, burst)
		})
	}
	if *backlog {
		res.backlog, res.cpuBacklog = runBacklog(bin, n, qps, burst)
	}
	return res
}

// runLoop runs loop, a client loop of n requests, on a fresh control plane set up as
// the batch's, and returns its time and the CPU it used per request.
func runLoop(ctx context.Context, name string, n int, loop func(cfg *rest.Config) time.Duration) (time.Duration, cpuUse) {
	cp := startControlPlane(ctx)
	defer cp.stop()
	p := startPhase(cp.cfg, name, n, 20*time.Second, false)
	took := loop(cp.env.Config)
	return took, p.end()
}

// runBacklog measures the operator's own throughput, without users' creates sharing
// its time: on a fresh control plane it creates n approved requests while no manager
// runs (as after an outage or an upgrade), starts one, and returns the time from its
// start until all are Ready, with the CPU used per request.
func runBacklog(bin string, n int, qps float64, burst int) (time.Duration, cpuUse) {
	ctx := context.Background()
	cp := startControlPlane(ctx)
	defer cp.stop()
	ready := watchReady(ctx, cp.cfg)
	defer ready.stop()
	allReady := ready.expect(n)
	cp.createRequests(ctx, "bkl", n, nil)
	apiBefore := apiRequests(cp.cfg)
	drain := startPhase(cp.cfg, "backlog", n, 20*time.Second, false)
	start := time.Now()
	m := startManager(bin, cp.env.Kubeconfig, qps, burst)
	defer m.halt()
	cp.waitReady(ctx, allReady, 60*time.Minute, "the backlog", start)
	took := time.Since(start)
	u := drain.end()
	if os.Getenv("BENCH_DEBUG") != "" {
		printRequestBreakdown(apiBefore, apiRequests(cp.cfg), n)
		m.printReconcileStats("backlog")
	}
	return took, u
}

// apiRequests reads the API server's own count of write and read requests (not
// watches) by resource, verb and response code (everyone's, the benchmark's creates
// of requests and the API server's own reads included).
func apiRequests(cfg *rest.Config) map[string]float64 {
	rc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		fail("%v", err)
	}
	resp, err := rc.Get(strings.TrimSuffix(cfg.Host, "/") + "/metrics")
	if err != nil {
		fail("%v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "   (the API server's /metrics answered %s)\n", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if os.Getenv("BENCH_DEBUG") == "2" && strings.Contains(line, "apiserver_request_total") {
			fmt.Fprintln(os.Stderr, line)
		}
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		labels := map[string]string{}
		for _, kv := range strings.Split(line[len("apiserver_request_total{"):strings.LastIndex(line, "}")], ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				labels[k] = strings.Trim(v, `"`)
			}
		}
		switch labels["verb"] {
		case "POST", "PUT", "PATCH", "DELETE", "APPLY", "GET", "LIST":
		default:
			continue
		}
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		key := labels["resource"]
		if labels["subresource"] != "" {
			key += "/" + labels["subresource"]
		}
		out[key+" "+labels["verb"]+" "+labels["code"]] += v
	}
	return out
}

func printRequestBreakdown(before, after map[string]float64, n int) {
	keys := make([]string, 0, len(after))
	for k := range after {
		if after[k]-before[k] > 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	fmt.Fprintf(os.Stderr, "   API server requests per request during the batch (all clients, writes and reads):\n")
	for _, k := range keys {
		fmt.Fprintf(os.Stderr, "     %-50s %8.2f\n", k, (after[k]-before[k])/float64(n))
	}
}

// printReconcileStats prints the manager's reconcile counts by result and mean times.
func (m *managerProc) printReconcileStats(what string) {
	fmt.Fprintf(os.Stderr, "   manager reconciles, %s:\n", what)
	for _, ctl := range []string{"subdomainrequest", "subdomainzone"} {
		isCtl := func(l string) bool { return strings.Contains(l, `controller="`+ctl+`"`) }
		for _, res := range []string{"success", "error", "requeue", "requeue_after"} {
			v, _ := m.metric("controller_runtime_reconcile_total", func(l string) bool { return isCtl(l) && strings.Contains(l, `result="`+res+`"`) })
			fmt.Fprintf(os.Stderr, "     %-18s %-14s %8.0f\n", ctl, res, v)
		}
		sum, _ := m.metric("controller_runtime_reconcile_time_seconds_sum", isCtl)
		cnt, _ := m.metric("controller_runtime_reconcile_time_seconds_count", isCtl)
		qs, _ := m.metric("workqueue_queue_duration_seconds_sum", func(l string) bool { return strings.Contains(l, `name="`+ctl+`"`) })
		qc, _ := m.metric("workqueue_queue_duration_seconds_count", func(l string) bool { return strings.Contains(l, `name="`+ctl+`"`) })
		if cnt > 0 && qc > 0 {
			fmt.Fprintf(os.Stderr, "     %-18s mean reconcile %s, mean queue wait %s\n", ctl,
				time.Duration(sum/cnt*float64(time.Second)).Round(time.Millisecond), time.Duration(qs/qc*float64(time.Second)).Round(time.Millisecond))
		}
	}
}

// approvedRequest is a request for name in zone bench, approved when created.
func approvedRequest(name string) *sdv1.SubdomainRequest {
	return &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{sdv1.AnnotationApproved: name}},
		Spec: sdv1.SubdomainRequestSpec{Zone: "bench", Subdomain: name, OPD: sdv1.OPD{Name: name, Code: name, AdminGroup: "g"}}}
}
