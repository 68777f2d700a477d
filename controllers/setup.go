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
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	dnsv1 "sigs.k8s.io/external-dns/apis/v1alpha1"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/naming"
	"github.com/kominfo/subdomain-operator/internal/slimcache"
)

// CacheOptions scopes the informer cache: Secrets, Namespaces and the other hosting
// children are cached only when they carry the request label, so the manager never
// holds every Secret of the cluster; Secrets also only by the credentials Secret's
// name, since anyone with a namespace may label Secrets of their own (a tenant
// filling the manager's memory with them); so are the quota, limit range, network
// policy and admin binding, by theirs. Ingresses and DNSEndpoints are cached whole: the
// operator must see names served by others to refuse them.
func CacheOptions() cache.Options {
	// The selector "has the request label", built without a parser that could fail.
	byLabel := cache.ByObject{Label: labels.NewSelector().Add(ownedRequirement)}
	return cache.Options{
		// About a dozen objects per request stay cached: drop what nothing reads
		// (managedFields, the per-namespace index) and share repeated strings.
		DefaultTransform: slimcache.Transform,
		NewInformer:      slimcache.NewInformer,
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {Label: byLabel.Label,
				Field: fields.OneTermEqualSelector("metadata.name", sdv1.CredentialsSecretName)},
			&corev1.Namespace{}:           byLabel,
			&corev1.Service{}:             byLabel,
			&corev1.ResourceQuota{}:       byName(byLabel, sdv1.HostingObjectName),
			&corev1.LimitRange{}:          byName(byLabel, sdv1.HostingObjectName),
			&networkingv1.NetworkPolicy{}: byName(byLabel, sdv1.HostingObjectName),
			&rbacv1.RoleBinding{}:         byName(byLabel, sdv1.AdminRoleBindingName),
		}}
}

// byName narrows a selection to the one name the operator gives objects of a kind: an
// OPD admin may make any number of NetworkPolicies or RoleBindings in the hosting
// namespace, labelled as ours, and none of them should fill the manager's memory.
func byName(sel cache.ByObject, name string) cache.ByObject {
	sel.Field = fields.OneTermEqualSelector("metadata.name", name)
	return sel
}

// ownedRequirement is the label selector requirement "subdomain.kominfo.go.id/request exists".
var ownedRequirement = func() labels.Requirement {
	r, err := labels.NewRequirement(sdv1.LabelRequest, selection.Exists, nil)
	if err != nil { // a constant, valid requirement; test/admission proves the cache is scoped
		return labels.Requirement{}
	}
	return *r
}()

// Options tunes the request controller.
type Options struct {
	MaxConcurrentReconciles int
}

