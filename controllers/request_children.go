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
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	dnsv1 "sigs.k8s.io/external-dns/apis/v1alpha1"
	"sigs.k8s.io/external-dns/endpoint"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/credentials"
	"github.com/kominfo/subdomain-operator/internal/reconcileerr"
)

const (
	annotationClusterIssuer = "cert-manager.io/cluster-issuer"
	annotationMetalLBIPs    = "metallb.io/loadBalancerIPs"
	annotationCiliumIPs     = "lbipam.cilium.io/ips"
	podSecurityRestricted   = "restricted"
)

// ensureHosting creates the hosting namespace (Pod Security restricted) and its
// ResourceQuota, LimitRange, NetworkPolicy and admin RoleBinding.
// Sets HostingReady. Ends with a Conflict when the namespace or one of the objects
// exists and was not created for this request, when the namespace, not yet the
// request's, is a place a zone names for all its sites (zonePlace), or when the
// request's own admin RoleBinding was changed to another role (RoleRefChanged: a
// roleRef cannot be updated). Waits (NamespaceTerminating) while the namespace is
// being deleted, and (UnusedNamespaceNotDeleted) while a namespace it made before an
// approver moved it to another one cannot be deleted (dropUnusedNamespaces).
func (r *SubdomainRequestReconciler) ensureHosting(ctx context.Context, s *requestScope) (bool, error) {
	if s.req.Status.Namespace != s.namespace {
		if err := r.zonePlace(ctx, s.namespace); err != nil {
			return true, err
		}
		if err := r.dropUnusedNamespaces(ctx, s); err != nil {
			return true, err
		}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.namespace}}
	err := r.ensure(ctx, s, sdv1.ConditionHostingReady, ns, func() error {
		setLabel(ns, sdv1.LabelZone, s.zone.Name)
		for _, mode := range []string{"enforce", "audit", "warn"} {
			setLabel(ns, "pod-security.kubernetes.io/"+mode, podSecurityRestricted)
		}
		hosts := strings.Join(s.hosts(), ",")
		s.hostsWritten = ns.Annotations[sdv1.AnnotationHostingFQDN] != hosts
		setAnnotation(ns, sdv1.AnnotationHostingFQDN, hosts)
		return nil
	})
	if err != nil {
		return true, err
	}
	if !ns.DeletionTimestamp.IsZero() {
		wait, why := namespaceWait(ns, s.now)
		return true, reconcileerr.NewWaiting(sdv1.ConditionHostingReady, "NamespaceTerminating", wait,
			"namespace %s is being deleted; waiting to create it again%s", s.namespace, why)
	}
	q := s.zone.Spec.Hosting.Quota
	hard := corev1.ResourceList{}
	for name, v := range map[corev1.ResourceName]*resource.Quantity{
		corev1.ResourceRequestsCPU: q.CPU, corev1.ResourceLimitsCPU: q.CPU,
		corev1.ResourceRequestsMemory: q.Memory, corev1.ResourceLimitsMemory: q.Memory,
		corev1.ResourceRequestsStorage: q.Storage, corev1.ResourcePods: q.Pods,
	} {
		if v != nil {
			hard[name] = v.DeepCopy()
		}
	}
	// No Service of the OPD's own may take an address or a node port: a LoadBalancer
	// Service asking for a pool address (spec.loadBalancerIP, the MetalLB or Cilium
	// annotation) would take one the zone gives to another request. Sites are reached
	// through the Ingress.
	hard[corev1.ResourceServicesLoadBalancers] = resource.MustParse("0")
	hard[corev1.ResourceServicesNodePorts] = resource.MustParse("0")
	quota := &corev1.ResourceQuota{ObjectMeta: s.child(sdv1.HostingObjectName)}
	limits := &corev1.LimitRange{ObjectMeta: s.child(sdv1.HostingObjectName)}
	netpol := &networkingv1.NetworkPolicy{ObjectMeta: s.child(sdv1.HostingObjectName)}
	rb := &rbacv1.RoleBinding{ObjectMeta: s.child(sdv1.AdminRoleBindingName)}
	for _, c := range []struct {
		obj    client.Object
		mutate func() error
	}{
		{quota, func() error { quota.Spec.Hard = hard; return nil }},
		{limits, func() error { limits.Spec.Limits = defaultLimits(s.zone.Spec.Hosting.Quota); return nil }},
		{netpol, func() error { return r.hostingPolicy(ctx, s, netpol) }},
		{rb, func() error {
			if rb.RoleRef.Name != "" && rb.RoleRef.Name != "admin" {
				return reconcileerr.NewConflict(sdv1.ConditionHostingReady, "RoleRefChanged",
					"RoleBinding %s/%s refers to %s, not admin; delete it to let the operator recreate it", rb.Namespace, rb.Name, rb.RoleRef.Name)
			}
			rb.RoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"}
			rb.Subjects = []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: s.req.Spec.OPD.AdminGroup}}
			return nil
		}},
	} {
		if err := r.ensure(ctx, s, sdv1.ConditionHostingReady, c.obj, c.mutate); err != nil {
			return true, err
		}
	}
	s.req.Status.Namespace = s.namespace
	s.setCondition(sdv1.ConditionHostingReady, true, "Created", fmt.Sprintf(
		"namespace %s (Pod Security restricted) with quota, limits, network policy and admin binding for group %s",
		s.namespace, s.req.Spec.OPD.AdminGroup))
	return false, nil
}

