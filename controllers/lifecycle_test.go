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
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	dnsv1 "sigs.k8s.io/external-dns/apis/v1alpha1"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/naming"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

func password(t *testing.T, ns string) string {
	t.Helper()
	s := &corev1.Secret{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: sdv1.CredentialsSecretName}, s); err != nil {
		t.Fatal(err)
	}
	return string(s.Data[sdv1.SecretKeyPassword])
}

// TestCredentials: the password is made once, survives reconciles and an operator
// restart, changes only on rotation, and never reaches status, events or logs.
func TestCredentials(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("cred", "cred.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.80.0.0/24"} }))
	create(t, newRequest("bkpsdm", "cred", "bkpsdm", approved("kadis")))
	waitPhase(t, "bkpsdm", sdv1.PhaseReady)
	first := password(t, "opd-bkpsdm")
	if len(first) < 22 {
		t.Fatalf("password of %d characters is under 128 bits", len(first))
	}
	// Touch the request (a label change triggers a reconcile) and restart the operator;
	// after each, wait until the operator has reconciled the request again.
	n := requestReconciles("bkpsdm")
	editRequest(t, "bkpsdm", func(r *sdv1.SubdomainRequest) { r.Labels = map[string]string{"team": "platform"} })
	waitReconciled(t, "bkpsdm", n)
	if got := password(t, "opd-bkpsdm"); got != first {
		t.Fatal("the password changed without a rotation (label change)")
	}
	stopManager()
	n = requestReconciles("bkpsdm")
	if err := startManager(); err != nil {
		t.Fatal(err)
	}
	waitReconciled(t, "bkpsdm", n)
	waitPhase(t, "bkpsdm", sdv1.PhaseReady)
	if got := password(t, "opd-bkpsdm"); got != first {
		t.Fatal("the password changed without a rotation (restart)")
	}

	annotate(t, "bkpsdm", map[string]*string{sdv1.AnnotationRotateCredentials: ptr("2026-11-23")})
	var second string
	err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		second = password(t, "opd-bkpsdm")
		return second != first, nil
	})
	if err != nil {
		t.Fatalf("rotation did not make a new password: %v", err)
	}
	assertEvent(t, "bkpsdm", "CredentialsRotated")
	n = requestReconciles("bkpsdm")
	// Another reconcile with the same rotate value.
	editRequest(t, "bkpsdm", func(r *sdv1.SubdomainRequest) { r.Labels["team"] = "hosting" })
	waitReconciled(t, "bkpsdm", n)
	if got := password(t, "opd-bkpsdm"); got != second {
		t.Fatal("the same rotate-credentials value rotated twice")
	}
	// The Secret is the OPD's to edit: its copy of the last rotation taken off (a
	// kubectl replace, say) is put back from status, and rotates nothing.
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-bkpsdm", Name: sdv1.CredentialsSecretName}}
	if err := testenv.Edit(ctx, k8s, sec, func(s *corev1.Secret) { delete(s.Annotations, sdv1.AnnotationRotatedFor) }); err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(sec), sec)
		return err == nil && sec.Annotations[sdv1.AnnotationRotatedFor] == "2026-11-23", err
	})
	if err != nil {
		t.Fatalf("rotated-for not put back: %v", err)
	}
	if got := password(t, "opd-bkpsdm"); got != second {
		t.Fatal("taking rotated-for off the Secret rotated the password")
	}
	if got := getRequest(t, "bkpsdm").Status.CredentialsRotation; got != "2026-11-23" {
		t.Errorf("status.credentialsRotation = %q", got)
	}
	// Removing the annotation is no rotation (a GitOps sync dropping it, say).
	n = requestReconciles("bkpsdm")
	annotate(t, "bkpsdm", map[string]*string{sdv1.AnnotationRotateCredentials: nil})
	waitReconciled(t, "bkpsdm", n)
	if got := password(t, "opd-bkpsdm"); got != second {
		t.Fatal("removing rotate-credentials made a new password")
	}

	// Never in status, events or logs.
	assertNowhere(t, getRequest(t, "bkpsdm"), first, second)
}

// assertNowhere fails the test when any of secrets appears in request r's status, in
// any Event, or in the operator's log.
func assertNowhere(t *testing.T, r *sdv1.SubdomainRequest, secrets ...string) {
	t.Helper()
	st, _ := json.Marshal(r.Status)
	evs := &eventsv1.EventList{}
	if err := k8s.List(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	ev, _ := json.Marshal(evs)
	for _, secret := range secrets {
		for where, text := range map[string]string{"status": string(st), "events": string(ev), "operator log": logs.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("a password appears in the %s", where)
			}
		}
	}
}

// refusingPolicy stands for a cluster's own admission policy until the test ends: a
// ValidatingAdmissionPolicy name that denies ops on core resource (namespaces matching
// nsSelector; nil: every one) failing v. The API server takes it in a moment: the test
// waits for a refusal of its own before it counts on it. lift deletes it before the
// test ends.
func refusingPolicy(t *testing.T, name, resource string, ops []admissionregistrationv1.OperationType,
	v admissionregistrationv1.Validation, nsSelector *metav1.LabelSelector) (lift func()) {
	t.Helper()
	return refusingPolicyIn(t, "", "v1", name, resource, ops, v, nsSelector)
}

// refusingPolicyIn is refusingPolicy for a resource of API group and version.
func refusingPolicyIn(t *testing.T, group, version, name, resource string, ops []admissionregistrationv1.OperationType,
	v admissionregistrationv1.Validation, nsSelector *metav1.LabelSelector) (lift func()) {
	t.Helper()
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{Operations: ops,
					Rule: admissionregistrationv1.Rule{APIGroups: []string{group}, APIVersions: []string{version}, Resources: []string{resource}}},
			}}},
			Validations: []admissionregistrationv1.Validation{v},
		}}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}}}
	if nsSelector != nil {
		binding.Spec.MatchResources = &admissionregistrationv1.MatchResources{NamespaceSelector: nsSelector}
	}
	create(t, policy, binding)
	t.Cleanup(func() {
		_ = k8s.Delete(context.Background(), binding)
		_ = k8s.Delete(context.Background(), policy)
	})
	return func() {
		t.Helper()
		for _, o := range []client.Object{binding, policy} {
			if err := k8s.Delete(context.Background(), o); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestSecretRefusalNotQuoted: a refusal of the credentials Secret's write is never
// repeated word for word: an admission policy (or webhook) may quote the Secret in its
// message, and errors reach conditions, Events and the log. Here a policy refuses, as
// Forbidden, a change of the Secret's fqdn with a message holding the password; a
// rename makes that change.
func TestSecretRefusalNotQuoted(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("rahasia", "rahasia.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.174.0.0/24"} }))
	create(t, newRequest("rahasia", "rahasia", "rahasia", approved("kadis")))
	waitPhase(t, "rahasia", sdv1.PhaseReady)
	pw := password(t, "opd-rahasia")
	forbidden := metav1.StatusReasonForbidden
	refusingPolicy(t, "test-quotes-secrets", "secrets", []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
		admissionregistrationv1.Validation{
			Expression:        "object.data['fqdn'] == oldObject.data['fqdn']",
			MessageExpression: "'refused: ' + string(object.data['password'])",
			Reason:            &forbidden,
		}, &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "opd-rahasia"}})
	// The policy is in force once it refuses a write of the test's own, to a Secret of
	// its own in the namespace.
	probe := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-rahasia", Name: "probe"},
		Data: map[string][]byte{"fqdn": []byte("0"), "password": []byte("not-a-password")}}
	create(t, probe)
	tries := 0
	err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		tries++
		err := testenv.Edit(ctx, k8s, probe, func(s *corev1.Secret) { s.Data["fqdn"] = []byte(fmt.Sprint(tries)) })
		return apierrors.IsForbidden(err), nil
	})
	if err != nil {
		t.Fatalf("the test policy never refused: %v", err)
	}

	setSubdomain(t, "rahasia", "sandi")
	annotate(t, "rahasia", map[string]*string{sdv1.AnnotationApproved: ptr("sandi")})
	r := waitFor(t, "rahasia", "refused on its Secret", func(r *sdv1.SubdomainRequest) bool {
		return strings.Contains(condition(r, sdv1.ConditionReady).Message, sdv1.CredentialsSecretName)
	})
	// The policy sees the Secret's data base64-encoded; 12 bytes are 16 characters of
	// it whatever follows (a message may be cut short).
	assertNowhere(t, r, pw, base64.StdEncoding.EncodeToString([]byte(pw[:12])))
	if msg := condition(r, sdv1.ConditionReady).Message; !strings.Contains(msg, "Forbidden, HTTP 403") {
		t.Errorf("Ready should say the write was refused, and how: %s", msg)
	}
}