// SetupWithManager registers indexes and watches.
func (r *SubdomainRequestReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	var err error
	if r.ingressHosts, err = addIndex(ctx, mgr.GetCache(), &networkingv1.Ingress{}, servedNames, ingressServedNames); err != nil {
		return err
	}
	if r.dnsNames, err = addIndex(ctx, mgr.GetCache(), &dnsv1.DNSEndpoint{}, servedNames, recordServedNames); err != nil {
		return err
	}
	routes, err := gatewayRoutes(ctx, mgr.GetRESTMapper(), mgr.GetAPIReader())
	if err != nil {
		return err
	}
	r.routeHosts = nil
	kinds := []string{}
	for _, route := range routes {
		idx, err := addIndex(ctx, mgr.GetCache(), route, servedNames, routeServedNames)
		if err != nil {
			return err
		}
		r.routeHosts = append(r.routeHosts, idx)
		kinds = append(kinds, route.GetObjectKind().GroupVersionKind().Kind)
	}
	// Said once at start: whether routes are in the checks is not visible otherwise.
	ctrl.Log.WithName("setup").Info("Gateway API routes in the name checks (served at start; routes installed later are watched from the next start)", "kinds", kinds)
	if r.published, err = addIndex(ctx, mgr.GetCache(), &sdv1.SubdomainRequest{}, publishedAddresses, requestAddress); err != nil {
		return err
	}
	if _, err = addIndex(ctx, mgr.GetCache(), &sdv1.SubdomainRequest{}, waitingRequests, requestWaiting); err != nil {
		return err
	}
	if r.zones, err = addSharedAddressIndex(ctx, mgr.GetCache()); err != nil {
		return err
	}
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &sdv1.SubdomainRequest{}, indexRequestZone, func(o client.Object) []string {
		return []string{o.(*sdv1.SubdomainRequest).Spec.Zone}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &sdv1.SubdomainRequest{}, indexRequestName, requestNames); err != nil {
		return err
	}
	for _, kind := range []client.Object{&corev1.Service{}, &corev1.Namespace{}} {
		if err := idx.IndexField(ctx, kind, indexRequestLabel, requestLabel); err != nil {
			return err
		}
	}
	if err := idx.IndexField(ctx, &sdv1.SubdomainClaim{}, indexClaimRequest, claimRequest); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("subdomainrequest").
		// Status writes change neither generation nor annotations: they do not
		// trigger a reconcile of their own.
		For(&sdv1.SubdomainRequest{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{},
			predicate.LabelChangedPredicate{}, deletionPredicate()))).
		// The children, each mapped to its controlling request (ownerRequest).
		Watches(&corev1.Namespace{}, ownedBy).
		Watches(&corev1.ResourceQuota{}, ownedBy).
		Watches(&corev1.LimitRange{}, ownedBy).
		Watches(&networkingv1.NetworkPolicy{}, ownedBy).
		Watches(&rbacv1.RoleBinding{}, ownedBy).
		Watches(&networkingv1.Ingress{}, ownedBy).
		Watches(&corev1.Secret{}, ownedBy).
		Watches(&corev1.Service{}, ownedBy).
		Watches(&dnsv1.DNSEndpoint{}, ownedBy).
		// Only a zone's spec matters to its requests: its status changes with every
		// address claimed, and reconciling every request of the zone on each would make
		// a batch of N cost N² reconciles.
		// ...and the end of a zone's NamespaceMissing: requests waiting for the namespace
		// go on at once, not at their next retry.
		Watches(&sdv1.SubdomainZone{}, handler.EnqueueRequestsFromMapFunc(r.requestsOfZone),
			builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, deletionPredicate(), namespacesCame()))).
		Watches(&sdv1.SubdomainClaim{}, handler.EnqueueRequestsFromMapFunc(r.waitingForClaim),
			builder.WithPredicates(predicate.Funcs{
				CreateFunc: func(event.CreateEvent) bool { return false },
				UpdateFunc: func(event.UpdateEvent) bool { return false },
			})).
		// A claim whose request is gone when the claim is first seen - at the
		// manager's start - is swept: a request whose finalizer was removed by hand
		// while no operator ran left it, and nothing else brings its name here.
		Watches(&sdv1.SubdomainClaim{}, handler.EnqueueRequestsFromMapFunc(r.goneRequestOfClaim),
			builder.WithPredicates(predicate.Funcs{
				UpdateFunc:  func(event.UpdateEvent) bool { return false },
				DeleteFunc:  func(event.DeleteEvent) bool { return false },
				GenericFunc: func(event.GenericEvent) bool { return false },
			})).
		// A site that stopped publishing an address (its zone switched, or moved its
		// sharedAddress) may have been all that kept a pool from giving it.
		Watches(&sdv1.SubdomainRequest{}, handler.EnqueueRequestsFromMapFunc(r.waitingForAddress),
			builder.WithPredicates(predicate.Funcs{
				CreateFunc: func(event.CreateEvent) bool { return false },
				UpdateFunc: func(e event.UpdateEvent) bool {
					o, okOld := e.ObjectOld.(*sdv1.SubdomainRequest)
					n, okNew := e.ObjectNew.(*sdv1.SubdomainRequest)
					return okOld && okNew && o.Status.Address != "" && o.Status.Address != n.Status.Address
				},
				DeleteFunc:  func(event.DeleteEvent) bool { return false },
				GenericFunc: func(event.GenericEvent) bool { return false },
			})).
		// A request that took a shared zone's address (in the moment before the zone
		// claimed it) puts that zone's requests in Conflict.
		Watches(&sdv1.SubdomainClaim{}, handler.EnqueueRequestsFromMapFunc(r.sharingTaken),
			builder.WithPredicates(predicate.Funcs{
				CreateFunc: func(e event.CreateEvent) bool {
					c, ok := e.Object.(*sdv1.SubdomainClaim)
					return ok && c.Spec.Type == sdv1.ClaimTypeAddress && c.Spec.Request != ""
				},
				UpdateFunc:  func(event.UpdateEvent) bool { return false },
				DeleteFunc:  func(event.DeleteEvent) bool { return false },
				GenericFunc: func(event.GenericEvent) bool { return false },
			})).
		// A foreign Ingress or DNSEndpoint that goes, or changes, may free the name a
		// request in Conflict waits for; one that comes, goes or changes tells the
		// requests serving its names (ForeignHolder, NameAvailable's message).
		Watches(&networkingv1.Ingress{}, r.foreignHandler(ingressServedNames), builder.WithPredicates(foreignChanged())).
		Watches(&dnsv1.DNSEndpoint{}, r.foreignHandler(recordServedNames), builder.WithPredicates(foreignChanged())).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles})
	// Gateway API routes, like Ingresses, when the cluster serves them.
	for _, route := range routes {
		b = b.Watches(route, r.foreignHandler(routeServedNames), builder.WithPredicates(foreignChanged()))
	}
	return b.Complete(r)
}

