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

// Package manager builds the controller-runtime manager that runs the operator, so
// that main.go, the demo and the tests start exactly the same thing.
package manager

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	goruntime "runtime"
	"runtime/debug"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	dnsv1 "sigs.k8s.io/external-dns/apis/v1alpha1"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/controllers"
	"github.com/kominfo/subdomain-operator/internal/eventrec"
	"github.com/kominfo/subdomain-operator/internal/inflight"
	"github.com/kominfo/subdomain-operator/internal/ledger"
	"github.com/kominfo/subdomain-operator/internal/metricsauth"
)

// Scheme holds every type the operator reads or writes.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(sdv1.AddToScheme(s))
	utilruntime.Must(dnsv1.AddToScheme(s))
	// external-dns registers its types without the meta types (ListOptions, ...)
	// that list and watch need for its group version.
	metav1.AddToGroupVersion(s, dnsv1.GroupVersion)
	return s
}

// Config is what the command line sets.
type Config struct {
	MetricsAddr string
	// MetricsSecure serves metrics over HTTPS (a self-signed certificate), each
	// scrape authenticated by a TokenReview and authorized by a SubjectAccessReview
	// (verb get on the non-resource URL /metrics: ClusterRole
	// subdomain-operator-metrics-reader), their answers cached for a minute or less
	// (internal/metricsauth).
	MetricsSecure           bool
	PprofAddr               string
	ProbeAddr               string
	LeaderElection          bool
	LeaderElectionNamespace string
	LeaderElectionID        string
	// LeaseDuration, RenewDeadline and RetryPeriod time the leader election (zero:
	// DefaultLeaseDuration, DefaultRenewDeadline, DefaultRetryPeriod).
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	QPS           float32
	Burst         int
	// Compression asks the API server for gzip-compressed responses, watch streams
	// included. Off by default, as kube-controller-manager and kube-scheduler have it:
	// next to the API server, compressing every watch event costs CPU on both sides
	// and saves network nobody is short of.
	Compression             bool
	MaxConcurrentReconciles int
	// Clock is injected by tests; nil means the real clock.
	Clock clock.PassiveClock
	// SyncPeriod is the informers' resync period (0: controller-runtime's default).
	SyncPeriod time.Duration
	// SkipNameValidation lets tests run several managers in one process.
	SkipNameValidation bool
}

// The leader election's timing. A leader that cannot renew its Lease for
// RenewDeadline gives up and the process exits (another replica may lead by then);
// controller-runtime's 10 s turns an API server restart of more than that - a
// control-plane upgrade, a static pod restarted - into a restart of the operator. As
// Flux's controllers do, the leader keeps trying for 30 s, every 5 s; a follower takes
// over a leader that died without releasing the Lease after 35 s (one that stops
// cleanly releases it at once). One Lease write every 5 s instead of every 2.
const (
	DefaultLeaseDuration = 35 * time.Second
	DefaultRenewDeadline = 30 * time.Second
	DefaultRetryPeriod   = 5 * time.Second
)

// inFlightTTL bounds how long a reconcile trusts that an object this process created is
// there although the cache does not show it. Cache lag is real time, so the real clock
// measures it even when tests inject another.
const inFlightTTL = 30 * time.Second

// FieldManager is the name the API server records as the manager of every field the
// operator writes (managedFields), and the operator's name in audit logs.
const FieldManager = "subdomain-operator"

// UserAgent is what the operator's clients send: the API server takes the part before
// the first "/" as the field manager of a write that names none. Client-go's default
// is the binary's name - "manager", kubebuilder's name for every operator's binary,
// so two operators' fields could be recorded as one manager's.
func UserAgent() string {
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return fmt.Sprintf("%s/%s (%s/%s)", FieldManager, v, goruntime.GOOS, goruntime.GOARCH)
}

// restConfig is base with the client settings of cfg, a copy.
func (cfg Config) restConfig(base *rest.Config) *rest.Config {
	c := rest.CopyConfig(base)
	c.UserAgent = UserAgent()
	if cfg.QPS > 0 {
		c.QPS = cfg.QPS
	}
	if cfg.Burst > 0 {
		c.Burst = cfg.Burst
	}
	c.DisableCompression = !cfg.Compression
	return c
}

