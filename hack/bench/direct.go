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

package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	dnsv1 "sigs.k8s.io/external-dns/apis/v1alpha1"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// childrenByRequest reads the objects the operator made for the batch's requests, by
// request name: the claims, the namespace, its quota, limits, network policy, admin
// binding, Ingress and Secret, and the DNSEndpoint, in the order the operator creates
// them.
func childrenByRequest(ctx context.Context, c client.Client) (map[string][]client.Object, error) {
	lists := []client.ObjectList{
		&sdv1.SubdomainClaimList{}, &corev1.NamespaceList{}, &corev1.ResourceQuotaList{},
		&corev1.LimitRangeList{}, &networkingv1.NetworkPolicyList{}, &rbacv1.RoleBindingList{},
		&networkingv1.IngressList{}, &corev1.SecretList{}, &dnsv1.DNSEndpointList{},
	}
	byRequest := map[string][]client.Object{}
	for _, l := range lists {
		if err := c.List(ctx, l, client.HasLabels{sdv1.LabelRequest}); err != nil {
			return nil, err
		}
		items, err := itemsOf(l)
		if err != nil {
			return nil, err
		}
		for _, o := range items {
			req := o.GetLabels()[sdv1.LabelRequest]
			byRequest[req] = append(byRequest[req], o)
		}
	}
	return byRequest, nil
}

// copiesOfChildren returns, per request opd<i> of the batch's n, copies of its
// children (byRequest) to create under other names (prefix: dir for the direct loop,
// flr for the floor loop), with the same labels, annotations, owner reference, spec
// and Secret keys. Every occurrence of the request's name becomes <prefix><i> (the
// same length), and an address claim ip-10-0-... becomes ip-<octet>-0-...; the
// server's fields (uid, resourceVersion, managedFields, status) are dropped. So a loop
// sends what the operator's creates send and passes the same admission policies (the
// copied namespace carries the request label that hosting-hostnames selects on).
func copiesOfChildren(scheme *runtime.Scheme, byRequest map[string][]client.Object, n int, prefix, octet string) ([][]client.Object, error) {
	out := make([][]client.Object, n)
	for i := range n {
		from, to := fmt.Sprintf("opd%05d", i), fmt.Sprintf("%s%05d", prefix, i)
		if len(byRequest[from]) == 0 {
			return nil, fmt.Errorf("no children of %s to copy", from)
		}
		for _, o := range byRequest[from] {
			cp, err := renamed(scheme, o, from, to, octet)
			if err != nil {
				return nil, err
			}
			out[i] = append(out[i], cp)
		}
	}
	return out, nil
}

// itemsOf returns a list's items as objects, an FQDN claim before an address claim
// (the operator takes the name first).
func itemsOf(l client.ObjectList) ([]client.Object, error) {
	items, err := meta.ExtractList(l)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(items))
	for _, o := range items {
		out = append(out, o.(client.Object))
	}
	slices.SortStableFunc(out, func(a, b client.Object) int {
		return cmp.Compare(claimOrder(a), claimOrder(b))
	})
	return out, nil
}

func claimOrder(o client.Object) int {
	if c, ok := o.(*sdv1.SubdomainClaim); ok && c.Spec.Type != sdv1.ClaimTypeFQDN {
		return 1
	}
	return 0
}

// renamed is a copy of o, to create anew, with from replaced by to everywhere and an
// address claim's first octet by octet; scheme knows o's type.
func renamed(scheme *runtime.Scheme, o client.Object, from, to, octet string) (client.Object, error) {
	raw, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(raw), from, to)), &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	md, _ := m["metadata"].(map[string]any)
	for _, k := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"} {
		delete(md, k)
	}
	if name, _ := md["name"].(string); strings.HasPrefix(name, "ip-10-0-") {
		md["name"] = "ip-" + octet + "-0-" + strings.TrimPrefix(name, "ip-10-0-")
	}
	gvk, err := apiutil.GVKForObject(o, scheme)
	if err != nil {
		return nil, err
	}
	fresh, err := scheme.New(gvk)
	if err != nil {
		return nil, err
	}
	if raw, err = json.Marshal(m); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, fresh); err != nil {
		return nil, err
	}
	return fresh.(client.Object), nil
}