// routeKinds are the Gateway API route kinds whose spec.hostnames serve names.
var routeKinds = []string{"HTTPRoute", "GRPCRoute", "TLSRoute"}

// gatewayRoutes returns an empty object, of the version the API server prefers, of
// each Gateway API route kind it serves when the manager starts and that the manager
// may list: a cluster without the Gateway API has none to watch (routes
// installed later are watched after the manager's next start), and a role without
// the routes' rules (a custom one) leaves them out with a warning - an informer it
// may not list never syncs, and the controller would never start.
func gatewayRoutes(ctx context.Context, mapper meta.RESTMapper, c client.Reader) ([]client.Object, error) {
	var out []client.Object
	for _, kind := range routeKinds {
		m, err := mapper.RESTMapping(schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: kind})
		if meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("looking for the Gateway API's %s: %w", kind, err)
		}
		// A list of one, a read (a SelfSubjectAccessReview would be a write at every
		// start): refused, the manager may not list them.
		probe := &unstructured.UnstructuredList{}
		probe.SetGroupVersionKind(m.GroupVersionKind.GroupVersion().WithKind(kind + "List"))
		if err := c.List(ctx, probe, client.Limit(1)); apierrors.IsForbidden(err) {
			ctrl.Log.WithName("setup").Info("WARNING: the cluster serves this Gateway API route kind, but this manager may not list it: its routes are left out of the name checks; grant get, list, watch on it (the shipped ClusterRole does)",
				"kind", kind, "resource", m.Resource.Resource)
			continue
		} else if err != nil {
			return nil, fmt.Errorf("listing the Gateway API's %s: %w", kind, err)
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(m.GroupVersionKind)
		out = append(out, u)
	}
	return out, nil
}

// routeServedNames is the servedNames index of a Gateway API route: its
// spec.hostnames (a wildcard is no name of a request's: an exact host wins over it).
func routeServedNames(o any) ([]string, error) {
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return nil, nil
	}
	hostnames, _, err := unstructured.NestedStringSlice(u.Object, "spec", "hostnames")
	if err != nil {
		return nil, nil //nolint:nilerr // a route the API server took with odd hostnames serves none of ours
	}
	return slices.DeleteFunc(hostnames, func(h string) bool { return strings.HasPrefix(h, "*") }), nil
}

// namespacesCame passes a zone's update whose Ready condition stops saying, or says
// something else of, NamespaceMissing: a namespace the zone names came.
func namespacesCame() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, okOld := e.ObjectOld.(*sdv1.SubdomainZone)
		n, okNew := e.ObjectNew.(*sdv1.SubdomainZone)
		if !okOld || !okNew {
			return false
		}
		was := meta.FindStatusCondition(o.Status.Conditions, sdv1.ConditionReady)
		is := meta.FindStatusCondition(n.Status.Conditions, sdv1.ConditionReady)
		return was != nil && was.Reason == reasonNamespaceMissing && (is == nil || is.Reason != was.Reason || is.Message != was.Message)
	}}
}

// deletionPredicate passes updates that set a deletion timestamp.
func deletionPredicate() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetDeletionTimestamp().IsZero() && !e.ObjectNew.GetDeletionTimestamp().IsZero()
	}}
}

