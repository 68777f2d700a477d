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
	"errors"
	"slices"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/reconcileerr"
)

// countingReader counts the lists that reach "the API server".
type countingReader struct {
	client.Reader
	lists int
}

func (c *countingReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	c.lists++
	return c.Reader.List(ctx, list, opts...)
}

// TestAllocateReadsTheAPIServerOnlyWhenUnsure is a table test of allocate alone, with
// fake clients standing for a cache that lags and for the API server. (Allocation's
// behaviour against a real API server is tested by the controllers suite and by
// test/faults, whose API server crash first showed the lost-response case.) Each case
// allocates for one request several times; the cache never shows the claims the
// reconciler creates unless the case copies them there.
func TestAllocateReadsTheAPIServerOnlyWhenUnsure(t *testing.T) {
	scheme := testScheme(t)
	zone := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "z"},
		Spec: sdv1.SubdomainZoneSpec{Domain: "z.go.id", AddressPool: []string{"10.0.0.0/29"}}}
	lost := errors.New("http2: client connection lost")

	type step struct {
		loseResponse bool // the create reaches the API server, its response does not
		syncCache    bool // before allocating, the cache catches up with the API server
		wantErr      bool
		wantLists    int // live lists so far
	}
	cases := []struct {
		name  string
		steps []step
		// leaderBefore: another process (the leader before this one) claimed the
		// pool's first address for the request; the API server has it, the cache not.
		leaderBefore bool
	}{
		{"a new request's allocation reads only the cache", []step{{wantLists: 0}}, false},
		{"the cache lags behind a claim this process made", []step{{wantLists: 0}, {wantLists: 1}, {wantLists: 2}}, false},
		{"the create's response was lost", []step{{loseResponse: true, wantErr: true, wantLists: 0}, {wantLists: 1}}, false},
		{"once the cache shows the claim, no more live reads", []step{{wantLists: 0}, {syncCache: true, wantLists: 0}, {wantLists: 0}}, false},
		{"a new leader's cache lags behind the old leader's claim", []step{{wantLists: 0}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			// The API server selects claims by spec.request (the CRD's selectable field).
			server := fake.NewClientBuilder().WithScheme(scheme).WithObjects(zone.DeepCopy()).
				WithIndex(&sdv1.SubdomainClaim{}, indexClaimRequest, claimRequest).Build()
			cache := fake.NewClientBuilder().WithScheme(scheme).WithObjects(zone.DeepCopy()).
				WithIndex(&sdv1.SubdomainClaim{}, indexClaimRequest, claimRequest).Build()
			loseResponse := false
			// Writes go to the API server; the cache only shows them when synced.
			c := interceptor.NewClient(cache, interceptor.Funcs{
				Create: func(ctx context.Context, _ client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
					if err := server.Create(ctx, obj, opts...); err != nil {
						return err
					}
					if loseResponse {
						return lost
					}
					return nil
				},
			})
			apiReader := &countingReader{Reader: server}
			r := &SubdomainRequestReconciler{Client: c, APIReader: apiReader,
				published: toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{publishedAddresses: requestAddress}),
				zones:     toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{indexSharedAddress: zoneSharedAddress})}
			s := &requestScope{zone: zone, req: &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "dinkes", UID: "uid-dinkes"}}}
			var first string
			if tc.leaderBefore {
				if err := server.Create(ctx, newClaim(s, sdv1.ClaimTypeAddress, "10.0.0.1", "ip-10-0-0-1")); err != nil {
					t.Fatal(err)
				}
				first = "10.0.0.1"
			}
			for i, st := range tc.steps {
				if st.syncCache {
					claims := &sdv1.SubdomainClaimList{}
					if err := server.List(ctx, claims); err != nil {
						t.Fatal(err)
					}
					for _, cl := range claims.Items {
						cl.ResourceVersion = ""
						if err := cache.Create(ctx, &cl); err != nil {
							t.Fatal(err)
						}
					}
				}
				loseResponse = st.loseResponse
				a, err := r.allocate(ctx, s)
				if (err != nil) != st.wantErr {
					t.Fatalf("step %d: err %v, want error %v", i, err, st.wantErr)
				}
				if err == nil {
					if first == "" {
						first = a.String()
					} else if a.String() != first {
						t.Errorf("step %d: allocated %s, then %s", i, first, a)
					}
				}
				if apiReader.lists != st.wantLists {
					t.Errorf("step %d: %d live lists of the request's claims, want %d", i, apiReader.lists, st.wantLists)
				}
			}
			claims := &sdv1.SubdomainClaimList{}
			if err := server.List(ctx, claims); err != nil {
				t.Fatal(err)
			}
			if len(claims.Items) != 1 {
				var names []string
				for _, cl := range claims.Items {
					names = append(names, cl.Name)
				}
				t.Errorf("the request holds %d address claims %v, want 1", len(claims.Items), names)
			}
		})
	}
}

