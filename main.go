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

// Command manager runs subdomain-operator.
package main

import (
	"flag"
	"os"
	"runtime/debug"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kominfo/subdomain-operator/internal/manager"
)

func main() {
	var cfg manager.Config
	var qps, memRatio float64
	flag.StringVar(&cfg.MetricsAddr, "metrics-bind-address", ":8080", "Address the metrics endpoint binds to; 0 disables it.")
	flag.BoolVar(&cfg.MetricsSecure, "metrics-secure", false,
		"Serve metrics over HTTPS, each scrape authenticated (TokenReview) and authorized (SubjectAccessReview: get on /metrics, ClusterRole subdomain-operator-metrics-reader). The manifests turn it on.")
	flag.StringVar(&cfg.PprofAddr, "pprof-bind-address", "0", "Address of the Go profiler's /debug/pprof endpoints; 0 (the default) disables them.")
	flag.StringVar(&cfg.ProbeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz probes bind to.")
	flag.BoolVar(&cfg.LeaderElection, "leader-elect", false, "Elect a leader, so that only one of several replicas reconciles.")
	flag.StringVar(&cfg.LeaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease (default: the pod's namespace).")
	flag.DurationVar(&cfg.LeaseDuration, "leader-election-lease-duration", manager.DefaultLeaseDuration,
		"How long a follower waits after the leader's last renewal before it takes the Lease.")
	flag.DurationVar(&cfg.RenewDeadline, "leader-election-renew-deadline", manager.DefaultRenewDeadline,
		"How long the leader keeps trying to renew its Lease (an API server down, say) before it gives up and exits.")
	flag.DurationVar(&cfg.RetryPeriod, "leader-election-retry-period", manager.DefaultRetryPeriod,
		"How often the leader renews its Lease, and a follower tries to take it.")
	flag.Float64Var(&qps, "kube-api-qps", 50, "Queries per second to the API server.")
	flag.IntVar(&cfg.Burst, "kube-api-burst", 100, "Burst of queries to the API server.")
	flag.BoolVar(&cfg.Compression, "kube-api-compression", false,
		"Ask the API server for gzip-compressed responses and watch streams. Off, as for kube-controller-manager: next to the API server it costs CPU on both sides and saves nothing.")
	flag.IntVar(&cfg.MaxConcurrentReconciles, "max-concurrent-reconciles", 4, "Requests reconciled at once.")
	flag.Float64Var(&memRatio, "memory-limit-ratio", manager.DefaultMemoryLimitRatio,
		"Share of MEMORY_LIMIT (the container's memory limit, in the manifests) the Go runtime's soft memory limit is set to; 0 disables. GOMEMLIMIT, when set, wins.")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	cfg.QPS = float32(qps)
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")
	memLimit, why, err := manager.MemoryLimit(os.Getenv("GOMEMLIMIT"), os.Getenv("MEMORY_LIMIT"), memRatio)
	if err != nil {
		log.Error(err, "unable to set the memory limit")
		os.Exit(1)
	}
	if memLimit > 0 {
		debug.SetMemoryLimit(memLimit)
		log.Info("soft memory limit", "MiB", memLimit>>20, "from", why)
	}

	ctx := ctrl.SetupSignalHandler()
	mgr, err := manager.New(ctx, ctrl.GetConfigOrDie(), cfg)
	if err != nil {
		log.Error(err, "unable to build the manager")
		os.Exit(1)
	}
	log.Info("starting subdomain-operator")
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager stopped with an error")
		os.Exit(1)
	}
}
