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

package admission_test

import (
	"context"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestOperatorRoleByName: the manager's ClusterRole grants the reads, watches and
// patches of the hosting children - Secret, quota, limit range, network policy, admin
// binding - for their fixed names only (create cannot be limited by name): a stolen
// token of the manager reads no other Secret of the cluster and patches no other
// binding. The manager, running as its service account with that role, provisions a
// request and repairs its quota's drift: its cache asks for the children by name.
func TestOperatorRoleByName(t *testing.T) {
	env, u := start(t)
	ctx := context.Background()
	if err := u.admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ingress-nginx"}}); err != nil {
		t.Fatal(err)
	}
	op, _, _ := runOperator(t, env, u)
	r := request("bapenda", "bapenda")
	r.Annotations = map[string]string{sdv1.AnnotationApproved: "bapenda"}
	if err := u.approver.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := waitReady(u, "bapenda"); err != nil {
		t.Fatalf("bapenda not Ready with the operator's generated RBAC: %v", err)
	}

	const core, netv1, rbac = "", "networking.k8s.io", "rbac.authorization.k8s.io"
	for _, c := range []struct {
		verb, group, resource, ns, name string
		allowed                         bool
	}{
		{"get", core, "secrets", "opd-bapenda", sdv1.CredentialsSecretName, true},
		{"list", core, "secrets", "", sdv1.CredentialsSecretName, true}, // the cache's list, by field selector
		{"watch", core, "secrets", "", sdv1.CredentialsSecretName, true},
		{"patch", core, "secrets", "opd-bapenda", sdv1.CredentialsSecretName, true},
		{"create", core, "secrets", "opd-bapenda", "", true},
		{"get", core, "secrets", "kube-system", "bootstrap-token-abcdef", false},
		{"list", core, "secrets", "", "", false},
		{"watch", core, "secrets", "kube-system", "", false},
		{"patch", core, "secrets", "opd-bapenda", "other", false},
		{"get", core, "resourcequotas", "opd-bapenda", sdv1.HostingObjectName, true},
		{"patch", core, "limitranges", "opd-bapenda", sdv1.HostingObjectName, true},
		{"list", core, "resourcequotas", "", "", false},
		{"patch", core, "limitranges", "kube-system", "limits", false},
		{"patch", netv1, "networkpolicies", "opd-bapenda", sdv1.HostingObjectName, true},
		{"list", netv1, "networkpolicies", "", "", false},
		{"patch", netv1, "networkpolicies", "opd-bapenda", "allow-all", false},
		{"patch", rbac, "rolebindings", "opd-bapenda", sdv1.AdminRoleBindingName, true},
		{"get", rbac, "rolebindings", "kube-system", "system:controller:bootstrap-signer", false},
		{"patch", rbac, "rolebindings", "opd-bapenda", "extra-admin", false},
		{"create", rbac, "rolebindings", "opd-bapenda", "", true},
	} {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: operatorUser,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:subdomain-system", "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: c.verb, Group: c.group, Resource: c.resource,
				Namespace: c.ns, Name: c.name}}}
		if err := u.admin.Create(ctx, sar); err != nil {
			t.Fatal(err)
		}
		if sar.Status.Allowed != c.allowed {
			t.Errorf("the operator may %s %s %s/%s: %v, want %v (%s)", c.verb, c.resource, c.ns, c.name, sar.Status.Allowed, c.allowed, sar.Status.Reason)
		}
	}
	// As the API server answers the manager's own client.
	oc, err := client.New(op.Config(), client.Options{Scheme: manager.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	if err := oc.List(ctx, &corev1.SecretList{}); !apierrors.IsForbidden(err) {
		t.Errorf("the operator listed every Secret of the cluster: %v, want Forbidden", err)
	}
	if err := oc.List(ctx, &corev1.SecretList{}, client.MatchingFieldsSelector{
		Selector: fields.OneTermEqualSelector("metadata.name", sdv1.CredentialsSecretName)}); err != nil {
		t.Errorf("the operator's list of its credentials Secrets by name: %v", err)
	}

	// Drift repair patches by name: a quota edited by hand is put back.
	key := types.NamespacedName{Namespace: "opd-bapenda", Name: sdv1.HostingObjectName}
	quota := &corev1.ResourceQuota{}
	if err := u.admin.Get(ctx, key, quota); err != nil {
		t.Fatal(err)
	}
	want := quota.Spec.Hard[corev1.ResourcePods]
	if err := testenv.Edit(ctx, u.admin, quota, func(q *corev1.ResourceQuota) { q.Spec.Hard[corev1.ResourcePods] = resource.MustParse("1") }); err != nil {
		t.Fatal(err)
	}
	err = testenv.WaitFor(ctx, u.admin, key, &corev1.ResourceQuota{}, 60*time.Second, 200*time.Millisecond, func(q *corev1.ResourceQuota) bool {
		got := q.Spec.Hard[corev1.ResourcePods]
		return got.Cmp(want) == 0
	})
	if err != nil {
		t.Errorf("the quota edited by hand was not put back to %s pods: %v", want.String(), err)
	}
}