// TestForeignHolderStable: with several foreign objects serving a name, the holder
// named is the same on every call (the index's order is a map's), or the condition's
// message, and a status write, would change on every reconcile. The request's own
// Ingress is never a foreign holder.
func TestForeignHolderStable(t *testing.T) {
	ingresses := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{servedNames: ingressServedNames})
	dns := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{servedNames: recordServedNames})
	ing := func(ns, name, owner string) *networkingv1.Ingress {
		i := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if owner != "" {
			i.Labels = map[string]string{sdv1.LabelRequest: owner}
		}
		i.Spec.Rules = []networkingv1.IngressRule{{Host: "dinkes.pontianak.go.id"}}
		return i
	}
	for _, o := range []*networkingv1.Ingress{ing("opd-dinkes", "dinkes", "dinkes"), ing("zz", "late", ""), ing("legacy", "b", ""), ing("legacy", "a", ""), ing("mm", "x", "other")} {
		if err := ingresses.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	r := &SubdomainRequestReconciler{Scheme: testScheme(t), ingressHosts: ingresses, dnsNames: dns}
	s := &requestScope{req: &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "dinkes"}}, fqdn: "dinkes.pontianak.go.id"}
	want := `Ingress legacy/a (not created by subdomain-operator)`
	for range 50 {
		got, err := r.foreignHolder(s)
		if err != nil || got != want {
			t.Fatalf("foreignHolder = %q, %v; want %q every time", got, err, want)
		}
	}
}