// TestDeletion: Delete removes children, DNS records and claims (garbage collection and
// namespace deletion by the real kube-controller-manager); Retain leaves the site.
func TestDeletion(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("del", "del.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.90.0.0/24"} }))
	create(t, newRequest("dishub", "del", "dishub", approved("kadis")))
	create(t, newRequest("disdik", "del", "disdik", approved("kadis"), func(r *sdv1.SubdomainRequest) {
		r.Spec.DeletionPolicy = sdv1.DeletionPolicyRetain
	}))
	gone := waitPhase(t, "dishub", sdv1.PhaseReady)
	kept := waitPhase(t, "disdik", sdv1.PhaseReady)
	keptPassword := password(t, "opd-disdik")
	collected := gcSentinel(t, "disdik")

	for _, n := range []string{"dishub", "disdik"} {
		if err := k8s.Delete(ctx, getRequest(t, n)); err != nil {
			t.Fatal(err)
		}
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "dishub"}})
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "disdik"}})

	// Delete: everything is gone, and the name and address are free again.
	mustNotExist(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-dishub"}})
	mustNotExist(t, &dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "subdomain-system", Name: "dishub"}})
	claims := &sdv1.SubdomainClaimList{}
	if err := k8s.List(ctx, claims, client.MatchingLabels{sdv1.LabelRequest: "dishub"}); err != nil || len(claims.Items) != 0 {
		t.Errorf("claims of a deleted request remain: %d %v", len(claims.Items), err)
	}

	// Retain: the site, records, Secret and claims stay, no longer owned, and survive
	// garbage collection.
	collected()
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-disdik"}},
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-disdik", Name: "disdik"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-disdik", Name: sdv1.CredentialsSecretName}},
		&dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "subdomain-system", Name: "disdik"}},
		&sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "disdik.del.go.id"}},
	}
	for _, o := range objs {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			t.Errorf("Retain removed %T %s: %v", o, o.GetName(), err)
			continue
		}
		if len(o.GetOwnerReferences()) != 0 || !o.GetDeletionTimestamp().IsZero() {
			t.Errorf("%T %s is still owned or being deleted", o, o.GetName())
		}
	}
	if password(t, "opd-disdik") != keptPassword {
		t.Error("Retain changed the password")
	}
	if err := k8s.List(ctx, claims, client.MatchingLabels{sdv1.LabelRequest: "disdik"}); err != nil || len(claims.Items) != 2 {
		t.Errorf("Retain released claims: %d left, want 2 (%v)", len(claims.Items), err)
	}

	// The released name can be requested again and gets the freed address back first,
	// once the operator's cache no longer shows its claim (allocation reads the cache).
	waitCached(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: naming.AddressClaimName(netip.MustParseAddr(gone.Status.Address))}})
	create(t, newRequest("dishub2", "del", "dishub", approved("kadis")))
	again := waitPhase(t, "dishub2", sdv1.PhaseReady)
	if again.Status.FQDN != "dishub.del.go.id" {
		t.Errorf("re-request got %s", again.Status.FQDN)
	}
	// Addresses go lowest free first: the freed one, below the retained one's or not.
	if again.Status.Address != gone.Status.Address {
		t.Errorf("re-request got address %s, want the freed %s (retained: %s)", again.Status.Address, gone.Status.Address, kept.Status.Address)
	}

	// A new request with the retained one's name does not take the retained claims for
	// its own: not the name (Conflict), not the address, and deleting it releases none.
	// (It cannot serve in this zone either: the retained DNSEndpoint has its name.)
	create(t, newRequest("disdik", "del", "disdik", approved("kadis"), func(r *sdv1.SubdomainRequest) {
		r.Spec.Hosting.Namespace = "opd-disdik-baru"
	}))
	r := waitPhase(t, "disdik", sdv1.PhaseConflict)
	if c := condition(r, sdv1.ConditionNameAvailable); c.Reason != "NameConflict" || !strings.Contains(c.Message, `SubdomainRequest "disdik"`) {
		t.Errorf("the retained name: %+v", c)
	}
	renameApproved(t, "disdik", "disdikbaru")
	r = waitFor(t, "disdik", "provisioned up to the retained DNSEndpoint", func(r *sdv1.SubdomainRequest) bool {
		c := condition(r, sdv1.ConditionDNSReady)
		return r.Status.Phase == sdv1.PhaseConflict && c.Reason == "AlreadyExists" && strings.Contains(c.Message, "DNSEndpoint subdomain-system/disdik")
	})
	if r.Status.FQDN != "disdikbaru.del.go.id" || r.Status.Address == "" || r.Status.Address == kept.Status.Address {
		t.Errorf("the new disdik took the retained site's address %s", r.Status.Address)
	}
	if err := k8s.Delete(ctx, r); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "disdik"}})
	if err := k8s.List(ctx, claims, client.MatchingLabels{sdv1.LabelRequest: "disdik"}); err != nil || len(claims.Items) != 2 {
		t.Fatalf("%d claims labelled disdik left, want the retained site's 2 (%v)", len(claims.Items), err)
	}
	for _, c := range claims.Items {
		if c.Spec.Value != kept.Status.FQDN && c.Spec.Value != kept.Status.Address {
			t.Errorf("claim %s (%s) is not the retained site's", c.Name, c.Spec.Value)
		}
	}
	// With the retained site's Ingress and record gone but its claims kept, the claim
	// itself says who holds the name.
	for _, o := range []client.Object{
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-disdik", Name: "disdik"}},
		&dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "subdomain-system", Name: "disdik"}},
	} {
		if err := k8s.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
		waitGone(t, o)
		// The conflict check reads the operator's cache: it must not see them either.
		waitCached(t, o)
	}
	create(t, newRequest("disdik", "del", "disdik", approved("kadis"), func(r *sdv1.SubdomainRequest) {
		r.Spec.Hosting.Namespace = "opd-disdik-dua"
	}))
	r = waitPhase(t, "disdik", sdv1.PhaseConflict)
	if c := condition(r, sdv1.ConditionNameAvailable); !strings.Contains(c.Message, `disdik.del.go.id is held by an earlier SubdomainRequest "disdik" (deleted with deletionPolicy Retain`) {
		t.Errorf("the retained claim: %+v", c)
	}
}