// dropUnusedNamespaces deletes the namespaces this request created that are not its
// hosting namespace, before it has one (status.namespace): made by a pass whose next
// hosting object was refused, then left when an approver moved the request to
// another namespace (which CRD rules allow until the namespace is on record). Such a
// namespace carries the request's label and FQDN annotation, so the host policies
// would let it serve the request's name.
func (r *SubdomainRequestReconciler) dropUnusedNamespaces(ctx context.Context, s *requestScope) error {
	if s.req.Status.Namespace != "" {
		return nil
	}
	list := &corev1.NamespaceList{}
	if err := r.List(ctx, list, client.MatchingFields{indexRequestLabel: s.req.Name}); err != nil {
		return err
	}
	for i := range list.Items {
		ns := &list.Items[i]
		if ns.Name == s.namespace || !mine(ns, s.req) || !ns.DeletionTimestamp.IsZero() {
			continue
		}
		if err := r.Delete(ctx, ns, client.Preconditions{UID: &ns.UID}); client.IgnoreNotFound(err) != nil {
			// The new namespace waits: made now, two namespaces would let the name
			// be served. Said on HostingReady, tried again with backoff.
			return reconcileerr.NewWaiting(sdv1.ConditionHostingReady, "UnusedNamespaceNotDeleted", conflictRetry,
				"namespace %s, made for this request before it moved to %s, could not be deleted: %v; delete it to go on",
				ns.Name, s.namespace, err)
		}
		r.tell(s, corev1.EventTypeNormal, "NamespaceDropped", "Provision",
			"deleted namespace %s: made for this request, it is not its hosting namespace (%s)", ns.Name, s.namespace)
	}
	return nil
}

// zonePlace refuses, with a Conflict, a hosting namespace that some zone names as its
// dns.namespace or ingress.controllerNamespace, whether it exists yet or not (one that
// exists would be refused as not the request's own anyway): created for the request,
// its OPD's admin group would get admin over every site's DNS records, or its pods
// would pass every hosting NetworkPolicy and could become endpoints of the load
// balancer Services, and deleting the request would delete that namespace.
func (r *SubdomainRequestReconciler) zonePlace(ctx context.Context, namespace string) error {
	zones := &sdv1.SubdomainZoneList{}
	if err := r.List(ctx, zones, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	// The first zone by name that names it: the message stays the same from pass to
	// pass (zones often share an ingress controller's namespace).
	var zone, field string
	for _, z := range zones.Items {
		for _, p := range []struct{ field, ns string }{{"dns.namespace", z.Spec.DNS.Namespace}, {"ingress.controllerNamespace", z.Spec.Ingress.ControllerNamespace}} {
			if p.ns == namespace && (zone == "" || z.Name < zone) {
				zone, field = z.Name, p.field
			}
		}
	}
	if zone == "" {
		return nil
	}
	return reconcileerr.NewConflict(sdv1.ConditionHostingReady, "NamespaceReserved",
		"namespace %s is SubdomainZone %s's spec.%s, where the operator works for all the zone's sites: it cannot be an OPD's hosting namespace; set spec.hosting.namespace to another",
		namespace, zone, field)
}

// child is the ObjectMeta of a child in the hosting namespace.
func (s *requestScope) child(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: s.namespace, Name: name}
}