// TestReleaseStrayNames is a table test of releaseStrayNames alone, with fake clients
// standing for a cache that lags and for the API server (the controllers suite's
// TestRenameBeforeReady tests the behaviour against a real one). The cache never shows
// the claims; only what the step remembers, or is told was dropped, finds them.
func TestReleaseStrayNames(t *testing.T) {
	scheme := testScheme(t)
	zone := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "z"}, Spec: sdv1.SubdomainZoneSpec{Domain: "z.go.id",
		DNS: sdv1.ZoneDNS{Namespace: "subdomain-system"}}}
	req := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "dlh", UID: "uid-now"}}
	claim := func(fqdn, uid string) *sdv1.SubdomainClaim {
		return &sdv1.SubdomainClaim{ObjectMeta: metav1.ObjectMeta{Name: fqdn, Labels: map[string]string{sdv1.LabelRequestUID: uid}},
			Spec: sdv1.SubdomainClaimSpec{Type: sdv1.ClaimTypeFQDN, Value: fqdn, Zone: "z", Request: "dlh"}}
	}
	ingress := func(hosts ...string) *networkingv1.Ingress {
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-dlh", Name: "dlh",
			Labels: map[string]string{sdv1.LabelRequest: "dlh"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: sdv1.GroupVersion.String(), Kind: "SubdomainRequest",
				Name: "dlh", UID: req.UID, Controller: ptr.To(true)}}}}
		for _, h := range hosts {
			ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: h})
		}
		return ing
	}
	type pass struct {
		dropped  string
		ingress  []string // the hosts of the request's Ingress on the API server during the pass
		previous []string // status.previousNames
		want     []string // claims left on the API server after the pass
	}
	cases := []struct {
		name   string
		claims []*sdv1.SubdomainClaim
		passes []pass
	}{
		{"a dropped name still on the Ingress keeps its claim, then goes when the Ingress drops it",
			[]*sdv1.SubdomainClaim{claim("new.z.go.id", "uid-now"), claim("old.z.go.id", "uid-now")},
			[]pass{
				{dropped: "old.z.go.id", ingress: []string{"old.z.go.id"}, want: []string{"new.z.go.id", "old.z.go.id"}},
				{ingress: []string{"old.z.go.id"}, want: []string{"new.z.go.id", "old.z.go.id"}},
				{ingress: []string{"new.z.go.id"}, want: []string{"new.z.go.id"}},
			}},
		{"a dropped name nothing serves goes at once",
			[]*sdv1.SubdomainClaim{claim("new.z.go.id", "uid-now"), claim("old.z.go.id", "uid-now")},
			[]pass{{dropped: "old.z.go.id", want: []string{"new.z.go.id"}}}},
		{"a claim of an earlier request of the same name (deleted with Retain) is never given back",
			[]*sdv1.SubdomainClaim{claim("new.z.go.id", "uid-now"), claim("old.z.go.id", "uid-before")},
			[]pass{{dropped: "old.z.go.id", want: []string{"new.z.go.id", "old.z.go.id"}}}},
		{"a name in previousNames keeps its claim",
			[]*sdv1.SubdomainClaim{claim("new.z.go.id", "uid-now"), claim("old.z.go.id", "uid-now")},
			[]pass{{dropped: "old.z.go.id", previous: []string{"old.z.go.id"}, want: []string{"new.z.go.id", "old.z.go.id"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			server := fake.NewClientBuilder().WithScheme(scheme).WithIndex(&sdv1.SubdomainClaim{}, indexClaimRequest, claimRequest).Build()
			for _, c := range tc.claims {
				if err := server.Create(ctx, c.DeepCopy()); err != nil {
					t.Fatal(err)
				}
			}
			cache := fake.NewClientBuilder().WithScheme(scheme).WithIndex(&sdv1.SubdomainClaim{}, indexClaimRequest, claimRequest).Build()
			// Deletes go to the API server; the cache shows nothing.
			c := interceptor.NewClient(cache, interceptor.Funcs{
				Delete: func(ctx context.Context, _ client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
					return server.Delete(ctx, obj, opts...)
				},
			})
			empty := func(fn toolscache.IndexFunc) toolscache.Indexer {
				return toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{servedNames: fn})
			}
			r := &SubdomainRequestReconciler{Client: c, APIReader: server,
				ingressHosts: empty(ingressServedNames), dnsNames: empty(recordServedNames)}
			for i, p := range tc.passes {
				_ = server.Delete(ctx, ingress())
				if len(p.ingress) > 0 {
					if err := server.Create(ctx, ingress(p.ingress...)); err != nil {
						t.Fatal(err)
					}
				}
				s := &requestScope{req: req.DeepCopy(), zone: zone, namespace: "opd-dlh"}
				s.req.Status.FQDN = "new.z.go.id"
				for _, prev := range p.previous {
					s.req.Status.PreviousNames = append(s.req.Status.PreviousNames, sdv1.PreviousName{FQDN: prev})
				}
				if err := r.releaseStrayNames(ctx, s, p.dropped); err != nil {
					t.Fatalf("pass %d: %v", i, err)
				}
				claims := &sdv1.SubdomainClaimList{}
				if err := server.List(ctx, claims); err != nil {
					t.Fatal(err)
				}
				var left []string
				for _, cl := range claims.Items {
					left = append(left, cl.Name)
				}
				if !slices.Equal(left, p.want) {
					t.Errorf("pass %d: claims left %v, want %v", i, left, p.want)
				}
			}
		})
	}
}

