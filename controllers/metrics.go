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

package controllers

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// ConditionServiceLevel says whether the request is within its zone's SOP time standards.
const ConditionServiceLevel = "ServiceLevel"

var (
	slaBuckets = []float64{1, 5, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600}

	timeToApproval = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "subdomain_time_to_approval_seconds", Help: "Time from a request's creation to its approval.", Buckets: slaBuckets,
	}, []string{"zone"})
	approvalToReady = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "subdomain_approval_to_ready_seconds", Help: "Time from an approval to the request being Ready.", Buckets: slaBuckets,
	}, []string{"zone"})
	slaBreaches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "subdomain_service_level_breaches_total", Help: "Requests that exceeded the zone's approval or provisioning standard.",
	}, []string{"zone", "stage"})

	registerOnce sync.Once
)

// RegisterMetrics registers the operator's metrics, with a collector that reads
// requests per phase and pool use per zone from the cache at scrape time.
func RegisterMetrics(c cache.Informers) {
	registerOnce.Do(func() {
		ctrlmetrics.Registry.MustRegister(timeToApproval, approvalToReady, slaBreaches)
	})
	col := &stateCollector{c: c}
	ctrlmetrics.Registry.Unregister(col) // a new manager in the same process replaces the old reader
	_ = ctrlmetrics.Registry.Register(col)
}

var (
	requestsDesc = prometheus.NewDesc("subdomain_requests", "Requests per zone and phase.", []string{"zone", "phase"}, nil)
	allocDesc    = prometheus.NewDesc("subdomain_pool_allocated", "Addresses allocated from the zone's pool (a zone with a sharedAddress: 1 while it holds that address).", []string{"zone"}, nil)
	capDesc      = prometheus.NewDesc("subdomain_pool_capacity", "Usable addresses in the zone's pool (a zone with a sharedAddress: 1).", []string{"zone"}, nil)
)

type stateCollector struct{ c cache.Informers }

func (s *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- requestsDesc
	ch <- allocDesc
	ch <- capDesc
}

func (s *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Read-only counting over the informers' own objects: a List would copy thousands
	// of requests into a new slice on every scrape.
	if reqs, err := cachedIndexer(ctx, s.c, &sdv1.SubdomainRequest{}); err == nil {
		counts := map[[2]string]float64{}
		for _, o := range reqs.List() {
			if r, ok := o.(*sdv1.SubdomainRequest); ok {
				counts[[2]string{r.Spec.Zone, string(r.Status.Phase)}]++
			}
		}
		for k, n := range counts {
			ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.GaugeValue, n, k[0], k[1])
		}
	}
	if zones, err := cachedIndexer(ctx, s.c, &sdv1.SubdomainZone{}); err == nil {
		for _, o := range zones.List() {
			if z, ok := o.(*sdv1.SubdomainZone); ok {
				ch <- prometheus.MustNewConstMetric(allocDesc, prometheus.GaugeValue, float64(z.Status.Allocated), z.Name)
				ch <- prometheus.MustNewConstMetric(capDesc, prometheus.GaugeValue, float64(z.Status.Capacity), z.Name)
			}
		}
	}
}

// record appends an event to the zone's ledger. Its ID, <request UID>/<type>/<what>@<generation>,
// is the same when a reconcile is retried, so the event is never written twice, and
// differs for the same event at a later generation: a rename back to an earlier name
// (a spec change) is an entry of its own. A deletion happens once and has no @<generation>:
// one retried after an edit during the deletion is still the same event.
func (r *SubdomainRequestReconciler) record(ctx context.Context, s *requestScope, typ sdv1.LedgerEntryType, what string, e sdv1.LedgerEntry) error {
	e.ID = fmt.Sprintf("%s/%s/%s", s.req.UID, typ, what)
	if typ != sdv1.LedgerDeleted && typ != sdv1.LedgerRetained {
		e.ID += "@" + strconv.FormatInt(s.req.Generation, 10)
	}
	e.Type = typ
	if e.At.IsZero() {
		e.At = metav1.NewTime(r.Clock.Now())
	}
	e.Request = s.req.Name
	e.OPD = s.req.Spec.OPD.Name
	e.Letter = s.req.Spec.Letter.Number
	if e.Namespace == "" {
		e.Namespace = s.req.Status.Namespace
	}
	// Free text from annotations has no bound of its own (a username, a rejection's
	// reason): cut it to the ledger's, or the entry is refused on every retry.
	e.ApprovedBy = clip(e.ApprovedBy, maxLedgerApprovedBy)
	e.Reason = clip(e.Reason, maxLedgerReason)
	return r.Ledger.Append(ctx, s.req.Spec.Zone, e)
}