// TestDeletionPolicyKeptOnceBegun: a Delete deletion that has begun taking the site
// down (its namespace terminating) goes on as Delete when deletionPolicy is switched to
// Retain meanwhile: the name and address are released and the ledger records Deleted.
func TestDeletionPolicyKeptOnceBegun(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("tetap", "tetap.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.170.0.0/24"} }))
	create(t, newRequest("ganti", "tetap", "ganti", approved("kadis")))
	r := waitPhase(t, "ganti", sdv1.PhaseReady)
	addressClaim := naming.AddressClaimName(netip.MustParseAddr(r.Status.Address))
	hold := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-ganti", Name: "hold", Finalizers: []string{"test.kominfo.go.id/hold"}}}
	create(t, hold)
	if err := k8s.Delete(ctx, r); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ganti", "the namespace's deletion", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Phase == sdv1.PhaseTerminating && condition(r, sdv1.ConditionReady).Reason == "DeletingNamespace"
	})
	mark := requestReconciles("ganti")
	editRequest(t, "ganti", func(r *sdv1.SubdomainRequest) { r.Spec.DeletionPolicy = sdv1.DeletionPolicyRetain })
	waitReconciled(t, "ganti", mark)
	if r := getRequest(t, "ganti"); condition(r, sdv1.ConditionReady).Reason != "DeletingNamespace" || r.Status.DeletionPolicy != sdv1.DeletionPolicyDelete {
		t.Errorf("switched to Retain while the namespace goes: %s (status.deletionPolicy %q)", statusString(r), r.Status.DeletionPolicy)
	}
	if err := testenv.Edit(ctx, k8s, hold, func(c *corev1.ConfigMap) { c.Finalizers = nil }); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "ganti"}})
	mustNotExist(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "ganti.tetap.go.id"}})
	mustNotExist(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: addressClaim}})
	mustNotExist(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-ganti"}})
	entries := ledgerOf(t, "tetap", "ganti")
	if n := countEntries(entries, sdv1.LedgerDeleted, func(sdv1.LedgerEntry) string { return "" })[""]; n != 1 ||
		slices.ContainsFunc(entries, func(e sdv1.LedgerEntry) bool { return e.Type == sdv1.LedgerRetained }) {
		t.Errorf("want one Deleted entry and no Retained one: %+v", entries)
	}
}

// TestDeletionDecisionWrittenFirst: a Delete deletion writes its decision
// (status.deletionPolicy) before it deletes anything. Here the request's status
// writes are refused: the deletion's passes delete nothing - before, the first pass
// deleted the DNS records and the namespace and only then lost its status write, so
// that the next pass saw no deletion begun - and a switch to Retain made meanwhile
// leaves the whole site in place, its claims kept and the ledger saying Retained.
func TestDeletionDecisionWrittenFirst(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("putusan", "putusan.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.31.0/24"} }))
	create(t, newRequest("putusan", "putusan", "putusan", approved("kadis")))
	r := waitPhase(t, "putusan", sdv1.PhaseReady)
	addressClaim := naming.AddressClaimName(netip.MustParseAddr(r.Status.Address))
	lift := refusingPolicyIn(t, sdv1.GroupVersion.Group, sdv1.GroupVersion.Version, "test-no-status-putusan", "subdomainrequests/status",
		[]admissionregistrationv1.OperationType{admissionregistrationv1.Update},
		admissionregistrationv1.Validation{Expression: "object.metadata.name != 'putusan'", Message: "no status writes for putusan"}, nil)
	if err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		probe := getRequest(t, "putusan")
		probe.Status.Phase = sdv1.PhaseFailed
		err := k8s.Status().Update(ctx, probe, client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), "no status writes for putusan"), nil
	}); err != nil {
		t.Fatalf("the policy never refused the status write: %v", err)
	}
	if err := k8s.Delete(ctx, r); err != nil {
		t.Fatal(err)
	}
	waitReconciled(t, "putusan", requestReconciles("putusan"))
	waitReconciled(t, "putusan", requestReconciles("putusan"))
	ns := &corev1.Namespace{}
	if err := k8s.Get(ctx, types.NamespacedName{Name: "opd-putusan"}, ns); err != nil || !ns.DeletionTimestamp.IsZero() {
		t.Fatalf("the namespace was deleted before the decision was written: %v %v", err, ns.DeletionTimestamp)
	}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: "subdomain-system", Name: "putusan"}, &dnsv1.DNSEndpoint{}); err != nil {
		t.Fatalf("the DNSEndpoint was deleted before the decision was written: %v", err)
	}
	editRequest(t, "putusan", func(r *sdv1.SubdomainRequest) { r.Spec.DeletionPolicy = sdv1.DeletionPolicyRetain })
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "putusan"}})
	lift()
	if err := k8s.Get(ctx, types.NamespacedName{Name: "opd-putusan"}, ns); err != nil || !ns.DeletionTimestamp.IsZero() {
		t.Errorf("Retain: the namespace must stay: %v %v", err, ns.DeletionTimestamp)
	}
	for _, name := range []string{"putusan.putusan.go.id", addressClaim} {
		if err := k8s.Get(ctx, types.NamespacedName{Name: name}, &sdv1.SubdomainClaim{}); err != nil {
			t.Errorf("Retain: claim %s must stay: %v", name, err)
		}
	}
	entries := ledgerOf(t, "putusan", "putusan")
	if n := countEntries(entries, sdv1.LedgerRetained, func(sdv1.LedgerEntry) string { return "" })[""]; n != 1 ||
		slices.ContainsFunc(entries, func(e sdv1.LedgerEntry) bool { return e.Type == sdv1.LedgerDeleted }) {
		t.Errorf("want one Retained entry and no Deleted one: %+v", entries)
	}
}