// New builds a manager with the operator's controllers registered.
func New(ctx context.Context, restCfg *rest.Config, cfg Config) (ctrl.Manager, error) {
	restCfg = cfg.restConfig(restCfg)
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.LeaderElectionID == "" {
		cfg.LeaderElectionID = "subdomain-operator.kominfo.go.id"
	}
	scheme := Scheme()
	cacheOpts := controllers.CacheOptions()
	if cfg.SyncPeriod > 0 {
		cacheOpts.SyncPeriod = &cfg.SyncPeriod
	}
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                        scheme,
		Cache:                         cacheOpts,
		Controller:                    config.Controller{SkipNameValidation: &cfg.SkipNameValidation},
		Metrics:                       metricsOptions(cfg),
		PprofBindAddress:              cfg.PprofAddr,
		HealthProbeBindAddress:        cfg.ProbeAddr,
		LeaderElection:                cfg.LeaderElection,
		LeaderElectionID:              cfg.LeaderElectionID,
		LeaderElectionNamespace:       cfg.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 orDefault(cfg.LeaseDuration, DefaultLeaseDuration),
		RenewDeadline:                 orDefault(cfg.RenewDeadline, DefaultRenewDeadline),
		RetryPeriod:                   orDefault(cfg.RetryPeriod, DefaultRetryPeriod),
	})
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}
	// Alive as long as it serves: a long cache sync must not get it killed. Ready once
	// its caches have synced: one that never does (RBAC without list on a kind it
	// watches) blocks the manager's start for good, and must not pass for ready.
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("caches", cachesSynced(mgr.GetCache())); err != nil {
		return nil, err
	}
	lw := ledger.NewWriter(mgr.GetClient(), mgr.GetAPIReader())
	if err := mgr.Add(lw); err != nil {
		return nil, err
	}
	// Not mgr.GetEventRecorder: client-go's broadcaster keeps each Event for minutes.
	rec := eventrec.New(mgr.GetClient(), scheme, clock.RealClock{}, "subdomain-operator")
	if err := mgr.Add(rec); err != nil {
		return nil, err
	}
	rr := &controllers.SubdomainRequestReconciler{
		Ledger:    lw,
		InFlight:  inflight.New(clock.RealClock{}, inFlightTTL),
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Scheme:    scheme,
		Recorder:  rec,
		Clock:     cfg.Clock,
	}
	if err := rr.SetupWithManager(ctx, mgr, controllers.Options{MaxConcurrentReconciles: cfg.MaxConcurrentReconciles}); err != nil {
		return nil, fmt.Errorf("setting up the request controller: %w", err)
	}
	controllers.RegisterMetrics(mgr.GetCache())
	if err := (&controllers.SubdomainZoneReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the zone controller: %w", err)
	}
	return mgr, nil
}

// syncWait is how long a readiness check waits for the caches: long enough for a
// sync about to end, well within a probe's timeout (1 s by default).
const syncWait = 100 * time.Millisecond

// cachesSynced is a readiness check that fails until every informer of c (those the
// controllers set up before the manager started, and any started since) has synced.
func cachesSynced(c cache.Cache) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), syncWait)
		defer cancel()
		if !c.WaitForCacheSync(ctx) {
			return errors.New("caches are not synced")
		}
		return nil
	}
}

// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// metricsOptions serves metrics on cfg.MetricsAddr, over HTTPS to authorized
// scrapers only when cfg.MetricsSecure.
func metricsOptions(cfg Config) metricsserver.Options {
	o := metricsserver.Options{BindAddress: cfg.MetricsAddr}
	if cfg.MetricsSecure {
		o.SecureServing = true
		// The reviews' answers expire in real time, whatever clock tests give the
		// reconcilers.
		o.FilterProvider = metricsauth.NewFilterProvider(clock.RealClock{})
	}
	return o
}

// orDefault is d, or def when d is zero; as a pointer, as the manager's options take it.
func orDefault(d, def time.Duration) *time.Duration {
	d = cmp.Or(d, def)
	return &d
}