// defaultLimits are the hosting namespace's container defaults: limits of 500m CPU
// and 512Mi memory, requests of 100m and 128Mi, each at most the zone's quota above
// zero - a default over the quota would have the quota refuse every pod that sets no
// limits of its own (a zone quota of 250m CPU, say: each pod asks 500m).
func defaultLimits(q sdv1.HostingQuota) []corev1.LimitRangeItem {
	capped := func(v string, quota *resource.Quantity) resource.Quantity {
		d := resource.MustParse(v)
		if quota != nil && quota.Sign() > 0 && quota.Cmp(d) < 0 {
			return quota.DeepCopy()
		}
		return d
	}
	return []corev1.LimitRangeItem{{
		Type: corev1.LimitTypeContainer,
		Default: corev1.ResourceList{
			corev1.ResourceCPU: capped("500m", q.CPU), corev1.ResourceMemory: capped("512Mi", q.Memory),
		},
		DefaultRequest: corev1.ResourceList{
			corev1.ResourceCPU: capped("100m", q.CPU), corev1.ResourceMemory: capped("128Mi", q.Memory),
		},
	}}
}

// hostingPolicy sets the hosting NetworkPolicy np to admit the zone's
// ingress.controllerNamespace - unless np admits another namespace now and the zone's
// does not exist (a typo): np then keeps admitting the one it does, so that the
// sites stay reachable, and the zone says why (Ready False, NamespaceMissing). The
// namespace is read from the API server, only when the two differ.
func (r *SubdomainRequestReconciler) hostingPolicy(ctx context.Context, s *requestScope, np *networkingv1.NetworkPolicy) error {
	want := s.zone.Spec.Ingress.ControllerNamespace
	if cur := admittedNamespace(np); cur != "" && cur != want {
		exists, err := namespaceExists(ctx, r.APIReader, want)
		if err != nil {
			return err
		}
		if !exists {
			want = cur
		}
	}
	np.Spec = hostingNetworkPolicy(want)
	return nil
}

// admittedNamespace is the namespace a hosting NetworkPolicy admits besides its own,
// or "" (none yet).
func admittedNamespace(np *networkingv1.NetworkPolicy) string {
	for _, rule := range np.Spec.Ingress {
		for _, peer := range rule.From {
			if peer.NamespaceSelector != nil && peer.NamespaceSelector.MatchLabels[corev1.LabelMetadataName] != "" {
				return peer.NamespaceSelector.MatchLabels[corev1.LabelMetadataName]
			}
		}
	}
	return ""
}

// hostingNetworkPolicy denies all ingress but from the namespace itself and the
// ingress controller's namespace.
func hostingNetworkPolicy(controllerNamespace string) networkingv1.NetworkPolicySpec {
	return networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{},
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		Ingress: []networkingv1.NetworkPolicyIngressRule{{
			From: []networkingv1.NetworkPolicyPeer{
				{PodSelector: &metav1.LabelSelector{}},
				{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
					corev1.LabelMetadataName: controllerNamespace,
				}}},
			},
		}},
	}
}

