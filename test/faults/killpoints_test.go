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

package faults_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// managerUser is the user of the admin kubeconfig testenv writes (env.Kubeconfig),
// which the managers run with. The test's own client is envtest's "default" user, so
// a policy that matches only managerUser stops the operator and nobody else.
const managerUser = "testenv-admin"

// barrier is a ValidatingAdmissionPolicy (with its binding) that denies the manager
// one kind of write: the operator stops at a known step of provisioning, and the test
// kills it there.
type barrier struct {
	name     string // of the policy and binding
	group    string
	resource string // e.g. "namespaces", "subdomainrequests/status"
	op       admissionregistrationv1.OperationType
	// probe makes, as the manager, a dry-run write of the kind the policy denies.
	probe func(ctx context.Context, c client.Client) error
}

// marker is in every denial's message, so that a condition quoting it is known to be
// the barrier's doing.
func (b barrier) marker() string { return "faults-barrier " + b.name }

func (b barrier) objects() (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	fail := admissionregistrationv1.Fail
	pol := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: b.name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{b.op},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{b.group}, APIVersions: []string{"*"},
						Resources: []string{b.resource}},
				},
			}}},
			MatchConditions: []admissionregistrationv1.MatchCondition{{
				Name: "the-manager", Expression: fmt.Sprintf("request.userInfo.username == %q", managerUser),
			}},
			// No reason: Invalid (422), which the operator reports as ChildRefused on the
			// child's condition (controllers/ensure.go refused).
			Validations: []admissionregistrationv1.Validation{{Expression: "false", Message: b.marker()}},
		},
	}
	bind := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: b.name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: b.name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}},
	}
	return pol, bind
}

// denies tells whether the probe's error is this barrier's denial.
func (b barrier) denies(err error) bool {
	return err != nil && strings.Contains(err.Error(), b.marker())
}

// raise installs the barrier and waits until the API server enforces it on the manager's
// user. It returns the function that removes it and waits until it no longer denies.
func (w *world) raise(t *testing.T, b barrier) (lower func()) {
	t.Helper()
	pol, bind := b.objects()
	for _, o := range []client.Object{pol, bind} {
		if err := w.c.Create(w.ctx, o); err != nil {
			t.Fatalf("barrier %s: %v", b.name, err)
		}
	}
	var last error
	if err := testenv.Eventually(w.ctx, time.Minute, 100*time.Millisecond, func() (bool, error) {
		last = b.probe(w.ctx, w.asManager)
		return b.denies(last), nil
	}); err != nil {
		t.Fatalf("barrier %s is not enforced: %v; the manager's probe write got: %v", b.name, err, last)
	}
	return func() {
		t.Helper()
		for _, o := range []client.Object{bind, pol} {
			if err := w.c.Delete(w.ctx, o); err != nil && !apierrors.IsNotFound(err) {
				t.Fatalf("removing barrier %s: %v", b.name, err)
			}
		}
		if err := testenv.Eventually(w.ctx, time.Minute, 100*time.Millisecond, func() (bool, error) {
			last = b.probe(w.ctx, w.asManager)
			return last == nil, nil
		}); err != nil {
			t.Fatalf("barrier %s still denies after removal: %v; the manager's probe write got: %v", b.name, err, last)
		}
	}
}

// managerClient is a client as the managers' user (for the barriers' probes).
func managerClient(t *testing.T, kubeconfig string) client.Client {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// probeObjects are what the probes write (dry run only): nothing of the operator's.
const probeName = "faults-probe"

var (
	denyNamespaces = barrier{name: "faults-deny-namespaces", group: "", resource: "namespaces",
		op: admissionregistrationv1.Create, probe: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: probeName}}, client.DryRunAll)
		}}
	denyQuotas = barrier{name: "faults-deny-resourcequotas", group: "", resource: "resourcequotas",
		op: admissionregistrationv1.Create, probe: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: dnsNamespace, Name: probeName}},
				client.DryRunAll)
		}}
	denySecrets = barrier{name: "faults-deny-secrets", group: "", resource: "secrets",
		op: admissionregistrationv1.Create, probe: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: dnsNamespace, Name: probeName}},
				client.DryRunAll)
		}}
)

// denyStatus stops the manager's writes of requests' status (a merge patch is an
// UPDATE to admission); its probe is a dry-run status patch of request probe.
func denyStatus(probe string) barrier {
	return barrier{name: "faults-deny-request-status", group: sdv1.GroupVersion.Group, resource: "subdomainrequests/status",
		op: admissionregistrationv1.Update, probe: func(ctx context.Context, c client.Client) error {
			r := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: probe}}
			return c.Status().Patch(ctx, r, client.RawPatch(types.MergePatchType, []byte(`{"status":{"phase":"Pending"}}`)),
				client.DryRunAll)
		}}
}