// direct creates objs[i] for every i, from the benchmark's workers, with a client
// limited to the operator's QPS and burst, and after each request's objects a
// ConfigMap standing in for the operator's status write. It returns the time taken.
func direct(base *rest.Config, objs [][]client.Object, qps float64, burst int) time.Duration {
	return createLoop(base, len(objs), qps, burst, func(ctx context.Context, c client.Client, i int) error {
		ns, err := createAll(ctx, c, objs[i])
		if err != nil {
			return err
		}
		return c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "status-write-stand-in"}})
	})
}

// floorLoop makes, per request, the calls the design cannot do without, and nothing
// else: the user's create of an approved request flr<i> (through the same admission
// policies), copies of the batch's children (objs[i]), and one status write that
// makes it Ready: a merge patch of the status subresource with the batch request's
// own Ready status (statuses[i], renamed), under the manager's field manager so that
// managedFields are alike. No Event, no ledger record, no reads, no watches: the
// time of an operator that costs nothing itself. It returns the time taken.
func floorLoop(base *rest.Config, objs [][]client.Object, statuses [][]byte, qps float64, burst int) time.Duration {
	return createLoop(base, len(objs), qps, burst, func(ctx context.Context, c client.Client, i int) error {
		req := approvedRequest(fmt.Sprintf("flr%05d", i))
		if err := c.Create(ctx, req); err != nil {
			return fmt.Errorf("floor create %s: %w", req.Name, err)
		}
		if _, err := createAll(ctx, c, objs[i]); err != nil {
			return err
		}
		patch := client.RawPatch(types.MergePatchType, statuses[i])
		if err := c.Status().Patch(ctx, req, patch, client.FieldOwner(manager.FieldManager)); err != nil {
			return fmt.Errorf("floor status %s: %w", req.Name, err)
		}
		return nil
	})
}

// readyStatuses returns, per request opd<i> of the batch's n, a merge patch setting
// the status it has now (Ready) with opd<i> renamed to flr<i>.
func readyStatuses(ctx context.Context, c client.Client, n int) ([][]byte, error) {
	list := &sdv1.SubdomainRequestList{}
	if err := c.List(ctx, list); err != nil {
		return nil, err
	}
	byName := make(map[string]*sdv1.SubdomainRequest, len(list.Items))
	for i := range list.Items {
		byName[list.Items[i].Name] = &list.Items[i]
	}
	out := make([][]byte, n)
	for i := range n {
		from, to := fmt.Sprintf("opd%05d", i), fmt.Sprintf("flr%05d", i)
		r := byName[from]
		if r == nil {
			return nil, fmt.Errorf("no request %s", from)
		}
		if r.Status.Phase != sdv1.PhaseReady {
			return nil, fmt.Errorf("%s is %s, not Ready", from, r.Status.Phase)
		}
		raw, err := json.Marshal(map[string]any{"status": r.Status})
		if err != nil {
			return nil, err
		}
		out[i] = []byte(strings.ReplaceAll(string(raw), from, to))
	}
	return out, nil
}

// createAll creates objs in order and returns the namespace among them.
func createAll(ctx context.Context, c client.Client, objs []client.Object) (ns string, err error) {
	for _, o := range objs {
		if _, ok := o.(*corev1.Namespace); ok {
			ns = o.GetName()
		}
		if err := c.Create(ctx, o); err != nil {
			return "", fmt.Errorf("create %T %s: %w", o, o.GetName(), err)
		}
	}
	return ns, nil
}

// createLoop runs each for 0..n-1 from the benchmark's workers, with a client limited
// to the operator's QPS and burst and asking for no compression (as the manager's
// clients, --kube-api-compression=false), and returns the time taken.
func createLoop(base *rest.Config, n int, qps float64, burst int, each func(ctx context.Context, c client.Client, i int) error) time.Duration {
	cfg := rest.CopyConfig(base)
	cfg.QPS, cfg.Burst = float32(qps), burst
	cfg.DisableCompression = true
	c, err := client.New(cfg, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		fail("%v", err)
	}
	ctx := context.Background()
	start := time.Now()
	if err := testenv.ForEach(n, *workers, func(i int) error { return each(ctx, c, i) }); err != nil {
		fail("%v", err)
	}
	return time.Since(start)
}
