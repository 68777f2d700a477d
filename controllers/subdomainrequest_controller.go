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

// Package controllers holds the SubdomainRequest and SubdomainZone reconcilers.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/approval"
	"github.com/kominfo/subdomain-operator/internal/inflight"
	"github.com/kominfo/subdomain-operator/internal/ledger"
	"github.com/kominfo/subdomain-operator/internal/reconcileerr"
)

// StaleCopyMessage is logged (V(1)) by a reconcile that looked at nothing: the
// cached request predates this process's own write. Tests tell such passes apart by it.
const StaleCopyMessage = "cached copy predates our own write; looking again shortly"

// Retry intervals. Conflicts are also retried at once when a claim is released.
const (
	conflictRetry = 5 * time.Minute
	cacheLagRetry = 2 * time.Second
	// staleCopyRetry is how soon a request whose cached copy predates our own write is
	// looked at again: about the cache's usual lag.
	staleCopyRetry = 250 * time.Millisecond
	// refusedRetry is how often a child the API server refused as invalid is tried
	// again without a change to the request or its zone.
	refusedRetry = time.Minute
)

// SubdomainRequestReconciler turns an approved SubdomainRequest into its claims and
// children and keeps them as the request says.
type SubdomainRequestReconciler struct {
	client.Client
	// APIReader reads from the API server, not the cache; used only to tell cache lag
	// from a real conflict and before allocating an address.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock
	// Ledger appends to the zones' ledgers.
	Ledger *ledger.Writer
	// InFlight remembers objects this process created that the cache may not show
	// yet, so that a reconcile racing the cache neither creates them again nor takes
	// an address a concurrent worker is taking. Nil disables it.
	InFlight *inflight.Set

	// hints spares allocations the probe of addresses known to be taken.
	hints poolHints
	// unsure says for which requests allocation must ask the API server.
	unsure unsureAllocations
	// strays are the names of stray FQDN claims not given back yet (releaseStrayNames).
	strays strayNames
	// ingressHosts and dnsNames are the Ingress and DNSEndpoint informers' indexers,
	// with the servedNames index; set up by SetupWithManager.
	ingressHosts, dnsNames toolscache.Indexer
	// routeHosts are the Gateway API route informers' indexers, with servedNames, one
	// per route kind the cluster served when the manager started.
	routeHosts []toolscache.Indexer
	// published is the requests informer's indexer, with the publishedAddresses index.
	published toolscache.Indexer
	// zones is the zones informer's indexer, with indexSharedAddress.
	zones toolscache.Indexer
	// freed counts the releases of claims and addresses this process has seen
	// (waitingForClaim, waitingForAddress). They wake the requests waiting for one by
	// the phase the cache shows; a pass that was ending in such a wait meanwhile is
	// not in that phase yet, so it looks again itself (waitsForRelease).
	freed atomic.Uint64
}

// requestScope is what one reconcile knows. Steps fill it in order.
type requestScope struct {
	req  *sdv1.SubdomainRequest
	zone *sdv1.SubdomainZone
	// freedAt is the reconciler's freed count when the pass began.
	freedAt uint64
	// now is the clock read once at the start: every decision of one reconcile (grace
	// periods, the change window, the approval's time) sees the same instant.
	now      time.Time
	decision approval.Decision
	// label and fqdn are what is provisioned: the approved target.
	label, fqdn string
	namespace   string
	addr        netip.Addr
	// scheduled, when set, is the change window's next opening that a rename or a
	// deletion waits for; scheduledWhat names the change.
	scheduled     time.Time
	scheduledWhat string
	// retiring are old names still in their rename grace period: still served.
	retiring []string
	// hostsWritten says this pass changed the names the hosting namespace may serve
	// (its fqdn annotation): see ensureIngress.
	hostsWritten bool
	// requeueAfter, when set by a step, asks for a later reconcile.
	requeueAfter time.Duration
	// approvedNow is the message of an approval recorded by this reconcile.
	approvedNow string
	// wrote are the resource versions of the request this reconcile's own metadata
	// writes produced before the final one (see staleCopy).
	wrote []string
	// refused, when set, is the error the reconcile ends with once the steps have
	// kept up the name a request serves: a rename the zone refuses, to a name another
	// holds, or held by a window that cannot be read (refuse).
	refused error
	// told are what to do once status is written (Events, metrics): they tell of a
	// change the status records, and a status write that fails is retried from a
	// fresh copy, which finds the same change again.
	told []func()
}

// tell records an Event about the request, emitted once the status that records the
// change is written (see told).
func (r *SubdomainRequestReconciler) tell(s *requestScope, kind, reason, action, format string, args ...any) {
	note := fmt.Sprintf(format, args...)
	s.told = append(s.told, func() { r.Recorder.Eventf(s.req, nil, kind, reason, action, "%s", note) })
}

// step is one phase of a reconcile. It returns stop=true to end the chain without an
// error (for example: nothing is approved yet).
type step func(ctx context.Context, s *requestScope) (stop bool, err error)