// ensureCredentials creates the credentials Secret. The password is made once and
// kept; a new value of the rotate-credentials annotation makes a new one. Removing
// the annotation is no new value: the password and the record of the last rotation
// stay. That record is status.credentialsRotation, copied to the Secret's rotated-for
// annotation in the same write as the password: a rotated-for equal to the rotation
// asked for means a pass rotated and its status write was lost; any other value on
// the Secret (or none: an OPD admin may edit it) is put back from status. With no
// record in status yet (a Secret made before it kept one), the Secret's is taken.
// Sets CredentialsReady. Ends with a Conflict when a Secret of that name exists and
// was not created for this request.
func (r *SubdomainRequestReconciler) ensureCredentials(ctx context.Context, s *requestScope) (bool, error) {
	sec := &corev1.Secret{ObjectMeta: s.child(sdv1.CredentialsSecretName)}
	rotate := s.req.Annotations[sdv1.AnnotationRotateCredentials]
	rotated := false
	record := s.req.Status.CredentialsRotation
	err := r.ensure(ctx, s, sdv1.ConditionCredentialsReady, sec, func() error {
		sec.Type = corev1.SecretTypeOpaque
		if sec.Data == nil {
			sec.Data = map[string][]byte{}
		}
		for k, v := range map[string]string{
			sdv1.SecretKeyFQDN: s.fqdn, sdv1.SecretKeySubdomain: s.label, sdv1.SecretKeyZone: s.zone.Spec.Domain,
			sdv1.SecretKeyAddress: s.addr.String(), sdv1.SecretKeyUsername: s.req.Spec.OPD.Code,
			sdv1.SecretKeyURL: siteURL(s),
		} {
			sec.Data[k] = []byte(v)
		}
		if a := sec.Annotations[sdv1.AnnotationRotatedFor]; a != "" && (a == rotate || record == "") {
			record = a // a rotation whose status write was lost, or a Secret older than the status field
		}
		_, has := sec.Data[sdv1.SecretKeyPassword]
		if !has || (rotate != "" && rotate != record) {
			rotated = has
			sec.Data[sdv1.SecretKeyPassword] = []byte(credentials.NewPassword())
			if rotate != "" {
				record = rotate
			}
		}
		if record != "" {
			setAnnotation(sec, sdv1.AnnotationRotatedFor, record)
		}
		return nil
	})
	if err != nil {
		return true, err
	}
	if record != "" {
		s.req.Status.CredentialsRotation = record
	}
	if rotated {
		r.Recorder.Eventf(s.req, nil, corev1.EventTypeNormal, "CredentialsRotated", "Rotate",
			"a new password was written to Secret %s/%s", s.namespace, sdv1.CredentialsSecretName)
	}
	s.req.Status.CredentialsSecret = &sdv1.SecretReference{Namespace: s.namespace, Name: sdv1.CredentialsSecretName}
	s.setCondition(sdv1.ConditionCredentialsReady, true, "Created",
		fmt.Sprintf("Secret %s/%s holds the site's credentials", s.namespace, sdv1.CredentialsSecretName))
	return false, nil
}

func siteURL(s *requestScope) string {
	if s.zone.Spec.Ingress.ClusterIssuer != "" {
		return "https://" + s.fqdn
	}
	return "http://" + s.fqdn
}

// ensureIngress routes the FQDN to the OPD's Service, with TLS from the zone's
// ClusterIssuer when it names one.
// Sets IngressReady. Ends with a Conflict when an Ingress of that name exists and was
// not created for this request.
func (r *SubdomainRequestReconciler) ensureIngress(ctx context.Context, s *requestScope) (bool, error) {
	ing := &networkingv1.Ingress{ObjectMeta: s.child(s.req.Name)}
	svc := s.req.Spec.Hosting.Service
	err := r.ensureAdmitted(ctx, s, func() error { return r.ensureIngressObject(ctx, s, ing, svc) })
	if err != nil {
		return true, err
	}
	s.setCondition(sdv1.ConditionIngressReady, true, "Created", fmt.Sprintf(
		"Ingress %s/%s routes %s to Service %s:%d", s.namespace, s.req.Name, s.fqdn, svc.Name, svc.Port))
	return false, nil
}

// admissionLagRetries and admissionLagDelay bound ensureAdmitted's wait, for refusals
// by the policy hostingHostnamesPolicy (config/policies) only.
const (
	hostingHostnamesPolicy = "subdomain-hosting-hostnames"
	admissionLagRetries    = 3
	admissionLagDelay      = 100 * time.Millisecond
)

// ensureAdmitted runs write, the Ingress's ensure, and when this pass changed the names
// the hosting namespace may serve and the write was refused as Forbidden by the policy
// subdomain-hosting-hostnames (not RBAC, not another policy), runs it again
// a few times, admissionLagDelay apart: the policy subdomain-hosting-hostnames reads the
// namespace from the API server's own cache, which may not show the names written
// moments ago. A rename would otherwise show a served site as failing for a moment
// (phase Provisioning, ReconcileError) until the retry.
func (r *SubdomainRequestReconciler) ensureAdmitted(ctx context.Context, s *requestScope, write func() error) error {
	for try := 0; ; try++ {
		err := write()
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), hostingHostnamesPolicy) || !s.hostsWritten || try == admissionLagRetries {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(admissionLagDelay):
		}
	}
}