// TestFinalizerRemovedByHand: a request whose finalizer someone removed by hand (tired
// of a deletion waiting for the window, say) goes without the operator's deletion. Its
// claims are released once garbage collection has deleted what it made, and the ledger
// records the deletion; before, both claims stayed held for good by a request that no
// longer existed, and the annual report kept the site active.
func TestFinalizerRemovedByHand(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("lepasfin", "lepasfin.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.177.0.0/24"}
		z.Spec.ChangeWindow = closedWindow()
	}))
	create(t, newRequest("tanpafin", "lepasfin", "tanpafin", approved("kadis")))
	r := waitPhase(t, "tanpafin", sdv1.PhaseReady)
	addressClaim := naming.AddressClaimName(netip.MustParseAddr(r.Status.Address))
	if err := k8s.Delete(ctx, r); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, "tanpafin", sdv1.PhaseScheduled)
	// An OPD admin's own Ingress for the name in the hosting namespace, held by a
	// finalizer of the test's, keeps the namespace terminating after garbage
	// collection has reached it: while the namespace stands, the claims stay.
	own := foreignIngress("opd-tanpafin", "situs-admin", "tanpafin.lepasfin.go.id", nil)
	own.Finalizers = []string{"test.kominfo.go.id/hold"}
	create(t, own)
	editRequest(t, "tanpafin", func(r *sdv1.SubdomainRequest) { r.Finalizers = nil })
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "tanpafin"}})
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-tanpafin"}}
	err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(ns), ns)
		return err == nil && !ns.DeletionTimestamp.IsZero(), err
	})
	if err != nil {
		t.Fatalf("garbage collection did not reach the namespace: %v", err)
	}
	waitCached(t, ns)
	waitReconciled(t, "tanpafin", requestReconciles("tanpafin")) // a look of the operator's while it stands
	for _, name := range []string{"tanpafin.lepasfin.go.id", addressClaim} {
		if err := k8s.Get(ctx, types.NamespacedName{Name: name}, &sdv1.SubdomainClaim{}); err != nil {
			t.Fatalf("claim %s went while the gone request's namespace still stood: %v", name, err)
		}
	}
	if err := testenv.Edit(ctx, k8s, own, func(i *networkingv1.Ingress) { i.Finalizers = nil }); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "tanpafin.lepasfin.go.id"}})
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: addressClaim}})
	err = waitForLedger(t, "lepasfin", "tanpafin", func(entries []sdv1.LedgerEntry) bool {
		return slices.ContainsFunc(entries, func(e sdv1.LedgerEntry) bool {
			return e.Type == sdv1.LedgerDeleted && e.FQDN == "tanpafin.lepasfin.go.id" && e.Address == r.Status.Address
		})
	})
	if err != nil {
		t.Errorf("no Deleted entry: %v", err)
	}
	// The name is free again.
	create(t, newRequest("tanpafin2", "lepasfin", "tanpafin", approved("kadis")))
	waitPhase(t, "tanpafin2", sdv1.PhaseReady)
}

// announcing gives a zone the pool cidr and the ingress controller selector that
// makes it announce each address with a LoadBalancer Service.
func announcing(cidr string) func(*sdv1.SubdomainZone) {
	return func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{cidr}
		z.Spec.Ingress.ControllerSelector = map[string]sdv1.LabelValue{"app.kubernetes.io/name": "ingress-nginx"}
	}
}

// announceService plays the load balancer: it waits for request's sdr- Service in
// namespace ns and reports the address the Service asks for as announced.
func announceService(t *testing.T, ns, request string) {
	t.Helper()
	ctx := context.Background()
	svc := &corev1.Service{}
	err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: sdv1.LoadBalancerServicePrefix + request}, svc)
		return err == nil, client.IgnoreNotFound(err)
	})
	if err != nil {
		t.Fatalf("no Service %s%s in %s: %v", sdv1.LoadBalancerServicePrefix, request, ns, err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: svc.Spec.LoadBalancerIP}} //nolint:staticcheck
	if err := k8s.Status().Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
}

// TestLoadBalancerAnnounce: with a controllerSelector the address is requested from the
// cluster's load balancer; AddressAssigned waits until it reports the address.
func TestLoadBalancerAnnounce(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("lb", "lb.go.id", announcing("10.100.0.0/24")))
	create(t, newRequest("rsud", "lb", "rsud", approved("kadis")))
	r := waitFor(t, "rsud", "waiting for the load balancer", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionAddressAssigned).Reason == "WaitingForLoadBalancer"
	})
	if r.Status.Phase != sdv1.PhaseProvisioning || condition(r, sdv1.ConditionReady).Status != metav1.ConditionFalse {
		t.Errorf("not Ready until announced: %s", statusString(r))
	}
	svc := &corev1.Service{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: "ingress-nginx", Name: "sdr-rsud"}, svc); err != nil {
		t.Fatal(err)
	}
	addr := r.Status.Address
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Spec.LoadBalancerIP != addr || //nolint:staticcheck
		svc.Annotations["metallb.io/loadBalancerIPs"] != addr || svc.Annotations["lbipam.cilium.io/ips"] != addr ||
		svc.Spec.Selector["app.kubernetes.io/name"] != "ingress-nginx" || len(svc.Spec.Ports) != 2 ||
		svc.Spec.Ports[0].TargetPort.StrVal != "http" || svc.Spec.Ports[1].Port != 443 {
		t.Errorf("load balancer Service = %+v %v", svc.Spec, svc.Annotations)
	}
	// No node ports: two per request would use up the cluster's range.
	if a := svc.Spec.AllocateLoadBalancerNodePorts; a == nil || *a || svc.Spec.Ports[0].NodePort != 0 || svc.Spec.Ports[1].NodePort != 0 {
		t.Errorf("load balancer Service allocates node ports: %v %+v", a, svc.Spec.Ports)
	}
	// Play the load balancer: report the address in the Service's status.
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: addr}}
	if err := k8s.Status().Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	r = waitPhase(t, "rsud", sdv1.PhaseReady)
	if c := condition(r, sdv1.ConditionAddressAssigned); c.Reason != "Announced" {
		t.Errorf("AddressAssigned = %+v", c)
	}

	// Deleting: Delete takes the Service away (garbage collection), Retain leaves it,
	// no longer owned, announcing the address it keeps.
	create(t, newRequest("rsia", "lb", "rsia", approved("kadis"), func(r *sdv1.SubdomainRequest) {
		r.Spec.DeletionPolicy = sdv1.DeletionPolicyRetain
	}))
	waitFor(t, "rsia", "waiting for the load balancer", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionAddressAssigned).Reason == "WaitingForLoadBalancer"
	})
	kept := &corev1.Service{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: "ingress-nginx", Name: "sdr-rsia"}, kept); err != nil {
		t.Fatal(err)
	}
	kept.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: kept.Spec.LoadBalancerIP}} //nolint:staticcheck
	if err := k8s.Status().Update(ctx, kept); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, "rsia", sdv1.PhaseReady)
	collected := gcSentinel(t, "rsia")
	for _, n := range []string{"rsud", "rsia"} {
		if err := k8s.Delete(ctx, getRequest(t, n)); err != nil {
			t.Fatal(err)
		}
		waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: n}})
	}
	waitGone(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ingress-nginx", Name: "sdr-rsud"}})
	collected()
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(kept), kept); err != nil {
		t.Fatalf("Retain removed the load balancer Service: %v", err)
	}
	if len(kept.OwnerReferences) != 0 || !kept.DeletionTimestamp.IsZero() || len(kept.Status.LoadBalancer.Ingress) != 1 {
		t.Errorf("the retained Service is still owned, being deleted, or no longer announced: %+v %+v", kept.ObjectMeta, kept.Status)
	}
}

