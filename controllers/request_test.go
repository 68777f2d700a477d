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
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	dnsv1 "sigs.k8s.io/external-dns/apis/v1alpha1"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestApprovalGate: nothing is provisioned before a valid approval; a stale approval
// and a rejection provision nothing; the approval lands and is recorded.
func TestApprovalGate(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("gate", "gate.go.id"))
	create(t, newRequest("gatepending", "gate", "pending"))
	create(t, newRequest("gatestale", "gate", "stale", func(r *sdv1.SubdomainRequest) {
		r.Annotations = map[string]string{sdv1.AnnotationApproved: "stalee"}
	}))
	create(t, newRequest("gaterejected", "gate", "rejected", approved("boss"), func(r *sdv1.SubdomainRequest) {
		r.Annotations[sdv1.AnnotationRejected] = "duplicate of dinkes"
	}))

	p := waitPhase(t, "gatepending", sdv1.PhasePending)
	if c := condition(p, sdv1.ConditionApproved); c.Status != metav1.ConditionFalse || c.Reason != "AwaitingApproval" {
		t.Errorf("pending Approved = %+v", c)
	}
	if c := condition(p, sdv1.ConditionReconciling); c.Status != metav1.ConditionTrue {
		t.Errorf("pending request should be Reconciling (kstatus InProgress): %+v", c)
	}
	s := waitPhase(t, "gatestale", sdv1.PhasePending)
	if c := condition(s, sdv1.ConditionApproved); c.Reason != "ApprovalStale" || !strings.Contains(c.Message, `"stalee"`) {
		t.Errorf("stale Approved = %+v", c)
	}
	rj := waitPhase(t, "gaterejected", sdv1.PhaseRejected)
	if c := condition(rj, sdv1.ConditionStalled); c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "duplicate of dinkes") {
		t.Errorf("rejected Stalled = %+v", c)
	}
	for _, name := range []string{"gatepending", "gatestale", "gaterejected"} {
		mustNotExist(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-" + name}})
		claims := &sdv1.SubdomainClaimList{}
		if err := k8s.List(ctx, claims, client.MatchingLabels{sdv1.LabelRequest: name}); err != nil || len(claims.Items) != 0 {
			t.Errorf("%s holds claims before approval: %v %v", name, claims.Items, err)
		}
		if r := getRequest(t, name); r.Status.Approval != nil || r.Status.Address != "" || len(r.Finalizers) != 0 {
			t.Errorf("%s provisioned something before approval: %+v finalizers=%v", name, r.Status, r.Finalizers)
		}
	}

	// The approval must name exactly spec.subdomain.
	annotate(t, "gatepending", map[string]*string{sdv1.AnnotationApproved: ptr("pending"), sdv1.AnnotationApprovedBy: ptr("kadis")})
	r := waitPhase(t, "gatepending", sdv1.PhaseReady)
	if r.Status.Approval == nil || r.Status.Approval.Name != "pending" || r.Status.Approval.ApprovedBy != "kadis" ||
		r.Status.Approval.ApprovedAt == nil || r.Status.ApprovedAt == nil || r.Status.RequestedAt == nil || r.Status.ReadyAt == nil {
		t.Errorf("approval not recorded: %+v", r.Status)
	}
	if _, ok := r.Annotations[sdv1.AnnotationApproved]; !ok {
		t.Error("the operator must never remove the approval annotation")
	}

	// Withdrawing the approval does not take the site down; the record stays.
	annotate(t, "gatepending", map[string]*string{sdv1.AnnotationApproved: nil, sdv1.AnnotationApprovedBy: nil})
	w := waitFor(t, "gatepending", "ApprovalWithdrawn", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionApproved).Reason == "ApprovalWithdrawn"
	})
	if w.Status.Phase != sdv1.PhaseReady || w.Status.Approval == nil || w.Status.Approval.ApprovedBy != "kadis" {
		t.Errorf("withdrawn approval: phase %s, approval %+v", w.Status.Phase, w.Status.Approval)
	}
	assertEventNote(t, "gatepending", "ApprovalWithdrawn", `"pending" stays served`)
	// Rejecting a served site keeps it served too, and says so.
	annotate(t, "gatepending", map[string]*string{sdv1.AnnotationRejected: ptr("wrong OPD")})
	w = waitFor(t, "gatepending", "Rejected", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionApproved).Reason == "Rejected"
	})
	if w.Status.Phase != sdv1.PhaseReady {
		t.Errorf("rejected after Ready: phase %s, want Ready (the site stays)", w.Status.Phase)
	}
	assertEventNote(t, "gatepending", "Rejected", "rejected: wrong OPD")
	// The approval and the provisioning it allowed are one Event.
	assertEventNote(t, "gatepending", "Ready", `"pending" approved by kadis`)
}