// The ledger entry's maxLength for approvedBy and reason (api/v1alpha1).
const (
	maxLedgerApprovedBy = 256
	maxLedgerReason     = 1024
)

// clip cuts s to at most n characters, the last one an ellipsis when it was cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// standardSeconds is a service-level standard in whole seconds for the ledger, 0
// where the zone sets none: "no standard then", which a reader must not take for an
// entry of an earlier version (no field) and judge against the zone's standard now.
func standardSeconds(d *metav1.Duration) *int64 {
	if d == nil {
		return new(int64(0))
	}
	return seconds(d.Duration)
}

// seconds is d in whole seconds for the ledger, a part of a second counted as one: a
// step of 24h0m0.9s is over a standard of 24h, as the live check (at full precision)
// says, and 86,401 against 86,400 says it in the report too.
func seconds(d time.Duration) *int64 {
	v := int64(d / time.Second)
	if d%time.Second > 0 {
		v++
	}
	return &v
}

// serviceLevel sets the ServiceLevel condition when the zone has standards: approval
// within serviceLevel.approval of the request, Ready within serviceLevel.provisioning of
// the approval. A request still waiting is checked again when its deadline passes.
// A breach emits a Warning event and counts in subdomain_service_level_breaches_total,
// once: while its stage waits, or in the pass that ends the stage late; provisioning is
// judged after a late approval too (ProvisioningOverdue then says both). A stage that
// ended before the zone's standard changed is judged again in the condition, against
// the standard now in force, but no event or count follows: the zone's change is no
// new breach of the request's. A zone without standards has no condition.
// A rejection is a decision, not a wait: a rejected request is not checked again
// (a breach reported before it stays). Nor is provisioning checked while nothing may
// be provisioned (the approval withdrawn or stale before the site ever served).
func (r *SubdomainRequestReconciler) serviceLevel(s *requestScope) {
	if s.zone == nil || s.decision.Rejected {
		return
	}
	sl := s.zone.Spec.ServiceLevel
	st := &s.req.Status
	if sl.Approval == nil && sl.Provisioning == nil {
		meta.RemoveStatusCondition(&st.Conditions, ConditionServiceLevel)
		return
	}
	if st.RequestedAt == nil {
		return
	}
	now := s.now
	check := func(stage string, limit *metav1.Duration, from *metav1.Time, to *metav1.Time) (bool, string) {
		if limit == nil || from == nil {
			return true, ""
		}
		end := now
		if to != nil {
			end = to.Time
		} else if deadline := from.Add(limit.Duration); now.Before(deadline) {
			s.requeueAt(deadline.Sub(now))
		}
		if took := end.Sub(from.Time); took > limit.Duration {
			if to == nil { // still waiting: a message that does not change every reconcile
				return false, fmt.Sprintf("%s is overdue: the standard of %s ended at %s", stage, limit.Duration,
					from.Add(limit.Duration).UTC().Format(time.RFC3339))
			}
			return false, fmt.Sprintf("%s took %s, over the standard of %s", stage, took.Round(time.Second), limit.Duration)
		}
		return true, ""
	}
	ok, reason, msg := true, "WithinServiceLevel", "within the zone's approval and provisioning standards so far"
	if good, m := check("approval", sl.Approval, st.RequestedAt, st.ApprovedAt); !good {
		ok, reason, msg = false, "ApprovalOverdue", m
	}
	// Provisioning is judged after a late approval too: its breach is one of its own
	// (the approval's was counted when it happened), and the condition says both.
	if st.ApprovedAt != nil && (s.label != "" || st.ReadyAt != nil) {
		if good, m := check("provisioning", sl.Provisioning, st.ApprovedAt, st.ReadyAt); !good {
			if !ok {
				m = msg + "; " + m
			}
			ok, reason, msg = false, "ProvisioningOverdue", m
		}
	}
	prev := meta.FindStatusCondition(st.Conditions, ConditionServiceLevel)
	stage, end := "approval", st.ApprovedAt
	if reason == "ProvisioningOverdue" {
		stage, end = "provisioning", st.ReadyAt
	}
	open := end == nil || end.Time.Equal(now) // waiting, or ended by this pass
	if !ok && open && (prev == nil || prev.Reason != reason) {
		r.tell(s, corev1.EventTypeWarning, reason, "ServiceLevel", "%s", msg)
		zone := s.zone.Name
		s.told = append(s.told, func() { slaBreaches.WithLabelValues(zone, stage).Inc() })
	}
	s.setCondition(ConditionServiceLevel, ok, reason, msg)
}
