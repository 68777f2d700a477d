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
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/naming"
)

// Zones whose domains meet. Two zones may nest (pontianak.go.id, and
// dinkes.pontianak.go.id delegated to its own zone), but a name of the outer zone
// must not be the inner zone's domain or above it: that site's hosting namespace may
// serve names under its own (policy subdomain-hosting-hostnames), so it could serve
// every name of the inner zone. And one domain gets its names from one zone: a second
// zone of the same domain would give the names the first one reserves.

// atOrUnder reports whether domain is name or a name under it.
func atOrUnder(domain, name string) bool {
	return domain == name || strings.HasSuffix(domain, "."+name)
}

// zoneAtOrUnder names the first zone by name, other than the request's own, whose
// domain is fqdn or under it, or "".
func (r *SubdomainRequestReconciler) zoneAtOrUnder(ctx context.Context, s *requestScope, fqdn string) (string, error) {
	zones := &sdv1.SubdomainZoneList{}
	if err := r.List(ctx, zones, client.UnsafeDisableDeepCopy); err != nil {
		return "", err
	}
	found := ""
	for _, z := range zones.Items {
		if z.Name != s.zone.Name && atOrUnder(z.Spec.Domain, fqdn) && (found == "" || z.Name < found) {
			found = z.Name
		}
	}
	return found, nil
}

// domainOverlap says why zone cannot give a name now, or "": another zone has the same
// domain and came first (by creation, then by name), or a request of another zone
// holds a name that is this zone's domain or above it. Of several reasons it gives the
// same one every time (the oldest such zone, else the first by name): the message is
// in the request's status, which must not change from pass to pass.
func (r *SubdomainRequestReconciler) domainOverlap(ctx context.Context, zone *sdv1.SubdomainZone) (string, error) {
	zones := &sdv1.SubdomainZoneList{}
	if err := r.List(ctx, zones, client.UnsafeDisableDeepCopy); err != nil {
		return "", err
	}
	domain := zone.Spec.Domain
	var first *sdv1.SubdomainZone // the oldest other zone of the same domain
	var above []*sdv1.SubdomainZone
	for i := range zones.Items {
		z := &zones.Items[i]
		switch {
		case z.Name == zone.Name:
		case z.Spec.Domain == domain:
			if older(z, zone) && (first == nil || older(z, first)) {
				first = z
			}
		case strings.HasSuffix(domain, "."+z.Spec.Domain):
			above = append(above, z)
		}
	}
	if first != nil {
		return fmt.Sprintf("SubdomainZone %s has the same domain, %s, and came first: one domain gets its names (and its reserved names) from one zone", first.Name, domain), nil
	}
	slices.SortFunc(above, func(a, b *sdv1.SubdomainZone) int { return strings.Compare(a.Name, b.Name) })
	for _, z := range above {
		// The name of z that is this domain or above it: its label next to z's domain.
		rest := strings.TrimSuffix(domain, "."+z.Spec.Domain)
		name := rest[strings.LastIndex(rest, ".")+1:] + "." + z.Spec.Domain
		c := &sdv1.SubdomainClaim{}
		err := r.Get(ctx, types.NamespacedName{Name: naming.FQDNClaimName(name)}, c)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s, at or above its domain %s, is held by request %s of SubdomainZone %s (whose hosting namespace may serve the names under it)", name, domain, c.Spec.Request, c.Spec.Zone), nil
	}
	return "", nil
}

// older reports whether zone a came before zone b: by creation, then by name.
func older(a, b *sdv1.SubdomainZone) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

// neverServed keeps the requests that have not served a name.
func neverServed(req *sdv1.SubdomainRequest) bool { return req.Status.ReadyAt == nil }

// requestsOfMeetingZones maps a zone's domain (or, with under, a name released) to
// the requests that never served of the other zones whose domains meet it (with
// under, of those whose domain is the name or under it): held by domainOverlap, or in
// Conflict for a name at or above another zone's domain.
func (r *SubdomainRequestReconciler) requestsOfMeetingZones(ctx context.Context, name, except string, under bool) []reconcile.Request {
	zones := &sdv1.SubdomainZoneList{}
	if err := r.List(ctx, zones, client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, z := range zones.Items {
		if z.Name != except && (atOrUnder(z.Spec.Domain, name) || !under && atOrUnder(name, z.Spec.Domain)) {
			out = append(out, r.listRequests(ctx, client.MatchingFields{indexRequestZone: z.Name}, neverServed)...)
		}
	}
	return out
}