// TestZoneMoves: when a zone's ingress.controllerNamespace or dns.namespace changes, the
// request's load balancer Service and DNSEndpoint move: the new ones are made and the
// old ones deleted (the old Service would hold the address against the new one, the
// old record outlive a rename's grace period) - not before the new one is in place: a
// controllerNamespace that does not exist keeps the old Service, and the request says
// why. When the zone stops announcing, the Service goes.
func TestZoneMoves(t *testing.T) {
	ctx := context.Background()
	for _, ns := range []string{"ingress-baru", "dns-baru"} {
		create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	create(t, newZone("pindah", "pindah.go.id", announcing("10.101.0.0/24")))
	create(t, newRequest("rsjiwa", "pindah", "rsjiwa", approved("kadis")))
	announceService(t, "ingress-nginx", "rsjiwa")
	r := waitPhase(t, "rsjiwa", sdv1.PhaseReady)

	// A typo: a namespace that does not exist. The request says so and the Service
	// that announces the address stays where it is (it used to be deleted first, the
	// address withdrawn, and the new one's create then failed NotFound).
	editZone(t, "pindah", func(z *sdv1.SubdomainZone) { z.Spec.Ingress.ControllerNamespace = "ingres-nginx" })
	waitFor(t, "rsjiwa", "the missing controller namespace said", func(r *sdv1.SubdomainRequest) bool {
		c := condition(r, sdv1.ConditionAddressAssigned)
		return c.Reason == "ControllerNamespaceMissing" && strings.Contains(c.Message, "namespace ingres-nginx (SubdomainZone pindah spec.ingress.controllerNamespace) does not exist")
	})
	held := &corev1.Service{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: "ingress-nginx", Name: "sdr-rsjiwa"}, held); err != nil || !held.DeletionTimestamp.IsZero() {
		t.Fatalf("the announcing Service went while the zone named a namespace that does not exist: %v %v", err, held.DeletionTimestamp)
	}
	if _, err := zoneReadyWhen("pindah", func(c metav1.Condition) bool {
		return c.Status == metav1.ConditionFalse && c.Reason == "NamespaceMissing" &&
			strings.Contains(c.Message, "namespace ingres-nginx (spec.ingress.controllerNamespace) does not exist")
	}); err != nil {
		t.Fatalf("the zone never said its controllerNamespace is missing: %v", err)
	}
	// The sites' NetworkPolicy keeps admitting the ingress controller where it runs.
	admits := func(want string) {
		t.Helper()
		np := &networkingv1.NetworkPolicy{}
		if err := k8s.Get(ctx, types.NamespacedName{Namespace: "opd-rsjiwa", Name: sdv1.HostingObjectName}, np); err != nil {
			t.Fatal(err)
		}
		if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].From) != 2 ||
			np.Spec.Ingress[0].From[1].NamespaceSelector.MatchLabels[corev1.LabelMetadataName] != want {
			t.Fatalf("hosting NetworkPolicy %+v, want it to admit namespace %s", np.Spec.Ingress, want)
		}
	}
	admits("ingress-nginx")

	editZone(t, "pindah", func(z *sdv1.SubdomainZone) {
		z.Spec.Ingress.ControllerNamespace, z.Spec.DNS.Namespace = "ingress-baru", "dns-baru"
	})
	waitGone(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ingress-nginx", Name: "sdr-rsjiwa"}})
	waitGone(t, &dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "subdomain-system", Name: "rsjiwa"}})
	ep := &dnsv1.DNSEndpoint{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: "dns-baru", Name: "rsjiwa"}, ep); err != nil ||
		len(ep.Spec.Endpoints) != 1 || ep.Spec.Endpoints[0].DNSName != r.Status.FQDN {
		t.Fatalf("DNSEndpoint in the zone's new dns.namespace: %+v %v", ep.Spec, err)
	}
	announceService(t, "ingress-baru", "rsjiwa")
	r = waitFor(t, "rsjiwa", "announced from the new namespace", func(r *sdv1.SubdomainRequest) bool {
		c := condition(r, sdv1.ConditionAddressAssigned)
		return r.Status.Phase == sdv1.PhaseReady && c.Reason == "Announced" && strings.Contains(c.Message, "ingress-baru/sdr-rsjiwa")
	})
	assertEventNote(t, "rsjiwa", "Moved", "deleted Service ingress-nginx/sdr-rsjiwa")
	if _, err := zoneReadyWhen("pindah", func(c metav1.Condition) bool { return c.Status == metav1.ConditionTrue }); err != nil {
		t.Fatalf("the zone not Ready once its namespaces exist: %v", err)
	}
	admits("ingress-baru")

	// No selector: the zone no longer announces, and the Service goes.
	editZone(t, "pindah", func(z *sdv1.SubdomainZone) { z.Spec.Ingress.ControllerSelector = nil })
	waitGone(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ingress-baru", Name: "sdr-rsjiwa"}})
	r = waitFor(t, "rsjiwa", "no longer announced", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionAddressAssigned).Reason == "Reserved"
	})
	if r.Status.Phase != sdv1.PhaseReady || r.Status.Address == "" {
		t.Errorf("the site keeps its address and stays Ready: %s", statusString(r))
	}
}

// TestZoneNamespaceCreatedLater: a zone naming namespaces that do not exist yet says so
// (Ready False, NamespaceMissing) and, with no event of a namespace that is not the
// operator's to wake it, sees them come within its recheck; its request, waiting for
// the controller namespace on a manager without the suite's short resync, goes on
// at once - not at its retry, minutes later.
func TestZoneNamespaceCreatedLater(t *testing.T) {
	create(t, newZone("nanti", "nanti.go.id", func(z *sdv1.SubdomainZone) {
		announcing("10.178.27.0/24")(z)
		z.Spec.Ingress.ControllerNamespace, z.Spec.DNS.Namespace = "ingress-nanti", "dns-nanti"
	}))
	z, err := zoneReadyWhen("nanti", func(c metav1.Condition) bool {
		return c.Status == metav1.ConditionFalse && c.Reason == "NamespaceMissing" &&
			strings.Contains(c.Message, "namespace ingress-nanti (spec.ingress.controllerNamespace) does not exist") &&
			strings.Contains(c.Message, "namespace dns-nanti (spec.dns.namespace) does not exist")
	})
	if err != nil {
		t.Fatalf("the zone never said its namespaces are missing: %v", err)
	}
	// To kstatus the zone is in progress (the namespaces may come), not failed.
	if c := zoneCondition(z, sdv1.ConditionReconciling); c.Status != metav1.ConditionTrue || c.Reason != "NamespaceMissing" ||
		zoneCondition(z, sdv1.ConditionStalled).Status != "" {
		t.Errorf("zone nanti waiting for its namespaces: %+v", z.Status.Conditions)
	}
	create(t, newRequest("rsnanti", "nanti", "rsnanti", approved("kadis")))
	waitFor(t, "rsnanti", "waiting for a namespace", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionAddressAssigned).Reason == "ControllerNamespaceMissing" ||
			condition(r, sdv1.ConditionDNSReady).Reason == "DNSNamespaceMissing"
	})
	withoutResync(t, "rsnanti")
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "dns-nanti"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ingress-nanti"}})
	z, err = zoneReadyWhen("nanti", func(c metav1.Condition) bool { return c.Status == metav1.ConditionTrue })
	if err != nil {
		t.Fatalf("the zone never saw its namespaces come: %v", err)
	}
	if len(z.Status.Conditions) != 1 {
		t.Errorf("zone nanti Ready keeps other conditions: %+v", z.Status.Conditions)
	}
	waitFor(t, "rsnanti", "its Service made once the namespaces came", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionAddressAssigned).Reason == "WaitingForLoadBalancer"
	})
	// The load balancer announces it: the request ends Ready, as the suite's later
	// steady-state check wants every request settled.
	announceService(t, "ingress-nanti", "rsnanti")
	waitPhase(t, "rsnanti", sdv1.PhaseReady)
}

