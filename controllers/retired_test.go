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
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/naming"
)

// TestRetiredNameStillServed: an old name whose grace period ended keeps its claim
// while the request's Ingress, as the API server has it, still carries it - one made
// moments ago that the cache (here: empty indexes) does not show yet - and is released
// once it no longer does. A table test of the step; the release path itself runs
// against the real API server in the rename tests.
func TestRetiredNameStillServed(t *testing.T) {
	sch := testScheme(t)
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	const oldName, newName = "lama.z.go.id", "baru.z.go.id"
	req := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "r", UID: "uid-r"},
		Spec: sdv1.SubdomainRequestSpec{Zone: "z", Subdomain: "baru"},
		Status: sdv1.SubdomainRequestStatus{FQDN: newName, PreviousNames: []sdv1.PreviousName{{FQDN: oldName,
			RetiredAt: metav1.NewTime(now.Add(-2 * time.Hour)), ExpiresAt: metav1.NewTime(now.Add(-time.Minute))}}}}
	claim := &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: naming.FQDNClaimName(oldName), UID: "uid-claim",
		Labels: map[string]string{sdv1.LabelRequest: "r", sdv1.LabelRequestUID: "uid-r"}},
		Spec: sdv1.SubdomainClaimSpec{Type: sdv1.ClaimTypeFQDN, Value: oldName, Zone: "z", Request: "r"}}
	ingress := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-r", Name: "r",
		Labels:          map[string]string{sdv1.LabelRequest: "r"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: sdv1.GroupVersion.String(), Kind: "SubdomainRequest", Name: "r", UID: "uid-r", Controller: ptr.To(true)}}},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: newName}, {Host: oldName}}}}
	c := fake.NewClientBuilder().WithScheme(sch).WithObjects(claim, ingress).Build()
	empty := func(f toolscache.IndexFunc) toolscache.Indexer {
		return toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{servedNames: f})
	}
	r := &SubdomainRequestReconciler{Client: c, APIReader: c, Scheme: sch,
		ingressHosts: empty(ingressServedNames), dnsNames: empty(recordServedNames)}
	zone := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "z"}, Spec: sdv1.SubdomainZoneSpec{Domain: "z.go.id",
		DNS: sdv1.ZoneDNS{Namespace: "subdomain-system"}}}
	ctx := context.Background()
	pass := func() *requestScope {
		t.Helper()
		s := &requestScope{req: req.DeepCopy(), zone: zone, now: now, namespace: "opd-r", label: "baru", fqdn: newName}
		if _, err := r.releaseRetiredNames(ctx, s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	claimThere := func() bool {
		err := c.Get(ctx, types.NamespacedName{Name: claim.Name}, &sdv1.SubdomainClaim{})
		return err == nil
	}

	s := pass()
	if !claimThere() || s.req.Status.PreviousNames[0].Released {
		t.Fatalf("released while the live Ingress serves it: claim there %v, status %+v", claimThere(), s.req.Status.PreviousNames)
	}
	if s.requeueAfter <= 0 || s.requeueAfter > cacheLagRetry {
		t.Errorf("no look again soon: requeueAfter %s", s.requeueAfter)
	}

	// The Ingress drops the name: the next pass releases it.
	ingress.Spec.Rules = ingress.Spec.Rules[:1]
	if err := c.Update(ctx, ingress); err != nil {
		t.Fatal(err)
	}
	s = pass()
	if claimThere() || !s.req.Status.PreviousNames[0].Released {
		t.Errorf("not released once no longer served: claim there %v, status %+v", claimThere(), s.req.Status.PreviousNames)
	}
}