// claimRequest is the indexClaimRequest index of a claim: the request holding it.
func claimRequest(o client.Object) []string {
	return []string{o.(*sdv1.SubdomainClaim).Spec.Request}
}

// ingressServedNames is the servedNames index of an Ingress: its rules' hosts.
func ingressServedNames(o any) ([]string, error) {
	var hosts []string
	if ing, ok := o.(*networkingv1.Ingress); ok {
		for _, rule := range ing.Spec.Rules {
			if rule.Host != "" {
				hosts = append(hosts, rule.Host)
			}
		}
	}
	return hosts, nil
}

// recordServedNames is the servedNames index of a DNSEndpoint: its records' names.
func recordServedNames(o any) ([]string, error) {
	var names []string
	if ep, ok := o.(*dnsv1.DNSEndpoint); ok {
		for _, e := range ep.Spec.Endpoints {
			if e != nil {
				names = append(names, e.DNSName)
			}
		}
	}
	return names, nil
}

// waitingRequests is the index, in the requests informer, of the requests that may
// wait for a name or an address to be released: by their zone those in phase Conflict
// or Failed, under nameConflictKey those whose name a foreign object holds
// (NameConflict), and under addressWaitKey those waiting for an address (a full
// pool, PoolExhausted; their shared zone's address held, AddressConflict). A release or a foreign object's change wakes them by reading it in
// place, rather than copying every request of a zone, or of the cluster, per event.
const waitingRequests = "subdomain.kominfo.go.id/waiting"

// nameConflictKey and addressWaitKey are waitingRequests' keys of the requests in
// NameConflict and of those waiting for an address; no zone name has a slash.
const (
	nameConflictKey = "/NameConflict"
	addressWaitKey  = "/Address"
)

func requestWaiting(o any) ([]string, error) {
	req, ok := o.(*sdv1.SubdomainRequest)
	if !ok || (req.Status.Phase != sdv1.PhaseConflict && req.Status.Phase != sdv1.PhaseFailed) {
		return nil, nil
	}
	keys := []string{req.Spec.Zone}
	if c := meta.FindStatusCondition(req.Status.Conditions, sdv1.ConditionNameAvailable); req.Status.Phase == sdv1.PhaseConflict && c != nil && c.Reason == reasonNameConflict {
		keys = append(keys, nameConflictKey)
	}
	if a := meta.FindStatusCondition(req.Status.Conditions, sdv1.ConditionAddressAssigned); a != nil &&
		(a.Reason == reasonPoolExhausted || a.Reason == reasonAddressConflict) {
		keys = append(keys, addressWaitKey)
	}
	return keys, nil
}

// waiting names the requests waitingRequests holds under key, read in place.
func (r *SubdomainRequestReconciler) waiting(key string) []reconcile.Request {
	objs, err := r.published.ByIndex(waitingRequests, key)
	if err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(objs))
	for _, o := range objs {
		if req, ok := o.(*sdv1.SubdomainRequest); ok {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: req.Name}})
		}
	}
	return out
}

// publishedAddresses is the index, in the requests informer, of the addresses the
// requests report (status.address), by the name of the address's claim.
const publishedAddresses = "subdomain.kominfo.go.id/published-addresses"

func requestAddress(o any) ([]string, error) {
	if r, ok := o.(*sdv1.SubdomainRequest); ok {
		if a, err := netip.ParseAddr(r.Status.Address); err == nil {
			return []string{naming.AddressClaimName(a)}, nil
		}
	}
	return nil, nil
}

// requestNames is the indexRequestName index of a request: the names it serves.
func requestNames(o client.Object) []string {
	st := o.(*sdv1.SubdomainRequest).Status
	var names []string
	if st.FQDN != "" {
		names = append(names, st.FQDN)
	}
	for _, p := range st.PreviousNames {
		if !p.Released {
			names = append(names, p.FQDN)
		}
	}
	return names
}