// ensureIngressObject is ensureIngress's ensure of ing.
func (r *SubdomainRequestReconciler) ensureIngressObject(ctx context.Context, s *requestScope, ing *networkingv1.Ingress, svc sdv1.ServiceRef) error {
	return r.ensure(ctx, s, sdv1.ConditionIngressReady, ing, func() error {
		class := s.zone.Spec.Ingress.ClassName
		ing.Spec.IngressClassName = &class
		prefix := networkingv1.PathTypePrefix
		ing.Spec.Rules = nil
		for _, host := range s.hosts() {
			ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{
				Host: host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path: "/", PathType: &prefix,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: svc.Name, Port: networkingv1.ServiceBackendPort{Number: svc.Port},
						}},
					}},
				}},
			})
		}
		ing.Spec.TLS = nil
		annotations := ing.GetAnnotations()
		delete(annotations, annotationClusterIssuer)
		ing.SetAnnotations(annotations)
		if issuer := s.zone.Spec.Ingress.ClusterIssuer; issuer != "" {
			setAnnotation(ing, annotationClusterIssuer, issuer)
			ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: s.hosts(), SecretName: s.req.Name + "-tls"}}
		}
		if len(ing.Annotations) == 0 {
			ing.Annotations = nil
		}
		return nil
	})
}

// hosts are the names the site answers to: its name and the old names in grace.
func (s *requestScope) hosts() []string { return append([]string{s.fqdn}, s.retiring...) }

// ensureDNS writes the DNSEndpoint external-dns publishes: A (or AAAA) fqdn -> address.
// Sets DNSReady: the record is handed to external-dns; the operator does not claim it
// is published (see docs: DNSReady). Ends with Waiting when the zone's DNS namespace
// does not exist.
func (r *SubdomainRequestReconciler) ensureDNS(ctx context.Context, s *requestScope) (bool, error) {
	dnsNS := s.zone.Spec.DNS.Namespace
	ep := &dnsv1.DNSEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: dnsNS, Name: s.req.Name}}
	rtype := endpoint.RecordTypeA
	if s.addr.Is6() {
		rtype = endpoint.RecordTypeAAAA
	}
	// ep is left as it was asked for when this process created it moments ago and the
	// cache does not show it yet: what follows reads nothing from it but its key.
	err := r.ensure(ctx, s, sdv1.ConditionDNSReady, ep, func() error {
		ttl := endpoint.TTL(s.zone.Spec.DNS.TTL)
		ep.Spec.Endpoints = []*endpoint.Endpoint{endpoint.NewEndpointWithTTL(s.fqdn, rtype, ttl, s.addr.String())}
		for _, old := range s.retiring {
			ep.Spec.Endpoints = append(ep.Spec.Endpoints, endpoint.NewEndpointWithTTL(old, endpoint.RecordTypeCNAME, ttl, s.fqdn))
		}
		return nil
	})
	if namespaceMissing(err) {
		return true, reconcileerr.NewWaiting(sdv1.ConditionDNSReady, "DNSNamespaceMissing", conflictRetry,
			"namespace %s (zone spec.dns.namespace) does not exist; create it for DNSEndpoint objects", dnsNS)
	}
	if err != nil {
		return true, err
	}
	if err := r.dropStrayRecords(ctx, s, ep); err != nil {
		return true, err
	}
	s.setCondition(sdv1.ConditionDNSReady, true, "RecordHandedToExternalDNS", fmt.Sprintf(
		"DNSEndpoint %s/%s asks external-dns for %s %s -> %s (TTL %ds)", dnsNS, s.req.Name,
		rtype, s.fqdn, s.addr, s.zone.Spec.DNS.TTL))
	return false, nil
}