// TestProvisioning checks every child against the design's table.
func TestProvisioning(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("pontianak", "pontianak.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.21.0.0/24"}
		z.Spec.Ingress.ClusterIssuer = "letsencrypt"
		z.Spec.DNS.TTL = 120
		cpu := resource.MustParse("3")
		z.Spec.Hosting.Quota.CPU = &cpu
	}))
	create(t, newRequest("dinkes", "pontianak", "dinkes", approved("kadis"), func(r *sdv1.SubdomainRequest) {
		r.Spec.Hosting.Service = sdv1.ServiceRef{Name: "portal", Port: 8080}
	}))
	r := waitPhase(t, "dinkes", sdv1.PhaseReady)

	if r.Status.FQDN != "dinkes.pontianak.go.id" || r.Status.Namespace != "opd-dinkes" ||
		r.Status.CredentialsSecret == nil || r.Status.CredentialsSecret.Name != "subdomain-credentials" {
		t.Fatalf("status: %s", statusString(r))
	}
	addr := netip.MustParseAddr(r.Status.Address)
	if !netip.MustParsePrefix("10.21.0.0/24").Contains(addr) || addr.String() == "10.21.0.0" || addr.String() == "10.21.0.255" {
		t.Errorf("address %s is not a usable address of the pool", addr)
	}
	for _, typ := range []string{sdv1.ConditionApproved, sdv1.ConditionNameAvailable, sdv1.ConditionAddressAssigned,
		sdv1.ConditionHostingReady, sdv1.ConditionIngressReady, sdv1.ConditionDNSReady, sdv1.ConditionCredentialsReady, sdv1.ConditionReady} {
		c := condition(r, typ)
		if c.Status != metav1.ConditionTrue || c.ObservedGeneration != r.Generation {
			t.Errorf("condition %s = %+v, want True at generation %d", typ, c, r.Generation)
		}
	}
	if c := has(r, sdv1.ConditionReconciling) + has(r, sdv1.ConditionStalled); c != 0 {
		t.Errorf("a Ready request must have no Reconciling/Stalled condition (kstatus Current)")
	}

	owned := func(o client.Object) {
		t.Helper()
		if o.GetLabels()[sdv1.LabelRequest] != "dinkes" {
			t.Errorf("%T %s lacks the request label", o, o.GetName())
		}
		refs := o.GetOwnerReferences()
		if len(refs) != 1 || refs[0].UID != r.UID || refs[0].Controller == nil || !*refs[0].Controller {
			t.Errorf("%T %s owner references = %+v", o, o.GetName(), refs)
		}
		if !managedBy(o, manager.FieldManager, "") {
			t.Errorf("%T %s: no managedFields entry of %q: %s", o, o.GetName(), manager.FieldManager, managers(o))
		}
	}
	// The API server records the operator by name, not by its binary's.
	if !managedBy(r, manager.FieldManager, "status") {
		t.Errorf("request: no status managedFields entry of %q: %s", manager.FieldManager, managers(r))
	}
	get := func(o client.Object, ns, name string) {
		t.Helper()
		if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, o); err != nil {
			t.Fatalf("%T %s/%s: %v", o, ns, name, err)
		}
		owned(o)
	}

	ns := &corev1.Namespace{}
	get(ns, "", "opd-dinkes")
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" || ns.Annotations[sdv1.AnnotationHostingFQDN] != "dinkes.pontianak.go.id" {
		t.Errorf("namespace labels %v annotations %v", ns.Labels, ns.Annotations)
	}
	q := &corev1.ResourceQuota{}
	get(q, "opd-dinkes", "subdomain-hosting")
	if got := q.Spec.Hard[corev1.ResourceRequestsCPU]; got.String() != "3" {
		t.Errorf("quota requests.cpu = %s, want the zone's 3", got.String())
	}
	if got := q.Spec.Hard[corev1.ResourceRequestsStorage]; got.String() != "20Gi" {
		t.Errorf("quota requests.storage = %s, want the default 20Gi", got.String())
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceServicesLoadBalancers, corev1.ResourceServicesNodePorts} {
		if got, ok := q.Spec.Hard[name]; !ok || !got.IsZero() {
			t.Errorf("quota %s = %s (set: %v), want 0: an OPD's own Service may take no address or node port", name, got.String(), ok)
		}
	}
	get(&corev1.LimitRange{}, "opd-dinkes", "subdomain-hosting")
	np := &networkingv1.NetworkPolicy{}
	get(np, "opd-dinkes", "subdomain-hosting")
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].From) != 2 ||
		np.Spec.Ingress[0].From[1].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "ingress-nginx" {
		t.Errorf("network policy = %+v", np.Spec)
	}
	rb := &rbacv1.RoleBinding{}
	get(rb, "opd-dinkes", "opd-admin")
	if rb.RoleRef.Name != "admin" || rb.RoleRef.Kind != "ClusterRole" || len(rb.Subjects) != 1 || rb.Subjects[0].Name != "opd:dinkes" || rb.Subjects[0].Kind != "Group" {
		t.Errorf("role binding = %+v %+v", rb.RoleRef, rb.Subjects)
	}
	ing := &networkingv1.Ingress{}
	get(ing, "opd-dinkes", "dinkes")
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "dinkes.pontianak.go.id" ||
		ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name != "portal" || ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Number != 8080 ||
		*ing.Spec.IngressClassName != "nginx" {
		t.Errorf("ingress = %+v", ing.Spec)
	}
	if ing.Annotations["cert-manager.io/cluster-issuer"] != "letsencrypt" || len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].Hosts[0] != "dinkes.pontianak.go.id" {
		t.Errorf("ingress TLS = %+v %v", ing.Spec.TLS, ing.Annotations)
	}
	ep := &dnsv1.DNSEndpoint{}
	get(ep, "subdomain-system", "dinkes")
	if len(ep.Spec.Endpoints) != 1 || ep.Spec.Endpoints[0].DNSName != "dinkes.pontianak.go.id" || ep.Spec.Endpoints[0].RecordType != "A" ||
		ep.Spec.Endpoints[0].Targets[0] != addr.String() || ep.Spec.Endpoints[0].RecordTTL != 120 {
		t.Errorf("DNSEndpoint = %+v", ep.Spec.Endpoints)
	}
	sec := &corev1.Secret{}
	get(sec, "opd-dinkes", "subdomain-credentials")
	want := map[string]string{"fqdn": "dinkes.pontianak.go.id", "subdomain": "dinkes", "zone": "pontianak.go.id",
		"address": addr.String(), "username": "dinkes", "url": "https://dinkes.pontianak.go.id"}
	for k, v := range want {
		if string(sec.Data[k]) != v {
			t.Errorf("secret %s = %q, want %q", k, sec.Data[k], v)
		}
	}
	if len(sec.Data) != 7 || len(sec.Data["password"]) < 22 {
		t.Errorf("secret keys %d, password %d chars (want 7 keys, >= 128 bits)", len(sec.Data), len(sec.Data["password"]))
	}
	// No load balancer Service without a controllerSelector; the condition says so.
	if c := condition(r, sdv1.ConditionAddressAssigned); c.Reason != "Reserved" || !strings.Contains(c.Message, "network team") {
		t.Errorf("AddressAssigned = %+v", c)
	}
	mustNotExist(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ingress-nginx", Name: "sdr-dinkes"}})

	// Claims: one FQDN, one address, named after what they hold.
	fc := &sdv1.SubdomainClaim{}
	if err := k8s.Get(ctx, types.NamespacedName{Name: "dinkes.pontianak.go.id"}, fc); err != nil || fc.Spec.Request != "dinkes" {
		t.Errorf("FQDN claim: %+v %v", fc.Spec, err)
	}
	ac := &sdv1.SubdomainClaim{}
	if err := k8s.Get(ctx, types.NamespacedName{Name: "ip-" + strings.ReplaceAll(addr.String(), ".", "-")}, ac); err != nil || ac.Spec.Request != "dinkes" {
		t.Errorf("address claim: %+v %v", ac.Spec, err)
	}

	// kubectl wait works on the Ready condition.
	out, err := exec.Command(filepath.Join(testenv.AssetsDir(), "kubectl"), "--kubeconfig", env.Kubeconfig,
		"wait", "--for=condition=Ready", "sdr/dinkes", "--timeout=30s").CombinedOutput()
	if err != nil {
		t.Errorf("kubectl wait: %v\n%s", err, out)
	}
	// kubectl get sdr shows the design's columns.
	out, err = exec.Command(filepath.Join(testenv.AssetsDir(), "kubectl"), "--kubeconfig", env.Kubeconfig, "get", "sdr", "dinkes").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OPD") || !strings.Contains(string(out), "FQDN") || !strings.Contains(string(out), "ADDRESS") ||
		!strings.Contains(string(out), "PHASE") || !strings.Contains(string(out), "dinkes.pontianak.go.id") || !strings.Contains(string(out), "Ready") {
		t.Errorf("kubectl get sdr:\n%s %v", out, err)
	}
	z, err := zoneWhen("pontianak", func(z *sdv1.SubdomainZone) bool { return z.Status.Allocated == 1 && z.Status.Capacity == 254 })
	if err != nil {
		t.Errorf("zone status allocated=%d capacity=%d: %v", z.Status.Allocated, z.Status.Capacity, err)
	}
	assertEvent(t, "dinkes", "Ready")
}