// foreignHandler maps a foreign Ingress or DNSEndpoint (names gives the names it
// serves) to the requests serving one of them, when it comes, changes or goes, and to
// the requests waiting for a name (waitingForName) when it changes or goes.
func (r *SubdomainRequestReconciler) foreignHandler(names toolscache.IndexFunc) handler.EventHandler {
	holders := func(ctx context.Context, o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		served, _ := names(o)
		for _, name := range served {
			for _, req := range r.listRequests(ctx, client.MatchingFields{indexRequestName: name}, nil) {
				q.Add(req)
			}
		}
	}
	waiting := func(ctx context.Context, o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		for _, req := range r.waitingForName(ctx, o) {
			q.Add(req)
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			holders(ctx, e.Object, q)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			holders(ctx, e.ObjectOld, q)
			holders(ctx, e.ObjectNew, q)
			waiting(ctx, e.ObjectNew, q)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			holders(ctx, e.Object, q)
			waiting(ctx, e.Object, q)
		},
	}
}

// foreignChanged passes the creation, the deletion, or a change of spec, of an object
// that no SubdomainRequest controls.
func foreignChanged() predicate.Predicate {
	foreign := func(o client.Object) bool { return controllingRequest(o) == "" }
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return foreign(e.Object) && !acmeSolver(e.Object) },
		GenericFunc: func(event.GenericEvent) bool { return false },
		DeleteFunc:  func(e event.DeleteEvent) bool { return foreign(e.Object) },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return foreign(e.ObjectNew) && e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration()
		},
	}
}

// waitingForName maps a foreign Ingress or DNSEndpoint that went or changed to the
// requests whose name a foreign object held (phase Conflict, reason NameConflict):
// few, and cheaper to look at again than to match by name.
func (r *SubdomainRequestReconciler) waitingForName(context.Context, client.Object) []reconcile.Request {
	return r.waiting(nameConflictKey)
}

// requestsOfZone maps a zone to its requests.
func (r *SubdomainRequestReconciler) requestsOfZone(ctx context.Context, o client.Object) []reconcile.Request {
	out := r.listRequests(ctx, client.MatchingFields{indexRequestZone: o.GetName()}, nil)
	if z, ok := o.(*sdv1.SubdomainZone); ok {
		out = append(out, r.requestsOfMeetingZones(ctx, z.Spec.Domain, z.Name, false)...)
	}
	return out
}

// ownedBy enqueues the request that controls a child: what Owns does (initial-list
// and resync events at low priority too), without Owns' REST mapping of the owner's
// kind on every event - a request is cluster-scoped - which was 8% of all the manager
// allocated in a batch.
var ownedBy = handler.EnqueueRequestsFromMapFunc(ownerRequest)

// ownerRequest maps an object to the SubdomainRequest that controls it, if any.
func ownerRequest(_ context.Context, o client.Object) []reconcile.Request {
	if name := controllingRequest(o); name != "" {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: name}}}
	}
	return nil
}

// controllingRequest names the SubdomainRequest, of any version of the API group,
// that is o's controller owner; "" when none is (a foreign object, to the operator).
func controllingRequest(o client.Object) string {
	ref := metav1.GetControllerOfNoCopy(o)
	if ref == nil || ref.Kind != "SubdomainRequest" {
		return ""
	}
	if group, _, _ := strings.Cut(ref.APIVersion, "/"); group != sdv1.GroupVersion.Group {
		return ""
	}
	return ref.Name
}

// requestLabel is the index value of an object: its request label.
func requestLabel(o client.Object) []string { return []string{o.GetLabels()[sdv1.LabelRequest]} }

// goneRequestOfClaim maps a claim held by a request the cache does not have (gone,
// and its claims not released: sweepClaims) to that request's name. A claim a live
// request has just made maps to nothing: a batch's claims cost a cache read each.
func (r *SubdomainRequestReconciler) goneRequestOfClaim(ctx context.Context, o client.Object) []reconcile.Request {
	c, ok := o.(*sdv1.SubdomainClaim)
	if !ok || c.Spec.Request == "" || c.Labels[sdv1.LabelRequestUID] == "" || c.Annotations[sdv1.AnnotationRetained] != "" {
		return nil
	}
	holder := &sdv1.SubdomainRequest{}
	if err := r.Get(ctx, types.NamespacedName{Name: c.Spec.Request}, holder); !apierrors.IsNotFound(err) {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: c.Spec.Request}}}
}