// TestSteadyStateWrites: once everything is Ready the operator writes nothing, over
// informer resyncs (every 5 s in this suite) and after a restart.
func TestSteadyStateWrites(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("quiet", "quiet.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.110.0.0/24"}
		z.Spec.Ingress.ClusterIssuer = "letsencrypt"
	}))
	for _, n := range []string{"satpolpp", "inspektorat", "bapenda"} {
		create(t, newRequest(n, "quiet", n, approved("kadis")))
	}
	for _, n := range []string{"satpolpp", "inspektorat", "bapenda"} {
		waitPhase(t, n, sdv1.PhaseReady)
	}
	// Wait until every request of the whole suite has settled.
	err := testenv.Eventually(ctx, 2*timeout, time.Second, func() (bool, error) {
		list := &sdv1.SubdomainRequestList{}
		if err := k8s.List(ctx, list); err != nil {
			return false, err
		}
		for _, r := range list.Items {
			if !r.DeletionTimestamp.IsZero() || r.Status.Phase == sdv1.PhaseProvisioning || r.Status.ObservedGeneration != r.Generation {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // let in-flight reconciles finish
	check := func(what string) {
		t.Helper()
		start := writes.Count()
		time.Sleep(12 * time.Second) // two resync periods
		if w := writes.Since(start); len(w) != 0 {
			t.Errorf("%s: the operator wrote %d times at steady state: %v", what, len(w), w)
		}
	}
	check("resync")
	stopManager()
	list := &sdv1.SubdomainRequestList{}
	if err := k8s.List(ctx, list); err != nil {
		t.Fatal(err)
	}
	marks := map[string]int{}
	for _, r := range list.Items {
		marks[r.Name] = requestReconciles(r.Name)
	}
	start := writes.Count()
	if err := startManager(); err != nil {
		t.Fatal(err)
	}
	// The new manager reconciles every request once it has synced: wait for each.
	for name, mark := range marks {
		waitReconciled(t, name, mark)
	}
	check("restart") // and two resync periods after it
	if w := writes.Since(start); len(w) != 0 {
		t.Errorf("restart: the operator wrote %d times: %v", len(w), w)
	}
}

// TestRefusedChild: a child that the API server refuses as invalid (422) - here a
// cluster's admission policy refusing, by reason Invalid, a Service selecting on a
// label the zone names (values a Service's own validation refuses, the CRD refuses
// first: TestValidation) - makes the request Failed, quoting the refusal, instead of
// retrying an unexplained error; fixing the zone lets it go on.
func TestRefusedChild(t *testing.T) {
	ctx := context.Background()
	invalid := metav1.StatusReasonInvalid
	refusingPolicy(t, "test-no-tier-selector", "services",
		[]admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		admissionregistrationv1.Validation{
			Expression: "!has(object.spec.selector) || !('tier' in object.spec.selector)",
			Message:    "spec.selector: Invalid value: a load balancer may not select on tier here",
			Reason:     &invalid,
		}, nil)
	// The policy is in force once it refuses a dry run of the test's own.
	probe := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ingress-nginx", Name: "probe-tier"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"tier": "edge"}, Ports: []corev1.ServicePort{{Port: 80}}}}
	if err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		return apierrors.IsInvalid(k8s.Create(ctx, probe.DeepCopy(), client.DryRunAll)), nil
	}); err != nil {
		t.Fatalf("the test policy never refused: %v", err)
	}

	create(t, newZone("lbbad", "lbbad.go.id", func(z *sdv1.SubdomainZone) {
		z.Spec.AddressPool = []string{"10.102.0.0/24"}
		z.Spec.Ingress.ControllerSelector = map[string]sdv1.LabelValue{"app": "ingress-nginx", "tier": "edge"}
	}))
	create(t, newRequest("rsbad", "lbbad", "rsbad", approved("kadis")))
	r := waitPhase(t, "rsbad", sdv1.PhaseFailed)
	c := condition(r, sdv1.ConditionAddressAssigned)
	if c.Status != metav1.ConditionFalse || c.Reason != "ChildRefused" ||
		!strings.Contains(c.Message, `the API server refused Service ingress-nginx/sdr-rsbad`) || !strings.Contains(c.Message, "may not select on tier") {
		t.Errorf("AddressAssigned = %+v", c)
	}
	if s := condition(r, sdv1.ConditionStalled); s.Status != metav1.ConditionTrue || s.Reason != "ChildRefused" {
		t.Errorf("Stalled = %+v", s)
	}
	editZone(t, "lbbad", func(z *sdv1.SubdomainZone) {
		z.Spec.Ingress.ControllerSelector = map[string]sdv1.LabelValue{"app": "ingress-nginx"}
	})
	waitFor(t, "rsbad", "waiting for the load balancer", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionAddressAssigned).Reason == "WaitingForLoadBalancer"
	})
}

// TestIPv6SingleAddressPool: a zone whose pool is one IPv6 address ending in "::" (a
// /128) serves it: the address claim's name gets a final 0 (a name may not end in '-'),
// and the record is AAAA.
func TestIPv6SingleAddressPool(t *testing.T) {
	create(t, newZone("v6z", "v6z.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"fd00:77::/128"} }))
	create(t, newRequest("rsv6", "v6z", "rsv6", approved("kadis")))
	r := waitPhase(t, "rsv6", sdv1.PhaseReady)
	if r.Status.Address != "fd00:77::" {
		t.Errorf("address %q", r.Status.Address)
	}
	c := &sdv1.SubdomainClaim{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Name: "ip-fd00-77--0"}, c); err != nil || c.Spec.Request != "rsv6" {
		t.Errorf("address claim: %v %+v", err, c.Spec)
	}
	if got := recordsOf(t, "rsv6"); !slices.Equal(got, []string{"AAAA rsv6.v6z.go.id fd00:77::"}) {
		t.Errorf("records %v", got)
	}
}

// TestOrphanDeletion: a deletion that asks to orphan the request's objects
// (kubectl delete --cascade=orphan) leaves them, with deletionPolicy Delete too: it is
// carried out as Retain, so the claims stay with the objects still serving them and
// the address is not handed to another request while the left DNS record points at it.
func TestOrphanDeletion(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("orphz", "orphz.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.103.0.0/24"} }))
	create(t, newRequest("rsorphan", "orphz", "rsorphan", approved("kadis")))
	r := waitPhase(t, "rsorphan", sdv1.PhaseReady)
	if err := k8s.Delete(ctx, r, client.PropagationPolicy(metav1.DeletePropagationOrphan)); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "rsorphan"}})
	for _, o := range []client.Object{
		&sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "rsorphan.orphz.go.id"}},
		&sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: naming.AddressClaimName(netip.MustParseAddr(r.Status.Address))}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-rsorphan"}},
		&dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "subdomain-system", Name: "rsorphan"}},
	} {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil || !o.GetDeletionTimestamp().IsZero() {
			t.Errorf("%T %s after an orphaning deletion: %v (deleting: %v)", o, o.GetName(), err, o.GetDeletionTimestamp())
		}
	}
	// The next request of the zone gets another address.
	create(t, newRequest("rsorphan2", "orphz", "rsorphan2", approved("kadis")))
	if r2 := waitPhase(t, "rsorphan2", sdv1.PhaseReady); r2.Status.Address == r.Status.Address {
		t.Errorf("the left record's address %s was handed out again", r.Status.Address)
	}
}