func has(r *sdv1.SubdomainRequest, typ string) int {
	if condition(r, typ).Type != "" {
		return 1
	}
	return 0
}

// assertEvent waits for an Event with reason about the request.
func assertEvent(t *testing.T, name, reason string) {
	t.Helper()
	assertEventNote(t, name, reason, "")
}

// assertEventNote waits for an event of reason about name whose note contains note.
func assertEventNote(t *testing.T, name, reason, note string) {
	t.Helper()
	err := testenv.Eventually(context.Background(), timeout, interval, func() (bool, error) {
		list := &eventsv1.EventList{}
		if err := k8s.List(context.Background(), list); err != nil {
			return false, err
		}
		for _, e := range list.Items {
			if e.Regarding.Name == name && e.Reason == reason && strings.Contains(e.Note, note) {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("no %s event for %s with note %q: %v", reason, name, note, err)
	}
}

// managedBy tells whether o's managedFields have an entry of manager for subresource
// ("" for the object itself).
func managedBy(o client.Object, manager, subresource string) bool {
	for _, m := range o.GetManagedFields() {
		if m.Manager == manager && m.Subresource == subresource {
			return true
		}
	}
	return false
}

// managers lists o's managedFields entries as manager/operation/subresource.
func managers(o client.Object) string {
	var out []string
	for _, m := range o.GetManagedFields() {
		out = append(out, fmt.Sprintf("%s/%s/%s", m.Manager, m.Operation, m.Subresource))
	}
	return strings.Join(out, ", ")
}

// TestSmallQuotaPodsRun: a zone quota below the hosting namespace's container defaults
// (250m CPU and 256Mi, a small static site) still lets a pod that sets no resources of
// its own in: LimitRanger gives it the defaults, capped at the quota, and the quota's
// admission takes them. Before, the defaults (500m, 512Mi) exceeded the quota and every
// such pod was refused. The test writes the quota's status as kube-controller-manager's
// quota controller would (the suite does not run it): admission refuses every pod
// while the status is unknown.
func TestSmallQuotaPodsRun(t *testing.T) {
	ctx := context.Background()
	cpu, mem := resource.MustParse("250m"), resource.MustParse("256Mi")
	create(t, newZone("kecil", "kecil.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.178.26.0/24"}
		z.Spec.Hosting.Quota.CPU, z.Spec.Hosting.Quota.Memory = &cpu, &mem
	}))
	create(t, newRequest("kecil", "kecil", "kecil", approved("kadis")))
	waitPhase(t, "kecil", sdv1.PhaseReady)

	q := &corev1.ResourceQuota{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: "opd-kecil", Name: "subdomain-hosting"}, q); err != nil {
		t.Fatal(err)
	}
	q.Status.Hard = q.Spec.Hard.DeepCopy()
	q.Status.Used = corev1.ResourceList{}
	for name := range q.Spec.Hard {
		q.Status.Used[name] = resource.MustParse("0")
	}
	if err := k8s.Status().Update(ctx, q); err != nil {
		t.Fatal(err)
	}
	no := false
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-kecil", Name: "web"},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: new(true), RunAsUser: new(int64(1000)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{Name: "web", Image: "nginx",
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no,
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
		}}
	// The quota's admission reads the status from its own cache: retry until it has it.
	var err error
	if werr := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		err = k8s.Create(ctx, pod.DeepCopy(), client.DryRunAll)
		return err == nil || !strings.Contains(err.Error(), "status unknown"), nil
	}); werr != nil || err != nil {
		t.Fatalf("a pod without resources of its own in a namespace of quota 250m / 256Mi: %v (%v)", err, werr)
	}
	lr := &corev1.LimitRange{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: "opd-kecil", Name: "subdomain-hosting"}, lr); err != nil {
		t.Fatal(err)
	}
	d := lr.Spec.Limits[0]
	if d.Default.Cpu().Cmp(cpu) != 0 || d.Default.Memory().Cmp(mem) != 0 || d.DefaultRequest.Cpu().String() != "100m" || d.DefaultRequest.Memory().String() != "128Mi" {
		t.Errorf("LimitRange defaults %v, requests %v; want limits at the quota (250m, 256Mi), requests 100m / 128Mi", d.Default, d.DefaultRequest)
	}
}