// TestClaimConfirmsConflict is a table test of claim alone, with fake clients standing
// for a cache that still shows a claim another request has just released and for the
// API server: the conflict is confirmed against the API server before it is reported,
// so the request takes the name at once instead of waiting for the Conflict retry.
func TestClaimConfirmsConflict(t *testing.T) {
	scheme := testScheme(t)
	zone := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "z"},
		Spec: sdv1.SubdomainZoneSpec{Domain: "z.go.id", AddressPool: []string{"10.0.0.0/29"}}}
	other := &requestScope{zone: zone, req: &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "lama", UID: "uid-lama"}}}
	held := newClaim(other, sdv1.ClaimTypeFQDN, "dinkes.z.go.id", "dinkes.z.go.id")
	for _, tc := range []struct {
		name         string
		serverHasIt  bool // the other request still holds it on the API server
		wantConflict bool
	}{
		{"released: the cache lags its deletion", false, false},
		{"still held", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			cache := fake.NewClientBuilder().WithScheme(scheme).WithObjects(held.DeepCopy()).Build()
			server := fake.NewClientBuilder().WithScheme(scheme).WithIndex(&sdv1.SubdomainClaim{}, indexClaimRequest, claimRequest).Build()
			if tc.serverHasIt {
				if err := server.Create(ctx, held.DeepCopy()); err != nil {
					t.Fatal(err)
				}
			}
			// Writes go to the API server; the cache keeps showing what it had.
			c := interceptor.NewClient(cache, interceptor.Funcs{
				Create: func(ctx context.Context, _ client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
					return server.Create(ctx, obj, opts...)
				},
			})
			r := &SubdomainRequestReconciler{Client: c, APIReader: server}
			s := &requestScope{zone: zone, req: &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "dinkes", UID: "uid-dinkes"}}}
			err := r.claim(ctx, s, sdv1.ClaimTypeFQDN, "dinkes.z.go.id", "dinkes.z.go.id")
			got := &sdv1.SubdomainClaim{}
			if gerr := server.Get(ctx, client.ObjectKey{Name: "dinkes.z.go.id"}, got); gerr != nil {
				t.Fatal(gerr)
			}
			if tc.wantConflict {
				if e := reconcileerr.As(err); e == nil || e.Kind != reconcileerr.Conflict || got.Spec.Request != "lama" {
					t.Errorf("err %v, claim held by %q: want a Conflict naming lama's claim", err, got.Spec.Request)
				}
				return
			}
			if err != nil || !claimOf(got, s.req) {
				t.Errorf("err %v, claim held by %q: want dinkes to take the released name", err, got.Spec.Request)
			}
		})
	}
}

// TestAllocateSkipsSharedPrevious is a table test of allocate alone: a request whose
// address claim is gone takes its previous address back only if nothing else uses
// it; one that a zone now shares (its claim gone, as while a foreground deletion of
// that zone waits) goes to the next free address instead.
func TestAllocateSkipsSharedPrevious(t *testing.T) {
	scheme := testScheme(t)
	zone := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "z"},
		Spec: sdv1.SubdomainZoneSpec{Domain: "z.go.id", AddressPool: []string{"10.0.0.0/29"}}}
	for _, tc := range []struct {
		name   string
		shared bool // zone s shares 10.0.0.3
		want   string
	}{
		{"its previous address, free", false, "10.0.0.3"},
		{"its previous address, another zone's sharedAddress", true, "10.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(zone.DeepCopy()).
				WithIndex(&sdv1.SubdomainClaim{}, indexClaimRequest, claimRequest).Build()
			zones := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{indexSharedAddress: zoneSharedAddress})
			if tc.shared {
				if err := zones.Add(&sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "s"},
					Spec: sdv1.SubdomainZoneSpec{Domain: "s.go.id", SharedAddress: "10.0.0.3"}}); err != nil {
					t.Fatal(err)
				}
			}
			r := &SubdomainRequestReconciler{Client: c, APIReader: c, zones: zones,
				published: toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{publishedAddresses: requestAddress})}
			req := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "dinkes", UID: "uid-dinkes"}}
			req.Status.Address = "10.0.0.3"
			a, err := r.allocate(ctx, &requestScope{zone: zone, req: req})
			if err != nil || a.String() != tc.want {
				t.Errorf("allocated %s (%v), want %s", a, err, tc.want)
			}
		})
	}
}