// TestRetainKeepsRelabelledChildren: Retain keeps what the request made even when
// someone took the request's label off it (an OPD admin may edit its namespace's
// objects): garbage collection follows owner references, not labels, so the Secret and
// the Ingress must be disowned all the same, and keep the password.
func TestRetainKeepsRelabelledChildren(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("simpan", "simpan.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.160.0.0/24"} }))
	create(t, newRequest("arsiprtn", "simpan", "arsiprtn", approved("kadis"), func(r *sdv1.SubdomainRequest) {
		r.Spec.DeletionPolicy = sdv1.DeletionPolicyRetain
	}))
	r := waitPhase(t, "arsiprtn", sdv1.PhaseReady)
	pw := password(t, "opd-arsiprtn")
	ingress := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-arsiprtn", Name: "arsiprtn"}}
	claims := []client.Object{
		&sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "arsiprtn.simpan.go.id"}},
		&sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: naming.AddressClaimName(netip.MustParseAddr(r.Status.Address))}},
	}
	objs := []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-arsiprtn", Name: sdv1.CredentialsSecretName}},
		ingress, claims[0], claims[1],
	}
	// With the operator stopped, so that it cannot put the labels back first (it does
	// for a live request: TestUnlabelledChildren), and the deletion is what it sees.
	stopManager()
	for _, o := range objs {
		if err := k8s.Patch(ctx, o, client.RawPatch(types.JSONPatchType,
			[]byte(`[{"op":"remove","path":"/metadata/labels/subdomain.kominfo.go.id~1request"}]`))); err != nil {
			t.Fatal(err)
		}
	}
	collected := gcSentinel(t, "arsiprtn")
	if err := k8s.Delete(ctx, getRequest(t, "arsiprtn")); err != nil {
		t.Fatal(err)
	}
	if err := startManager(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "arsiprtn"}})
	collected()
	for _, o := range objs {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			t.Errorf("Retain lost %T %s: %v", o, o.GetName(), err)
			continue
		}
		if len(o.GetOwnerReferences()) != 0 || !o.GetDeletionTimestamp().IsZero() {
			t.Errorf("%T %s is still owned or being deleted: %+v", o, o.GetName(), o.GetOwnerReferences())
		}
	}
	if password(t, "opd-arsiprtn") != pw {
		t.Error("the retained password changed")
	}
	// The claims, their labels taken off too, were found by spec.request and marked
	// as the Retain deletion's: they stay when the retained site is removed by hand.
	for _, c := range claims {
		if c.GetAnnotations()[sdv1.AnnotationRetained] == "" {
			t.Errorf("claim %s is not marked retained: %v", c.GetName(), c.GetAnnotations())
		}
	}
	if err := k8s.Delete(ctx, ingress); err != nil {
		t.Fatal(err)
	}
	record := &dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "subdomain-system", Name: "arsiprtn"}}
	if err := k8s.Delete(ctx, record); err != nil {
		t.Fatal(err)
	}
	// Nothing marks the end of the operator's look at a gone request whose objects
	// were disowned: watch the claims for a while (unmarked, they went within moments).
	for range 30 {
		for _, c := range claims {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(c), c); err != nil {
				t.Fatalf("the retained claim %s went with the site: %v", c.GetName(), err)
			}
		}
		time.Sleep(interval)
	}
}

// TestUnlabelledChildren: an object the request created stays its own when someone
// takes the request's label off (the cache, scoped by the label, no longer shows it):
// the label is put back and upkeep goes on, and a deletion still deletes such a
// namespace and DNSEndpoint before it releases the claims. Before, the request went to
// Conflict over its own objects.
func TestUnlabelledChildren(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("copot", "copot.go.id", announcing("10.171.0.0/24"), func(z *sdv1.SubdomainZone) {
		z.Spec.ChangeWindow = closedWindow() // creation is not held; the deletion below is
	}))
	create(t, newRequest("copot", "copot", "copot", approved("kadis")))
	r := waitFor(t, "copot", "waiting for the load balancer", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionAddressAssigned).Reason == "WaitingForLoadBalancer"
	})
	lb := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ingress-nginx", Name: "sdr-copot"}}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(lb), lb); err != nil {
		t.Fatal(err)
	}
	lb.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: r.Status.Address}} // play the load balancer
	if err := k8s.Status().Update(ctx, lb); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, "copot", sdv1.PhaseReady)
	before := password(t, "opd-copot")
	unlabel := func(obj client.Object) {
		t.Helper()
		if err := testenv.Edit(ctx, k8s, obj, func(o client.Object) {
			l := o.GetLabels()
			delete(l, sdv1.LabelRequest)
			o.SetLabels(l)
		}); err != nil {
			t.Fatal(err)
		}
	}
	children := []client.Object{
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-copot", Name: sdv1.AdminRoleBindingName}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-copot", Name: sdv1.CredentialsSecretName}},
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-copot", Name: "copot"}},
	}
	for _, obj := range children {
		unlabel(obj)
	}
	for _, obj := range children {
		err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
			err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj)
			return err == nil && obj.GetLabels()[sdv1.LabelRequest] == "copot", err
		})
		if err != nil {
			t.Fatalf("%T %s: label not put back: %v\n%s", obj, obj.GetName(), err, statusString(getRequest(t, "copot")))
		}
	}
	// Upkeep goes on: a deleted DNSEndpoint is made again.
	ep := &dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "subdomain-system", Name: "copot"}}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(ep), ep); err != nil {
		t.Fatal(err)
	}
	old := ep.UID
	if err := k8s.Delete(ctx, ep); err != nil {
		t.Fatal(err)
	}
	err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(ep), ep)
		return err == nil && ep.UID != old, client.IgnoreNotFound(err)
	})
	if err != nil {
		t.Fatalf("DNSEndpoint not made again: %v\n%s", err, statusString(getRequest(t, "copot")))
	}
	r = waitPhase(t, "copot", sdv1.PhaseReady)
	if c := condition(r, sdv1.ConditionHostingReady); c.Status != metav1.ConditionTrue {
		t.Errorf("HostingReady: %+v", c)
	}
	if after := password(t, "opd-copot"); after != before {
		t.Error("the password changed")
	}

	// A deletion held by the window; meanwhile the namespace, the DNSEndpoint and the
	// load balancer Service lose the label. When the window opens all are deleted
	// before the claims go.
	hold := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-copot", Name: "hold", Finalizers: []string{"test.kominfo.go.id/hold"}}}
	create(t, hold)
	if err := k8s.Delete(ctx, r); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, "copot", sdv1.PhaseScheduled)
	unlabel(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "opd-copot"}})
	unlabel(ep)
	unlabel(lb)
	setWindow(t, "copot", openWindow())
	waitFor(t, "copot", "waiting for its namespace's deletion", func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Phase == sdv1.PhaseTerminating && condition(r, sdv1.ConditionReady).Reason == "DeletingNamespace"
	})
	mustNotExist(t, &dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "subdomain-system", Name: "copot"}})
	mustNotExist(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ingress-nginx", Name: "sdr-copot"}})
	if err := k8s.Get(ctx, types.NamespacedName{Name: "copot.copot.go.id"}, &sdv1.SubdomainClaim{}); err != nil {
		t.Errorf("the name's claim went before the namespace: %v", err)
	}
	if err := testenv.Edit(ctx, k8s, hold, func(c *corev1.ConfigMap) { c.Finalizers = nil }); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "copot"}})
	mustNotExist(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "copot.copot.go.id"}})
}