// dropStrayRecords deletes the request's DNSEndpoints other than ep that publish its
// names: left in the zone's previous spec.dns.namespace when that changed. They are
// found through the served-names index, and deleted after ep is in place, so that the
// names never stop resolving.
func (r *SubdomainRequestReconciler) dropStrayRecords(ctx context.Context, s *requestScope, ep *dnsv1.DNSEndpoint) error {
	for _, name := range append([]string{s.fqdn}, s.retiring...) {
		objs, err := r.dnsNames.ByIndex(servedNames, name)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if o, ok := o.(*dnsv1.DNSEndpoint); ok {
				if err := r.deleteStray(ctx, s, o, client.ObjectKeyFromObject(ep)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// deleteStray deletes o, a cached object, if it is the request's child, not keep and
// not being deleted already: the zone no longer puts it there. It says so in an Event,
// once (one already gone is not told again).
func (r *SubdomainRequestReconciler) deleteStray(ctx context.Context, s *requestScope, o client.Object, keep client.ObjectKey) error {
	if !mine(o, s.req) || !o.GetDeletionTimestamp().IsZero() || client.ObjectKeyFromObject(o) == keep {
		return nil
	}
	obj := o.DeepCopyObject().(client.Object) // the cache's copy is only read
	uid := o.GetUID()
	if err := r.Delete(ctx, obj, client.Preconditions{UID: &uid}); err != nil {
		return client.IgnoreNotFound(err)
	}
	r.Recorder.Eventf(s.req, nil, corev1.EventTypeNormal, "Moved", "Delete",
		"deleted %s: the zone %s no longer puts it there", describe(r, obj), s.zone.Name)
	return nil
}

// announceAddress, for pool zones with an ingress.controllerSelector, creates the
// LoadBalancer Service that makes the cluster's load balancer announce the address in
// front of the shared ingress controller. Once it is in place it deletes the request's
// Service of any other namespace (the zone's ingress.controllerNamespace changed), so
// that the old one gives the address up only then; when the zone no longer announces
// it deletes every one - except while a served site keeps its pool address in a zone
// switched to a taken sharedAddress.
// Sets AddressAssigned from the Service's status; returns early, AddressAssigned
// ControllerNamespaceMissing and the old Service kept, while the zone's
// controllerNamespace does not exist; Waiting (WaitingForLoadBalancer) after deleting
// its own Service of the other address family, made anew on the next pass; and for
// zones that do not announce (assignAddress set the condition).
func (r *SubdomainRequestReconciler) announceAddress(ctx context.Context, s *requestScope) (bool, error) {
	if shared, err := netip.ParseAddr(s.zone.Spec.SharedAddress); err == nil && s.addr != shared {
		// A served site that keeps its pool address while another request holds
		// the zone's new sharedAddress (AddressConflict) keeps what announces it.
		return false, nil
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{
		Namespace: s.zone.Spec.Ingress.ControllerNamespace, Name: sdv1.LoadBalancerServicePrefix + s.req.Name,
	}}
	if !announces(s.zone) {
		return false, r.dropStrayServices(ctx, s, svc)
	}
	addr := s.addr.String()
	family := corev1.IPv4Protocol
	if s.addr.Is6() {
		family = corev1.IPv6Protocol
	}
	// A Service's first family never changes (the API server refuses it): one of the
	// other family - the request took an address of the other family, or an earlier
	// version left it the cluster's first - is made anew (it announced nothing).
	cur := &corev1.Service{}
	if err := r.Get(ctx, client.ObjectKeyFromObject(svc), cur); err == nil && mine(cur, s.req) && cur.DeletionTimestamp.IsZero() &&
		len(cur.Spec.IPFamilies) > 0 && cur.Spec.IPFamilies[0] != family {
		uid := cur.UID
		if err := r.Delete(ctx, cur.DeepCopy(), client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
			return true, err
		}
		return true, reconcileerr.NewWaiting(sdv1.ConditionAddressAssigned, "WaitingForLoadBalancer", time.Second,
			"Service %s/%s was of family %s: it is made anew for %s", svc.Namespace, svc.Name, cur.Spec.IPFamilies[0], addr)
	}
	err := r.ensure(ctx, s, sdv1.ConditionAddressAssigned, svc, func() error {
		svc.Spec.Type = corev1.ServiceTypeLoadBalancer
		// MetalLB and Cilium announce the address themselves: no node ports, which
		// would take two of the cluster's ~2,700 per request and open the ingress
		// controller on every node.
		svc.Spec.AllocateLoadBalancerNodePorts = new(false)
		svc.Spec.LoadBalancerIP = addr //nolint:staticcheck // still read by many load balancers
		setAnnotation(svc, annotationMetalLBIPs, addr)
		setAnnotation(svc, annotationCiliumIPs, addr)
		svc.Spec.Selector = sdv1.Selector(s.zone.Spec.Ingress.ControllerSelector)
		svc.Spec.Ports = lbPorts()
		// The address's family: left to the API server, a Service takes the
		// cluster's first family, and a load balancer refuses an address of the
		// other (MetalLB: "does not match the ipFamily of the service"). A cluster
		// without it refuses the Service, which says so (ChildRefused).
		svc.Spec.IPFamilies = []corev1.IPFamily{family}
		svc.Spec.IPFamilyPolicy = new(corev1.IPFamilyPolicySingleStack)
		return nil
	})
	if namespaceMissing(err) {
		return true, reconcileerr.NewWaiting(sdv1.ConditionAddressAssigned, "ControllerNamespaceMissing", conflictRetry,
			"namespace %s (SubdomainZone %s spec.ingress.controllerNamespace) does not exist; the load balancer Service goes there once it does, and any Service of the request elsewhere is kept until then",
			svc.Namespace, s.zone.Name)
	}
	if err != nil {
		return true, err
	}
	if err := r.dropStrayServices(ctx, s, svc); err != nil {
		return true, err
	}
	announced := slices.ContainsFunc(svc.Status.LoadBalancer.Ingress, func(i corev1.LoadBalancerIngress) bool { return i.IP == addr })
	if !announced {
		s.setCondition(sdv1.ConditionAddressAssigned, false, "WaitingForLoadBalancer", fmt.Sprintf(
			"Service %s/%s asks the load balancer for %s; it has not reported it yet", svc.Namespace, svc.Name, addr))
		return false, nil
	}
	s.setCondition(sdv1.ConditionAddressAssigned, true, "Announced", fmt.Sprintf(
		"the load balancer announces %s (Service %s/%s) in front of the ingress controller", addr, svc.Namespace, svc.Name))
	return false, nil
}

// dropStrayServices deletes the request's load balancer Services other than want (all
// of them when the zone does not announce), found through the cache's index of
// Services by request.
func (r *SubdomainRequestReconciler) dropStrayServices(ctx context.Context, s *requestScope, want *corev1.Service) error {
	list := &corev1.ServiceList{}
	if err := r.List(ctx, list, client.MatchingFields{indexRequestLabel: s.req.Name}); err != nil {
		return err
	}
	var keep client.ObjectKey // none, unless the zone announces
	if announces(s.zone) {
		keep = client.ObjectKeyFromObject(want)
	}
	for i := range list.Items {
		if err := r.deleteStray(ctx, s, &list.Items[i], keep); err != nil {
			return err
		}
	}
	return nil
}

// lbPorts are ports 80/443 to the controller's http/https, without node ports: a
// Service made before allocateLoadBalancerNodePorts was false gives its node ports
// back (the API server keeps them until they are cleared).
func lbPorts() []corev1.ServicePort {
	return []corev1.ServicePort{
		{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
		{Name: "https", Port: 443, TargetPort: intstr.FromString("https"), Protocol: corev1.ProtocolTCP},
	}
}

// namespaceExists reads from the API server (through reader, uncached: the cache
// holds only the operator's own namespaces) whether namespace name exists, by its
// metadata alone.
func namespaceExists(ctx context.Context, reader client.Reader, name string) (bool, error) {
	err := reader.Get(ctx, types.NamespacedName{Name: name}, &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// namespaceMissing tells whether err is the API server's "namespace not found" for a
// write into a namespace that does not exist - not another 404 (the object deleted
// between the cache's read and the write, a kind whose CRD is gone).
func namespaceMissing(err error) bool {
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) {
		return false
	}
	d := status.Status().Details
	return d != nil && d.Kind == "namespaces"
}