// waitingForClaim maps a released claim to its holder, when it lives and is not being
// deleted, and to the requests of its zone that wait for a name or an address (phase
// Conflict, or Failed because the pool was full), and a released address also to
// other zones' requests waiting for one (PoolExhausted, or their shared zone's address
// held: AddressConflict). A released address resets the allocation hints.
func (r *SubdomainRequestReconciler) waitingForClaim(ctx context.Context, o client.Object) []reconcile.Request {
	c, ok := o.(*sdv1.SubdomainClaim)
	if !ok {
		return nil
	}
	r.freed.Add(1)
	out := r.waiting(c.Spec.Zone)
	// A claim deleted by hand, not released by its holder, is taken again at once:
	// until then the admission policies let an Ingress in any namespace serve the name.
	// A release the holder made looks again and writes nothing.
	if name := c.Spec.Request; name != "" { // none holds a zone's shared address
		holder := &sdv1.SubdomainRequest{}
		if err := r.Get(ctx, types.NamespacedName{Name: name}, holder); err == nil && holder.DeletionTimestamp.IsZero() && claimOf(c, holder) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: name}})
		}
	}
	if c.Spec.Type != sdv1.ClaimTypeAddress {
		return append(out, r.requestsOfMeetingZones(ctx, c.Spec.Value, c.Spec.Zone, true)...)
	}
	// Its address is free again: allocate from the start of the pools, and drop this
	// process's reservation of it (kept up to the in-flight TTL otherwise). Address
	// claims are named by address alone, so another zone whose pool covers it too
	// (pools may overlap) may have a request waiting for a free one.
	r.observed(reservationKey(c.Name))
	return append(out, r.waitingForAnAddress(c.Spec.Zone, true)...)
}

// waitingForAddress maps a request that gave up publishing an address to the requests
// of every zone whose pool was full (PoolExhausted).
func (r *SubdomainRequestReconciler) waitingForAddress(context.Context, client.Object) []reconcile.Request {
	r.freed.Add(1)
	return r.waitingForAnAddress("", false)
}

// waitingForAnAddress resets the allocation hints (an address is free again) and names
// the requests, of zones other than except, whose pool was full (PoolExhausted) and,
// with sharing, those whose zone's shared address another request held
// (AddressConflict). It reads the informer's index in place (waitingRequests): a zone
// switch or a deletion moves many requests at once, and a cache List per event would
// copy every request each time.
func (r *SubdomainRequestReconciler) waitingForAnAddress(except string, sharing bool) []reconcile.Request {
	r.hints.forgetAll()
	var out []reconcile.Request
	waiting, err := r.published.ByIndex(waitingRequests, addressWaitKey)
	if err != nil {
		return nil
	}
	for _, o := range waiting {
		req, ok := o.(*sdv1.SubdomainRequest)
		if !ok || req.Spec.Zone == except {
			continue
		}
		a := meta.FindStatusCondition(req.Status.Conditions, sdv1.ConditionAddressAssigned)
		if a == nil {
			continue
		}
		if (req.Status.Phase == sdv1.PhaseFailed && a.Reason == reasonPoolExhausted) ||
			(sharing && req.Status.Phase == sdv1.PhaseConflict && a.Reason == reasonAddressConflict) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: req.Name}})
		}
	}
	return out
}

// sharingTaken maps a request's new address claim to the requests of the other
// zones whose sharedAddress it is.
func (r *SubdomainRequestReconciler) sharingTaken(ctx context.Context, o client.Object) []reconcile.Request {
	c, ok := o.(*sdv1.SubdomainClaim)
	if !ok {
		return nil
	}
	zones, err := sharers(r.zones, c.Name)
	if err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, z := range zones {
		if z != c.Spec.Zone {
			out = append(out, r.listRequests(ctx, client.MatchingFields{indexRequestZone: z}, nil)...)
		}
	}
	return out
}

// listRequests names the cached requests sel selects that keep passes. keep only
// reads: the cache's own objects are passed, not copies (a deletion of N requests maps
// N claim events, each over the zone's requests or all of them).
func (r *SubdomainRequestReconciler) listRequests(ctx context.Context, sel client.ListOption, keep func(*sdv1.SubdomainRequest) bool) []reconcile.Request {
	list := &sdv1.SubdomainRequestList{}
	if err := r.List(ctx, list, sel, client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if keep == nil || keep(&list.Items[i]) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: list.Items[i].Name}})
		}
	}
	return out
}