// +kubebuilder:rbac:groups=subdomain.kominfo.go.id,resources=subdomainrequests,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=subdomain.kominfo.go.id,resources=subdomainrequests/status,verbs=patch
// +kubebuilder:rbac:groups=subdomain.kominfo.go.id,resources=subdomainrequests/finalizers,verbs=update
// +kubebuilder:rbac:groups=subdomain.kominfo.go.id,resources=subdomainzones,verbs=get;list;watch
// +kubebuilder:rbac:groups=subdomain.kominfo.go.id,resources=subdomainclaims,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=subdomain.kominfo.go.id,resources=subdomainledgers,verbs=get;create;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;patch;delete
// The hosting children have fixed names: reads, watches (the cache selects them by
// name, which RBAC authorizes by resourceNames) and patches are granted for those
// names only; create cannot be limited by name.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;patch,resourceNames=subdomain-credentials
// +kubebuilder:rbac:groups="",resources=resourcequotas;limitranges,verbs=get;list;watch;patch,resourceNames=subdomain-hosting
// +kubebuilder:rbac:groups="",resources=secrets;resourcequotas;limitranges,verbs=create
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;patch,resourceNames=subdomain-hosting
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=create
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings,verbs=get;list;watch;patch,resourceNames=opd-admin
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings,verbs=create
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=bind,resourceNames=admin
// +kubebuilder:rbac:groups=externaldns.k8s.io,resources=dnsendpoints,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes;grpcroutes;tlsroutes,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create

// Reconcile reads like the procedure it replaces: gate on approval, claim the name and
// the address, then build the hosting namespace, credentials, Ingress, DNS records and
// the load balancer that announces the address. Status is computed once and written
// once, by the deferred summarise.
func (r *SubdomainRequestReconciler) Reconcile(ctx context.Context, key ctrl.Request) (result ctrl.Result, retErr error) {
	req := &sdv1.SubdomainRequest{}
	if err := r.Get(ctx, key.NamespacedName, req); apierrors.IsNotFound(err) {
		return r.sweepClaims(ctx, key.Name)
	} else if err != nil {
		return ctrl.Result{}, err
	}
	if r.staleCopy(req) {
		// Our own status write is on its way to the cache; its event is filtered out,
		// so look again shortly rather than reconcile an outdated copy.
		log.FromContext(ctx).V(1).Info(StaleCopyMessage, "resourceVersion", req.ResourceVersion)
		return ctrl.Result{RequeueAfter: staleCopyRetry}, nil
	}
	s := &requestScope{req: req, now: r.Clock.Now(), freedAt: r.freed.Load()}
	base := req.DeepCopy()
	defer func() {
		result, retErr = r.summarise(ctx, s, base, result, retErr)
	}()

	if !req.DeletionTimestamp.IsZero() {
		err := r.finalize(ctx, s)
		return ctrl.Result{RequeueAfter: s.requeueAfter}, err
	}

	steps := []step{
		r.loadZone,
		r.gateApproval,
		r.ensureFinalizer,
		r.claimName,
		r.assignAddress,
		r.ensureHosting,
		r.ensureCredentials,
		r.ensureIngress,
		r.ensureDNS,
		r.announceAddress,
		r.releaseFormerAddresses,
		r.releaseRetiredNames,
	}
	for _, st := range steps {
		stop, err := st(ctx, s)
		if err != nil {
			return ctrl.Result{}, err
		}
		if stop {
			break
		}
	}
	return ctrl.Result{RequeueAfter: s.requeueAfter}, s.refused
}

// resultFor turns a step error into the controller-runtime result: typed errors are
// handled here (never logged as failures, never hot-looped); anything else is returned
// for a rate-limited retry.
func resultFor(err error, res ctrl.Result) (ctrl.Result, error) {
	e := reconcileerr.As(err)
	if e == nil && err != nil {
		// The rate-limited retry comes first anyway, and computes the next deadline;
		// controller-runtime ignores a result returned with an error (and says so in
		// the log on every retry).
		return ctrl.Result{}, err
	}
	if e == nil {
		return res, nil
	}
	// Each keeps an earlier look a step asked for (res): a service-level deadline, the
	// end of an old name's grace period.
	switch e.Kind {
	case reconcileerr.Conflict:
		return ctrl.Result{RequeueAfter: earliest(conflictRetry, res.RequeueAfter)}, nil
	case reconcileerr.Waiting:
		return ctrl.Result{RequeueAfter: earliest(e.RequeueAfter, res.RequeueAfter)}, nil
	default: // Invalid: retried when the request or its zone changes, or when a
		// service-level deadline passes (res) so that the breach is reported on time.
		return ctrl.Result{RequeueAfter: res.RequeueAfter}, nil
	}
}

// waitsForRelease tells whether a pass that ended with e waits for a name or an
// address to be released (NameConflict, AddressConflict, a full pool), and r has seen
// one released since the pass began (s.freedAt), while the request was not waiting
// before (was: its phase the pass began with): the release's wake-up went to the
// requests the cache showed waiting, which this one was not yet, so it looks again at
// once. A request the cache showed waiting was woken by the release itself; a Conflict
// no release ends (a foreign namespace, say) waits as it did.
func (r *SubdomainRequestReconciler) waitsForRelease(s *requestScope, e *reconcileerr.Error, was sdv1.Phase) bool {
	if e == nil || was == sdv1.PhaseConflict || was == sdv1.PhaseFailed {
		return false
	}
	switch e.Reason {
	case reasonNameConflict, reasonAddressConflict, reasonPoolExhausted:
		return r.freed.Load() != s.freedAt
	}
	return false
}

// releasedRetry is how soon a pass that waits for a release seen during it looks again.
const releasedRetry = 100 * time.Millisecond

// earliest is retry, or asked when a step asked for an earlier look (0: none).
func earliest(retry, asked time.Duration) time.Duration {
	if asked > 0 && asked < retry {
		return asked
	}
	return retry
}

// logStepError logs unexpected errors; typed ones end up in conditions instead.
func logStepError(ctx context.Context, err error) {
	if err != nil && reconcileerr.As(err) == nil && !errors.Is(err, context.Canceled) {
		log.FromContext(ctx).V(1).Info("reconcile step failed; retrying", "error", err.Error())
	}
}