// TestLoadBalancerIPv6: a zone's IPv6 pool gets load balancer Services of its family.
// Left to the API server a Service takes the cluster's first family (IPv4 here, the
// test control plane being dual-stack as most clusters), and a load balancer refuses
// an IPv6 address for it: the request waited for it for good.
func TestLoadBalancerIPv6(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("lbv6", "lbv6.go.id", announcing("fd00:78::/120")))
	create(t, newRequest("rsv6lb", "lbv6", "rsv6lb", approved("kadis")))
	r := waitFor(t, "rsv6lb", "waiting for the load balancer", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionAddressAssigned).Reason == "WaitingForLoadBalancer"
	})
	svc := &corev1.Service{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: "ingress-nginx", Name: "sdr-rsv6lb"}, svc); err != nil {
		t.Fatal(err)
	}
	if p := svc.Spec.IPFamilyPolicy; !slices.Equal(svc.Spec.IPFamilies, []corev1.IPFamily{corev1.IPv6Protocol}) || p == nil || *p != corev1.IPFamilyPolicySingleStack ||
		!strings.Contains(svc.Spec.ClusterIP, ":") {
		t.Errorf("the Service for %s: families %v, policy %v, cluster IP %s; want IPv6 alone", r.Status.Address, svc.Spec.IPFamilies, p, svc.Spec.ClusterIP)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: r.Status.Address}}
	if err := k8s.Status().Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, "rsv6lb", sdv1.PhaseReady)

	// A Service of the other family, as an earlier version made it, is made anew: its
	// first family never changes (the API server refuses it), so a patch would be
	// refused for good. Made while the operator is stopped, in place of its own.
	create(t, newZone("lbv6lama", "lbv6lama.go.id", announcing("fd00:79::/120")))
	create(t, newRequest("rsv6lama", "lbv6lama", "rsv6lama", approved("kadis")))
	r = waitFor(t, "rsv6lama", "waiting for the load balancer", func(r *sdv1.SubdomainRequest) bool {
		return condition(r, sdv1.ConditionAddressAssigned).Reason == "WaitingForLoadBalancer"
	})
	key := types.NamespacedName{Namespace: "ingress-nginx", Name: "sdr-rsv6lama"}
	stopManager()
	if err := k8s.Delete(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}})
	old := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name,
		Labels: map[string]string{sdv1.LabelRequest: "rsv6lama"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: sdv1.GroupVersion.String(), Kind: "SubdomainRequest", Name: r.Name, UID: r.UID,
			Controller: new(true), BlockOwnerDeletion: new(true)}}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: lbTestPorts(), IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol}}}
	create(t, old)
	if err := startManager(); err != nil {
		t.Fatal(err)
	}
	err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
		got := &corev1.Service{}
		if err := k8s.Get(ctx, key, got); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return got.UID != old.UID && slices.Equal(got.Spec.IPFamilies, []corev1.IPFamily{corev1.IPv6Protocol}), nil
	})
	if err != nil {
		t.Errorf("the IPv4 Service of rsv6lama was not made anew for its IPv6 address: %v; %s", err, statusString(getRequest(t, "rsv6lama")))
	}
}

// lbTestPorts are ports 80/443 to the controller's http/https.
func lbTestPorts() []corev1.ServicePort {
	return []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}, {Name: "https", Port: 443, TargetPort: intstr.FromString("https")}}
}

// TestFinalizerRemovedWhileDown: a request whose finalizer was removed by hand while no
// operator ran, and whose children garbage collection took before one started again,
// has its claims released by the next operator: it sees the claims of a request it
// does not know when it starts. Before, nothing brought the gone request's name to a
// reconcile (no event of it or of its children came), and both claims stayed held for
// good.
func TestFinalizerRemovedWhileDown(t *testing.T) {
	ctx := context.Background()
	create(t, newZone("sapubangun", "sapubangun.go.id", func(z *sdv1.SubdomainZone) { z.Spec.AddressPool = []string{"10.178.21.0/24"} }))
	create(t, newRequest("sapubangun", "sapubangun", "sapubangun", approved("kadis")))
	r := waitPhase(t, "sapubangun", sdv1.PhaseReady)
	addressClaim := naming.AddressClaimName(netip.MustParseAddr(r.Status.Address))
	stopManager()
	running := false
	t.Cleanup(func() {
		if !running {
			if err := startManager(); err != nil {
				t.Error(err)
			}
		}
	})
	if err := testenv.Edit(ctx, k8s, r, func(r *sdv1.SubdomainRequest) { r.Finalizers = nil }); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Delete(ctx, r); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
	// Garbage collection takes what it made while no operator runs.
	for _, o := range []client.Object{
		&sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "sapubangun"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.Status.Namespace}},
		&dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "subdomain-system", Name: "sapubangun"}},
	} {
		err := testenv.Eventually(ctx, timeout, interval, func() (bool, error) {
			err := k8s.Get(ctx, client.ObjectKeyFromObject(o), o)
			return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
		})
		if err != nil {
			t.Fatalf("%T %s did not go: %v", o, o.GetName(), err)
		}
	}
	for _, name := range []string{"sapubangun.sapubangun.go.id", addressClaim} {
		if err := k8s.Get(ctx, types.NamespacedName{Name: name}, &sdv1.SubdomainClaim{}); err != nil {
			t.Fatalf("claim %s went with no operator running: %v", name, err)
		}
	}
	if err := startManager(); err != nil {
		t.Fatal(err)
	}
	running = true
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: "sapubangun.sapubangun.go.id"}})
	waitGone(t, &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: addressClaim}})
	err := waitForLedger(t, "sapubangun", "sapubangun", func(entries []sdv1.LedgerEntry) bool {
		return slices.ContainsFunc(entries, func(e sdv1.LedgerEntry) bool {
			return e.Type == sdv1.LedgerDeleted && e.FQDN == "sapubangun.sapubangun.go.id"
		})
	})
	if err != nil {
		t.Errorf("no Deleted entry: %v", err)
	}
}
