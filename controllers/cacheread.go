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
	"net/netip"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/naming"
)

// indexZoneAddresses indexes address claims by zone in the claims informer itself, so
// a zone's allocation count is the length of a key list rather than a List that
// copies every claim of the zone.
const indexZoneAddresses = "subdomain.kominfo.go.id/zone-addresses"

// indexZoneNames indexes FQDN claims by their zone (spec.zone): the zone's status
// lists the names its requests hold (status.claimedNames).
const indexZoneNames = "subdomain.kominfo.go.id/zone-names"

// cachedIndexer is the client-go indexer behind the cache's informer for obj's kind.
// Counting and scanning through it copies no object: a cache List copies every item
// into the list's slice, even with UnsafeDisableDeepCopy. What it returns is the
// cache's own objects: read them, never change them.
func cachedIndexer(ctx context.Context, c cache.Informers, obj client.Object) (toolscache.Indexer, error) {
	inf, err := c.GetInformer(ctx, obj)
	if err != nil {
		return nil, err
	}
	i, ok := inf.(interface{ GetIndexer() toolscache.Indexer })
	if !ok {
		return nil, fmt.Errorf("the informer for %T (%T) has no indexer", obj, inf)
	}
	return i.GetIndexer(), nil
}

// addIndex adds the index name, computed by fn, to the informer of obj's kind and
// returns that informer's indexer; it must run before the cache starts. Unlike
// controller-runtime's IndexField it keys each value once, not once per namespace and
// once across namespaces, and its lookups copy no object. An index both controllers
// use is added by whichever sets up first: name stands for one fn.
func addIndex(ctx context.Context, c cache.Informers, obj client.Object, name string, fn toolscache.IndexFunc) (toolscache.Indexer, error) {
	inf, err := c.GetInformer(ctx, obj)
	if err != nil {
		return nil, err
	}
	idx, err := cachedIndexer(ctx, c, obj)
	if err != nil {
		return nil, err
	}
	if _, added := idx.GetIndexers()[name]; added {
		return idx, nil
	}
	if err := inf.AddIndexers(toolscache.Indexers{name: fn}); err != nil {
		return nil, err
	}
	return idx, nil
}

// indexSharedAddress indexes zones by the claim name of their sharedAddress: which
// zones share an address is a lookup, not a list of every zone.
const indexSharedAddress = "subdomain.kominfo.go.id/shared-address"

// addSharedAddressIndex adds indexSharedAddress to the zones informer and returns its
// indexer; it must run before the cache starts.
func addSharedAddressIndex(ctx context.Context, c cache.Informers) (toolscache.Indexer, error) {
	return addIndex(ctx, c, &sdv1.SubdomainZone{}, indexSharedAddress, zoneSharedAddress)
}

func zoneSharedAddress(o any) ([]string, error) {
	if z, ok := o.(*sdv1.SubdomainZone); ok {
		if a, err := netip.ParseAddr(z.Spec.SharedAddress); err == nil {
			return []string{naming.AddressClaimName(a)}, nil
		}
	}
	return nil, nil
}

// zoneCopy is a deep copy of zone but for status.claimedNames, which the copy shares:
// that map is only ever replaced whole (the zone reconciler's claimedNames, a decode),
// never changed in place, so a copy need not copy its thousands of names. A deep copy
// on each request's pass was a quarter of what the manager allocated in a batch of
// 5,000 requests, and the zone pass copied them twice more.
func zoneCopy(zone *sdv1.SubdomainZone) *sdv1.SubdomainZone {
	z := *zone
	z.Status.ClaimedNames = nil
	out := z.DeepCopy()
	out.Status.ClaimedNames = zone.Status.ClaimedNames
	return out
}

// zoneInCache is zone name as the zones informer's indexer holds it (what a cache Get
// reads), nil when it holds none: the cache's own object - read it, never change it.
func zoneInCache(zones toolscache.Indexer, name string) *sdv1.SubdomainZone {
	o, exists, err := zones.GetByKey(name)
	if z, ok := o.(*sdv1.SubdomainZone); err == nil && exists && ok {
		return z
	}
	return nil
}

// cachedZone is zoneInCache as a zoneCopy; a NotFound error when the cache has no
// such zone.
func cachedZone(zones toolscache.Indexer, name string) (*sdv1.SubdomainZone, error) {
	z := zoneInCache(zones, name)
	if z == nil {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: sdv1.GroupVersion.Group, Resource: "subdomainzones"}, name)
	}
	return zoneCopy(z), nil
}

// sharers names the zones whose sharedAddress has the address claim named claim.
func sharers(zones toolscache.Indexer, claim string) ([]string, error) {
	objs, err := zones.ByIndex(indexSharedAddress, claim)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(objs))
	for _, o := range objs {
		if z, ok := o.(*sdv1.SubdomainZone); ok {
			names = append(names, z.Name)
		}
	}
	return names, nil
}

// addZoneClaimIndexes adds indexZoneAddresses and indexZoneNames to the claims
// informer and returns its indexer; it must run before the cache starts.
func addZoneClaimIndexes(ctx context.Context, c cache.Informers) (toolscache.Indexer, error) {
	byZone := func(typ sdv1.ClaimType) toolscache.IndexFunc {
		return func(o any) ([]string, error) {
			if c, ok := o.(*sdv1.SubdomainClaim); ok && c.Spec.Type == typ {
				return []string{c.Spec.Zone}, nil
			}
			return nil, nil
		}
	}
	if _, err := addIndex(ctx, c, &sdv1.SubdomainClaim{}, indexZoneNames, byZone(sdv1.ClaimTypeFQDN)); err != nil {
		return nil, err
	}
	return addIndex(ctx, c, &sdv1.SubdomainClaim{}, indexZoneAddresses, byZone(sdv1.ClaimTypeAddress))
}

// servedNames is the index, in the Ingress and DNSEndpoint informers, of the host
// names they serve (addIndex: IndexField kept a set per Ingress host twice).
const servedNames = "subdomain.kominfo.go.id/served-names"
