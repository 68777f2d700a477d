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

// Package admission tests, with real impersonated users against a real API server, the
// admission policies and RBAC shipped in config/: approval authority, the approved-by
// stamp, tenant host isolation, least-privilege manager RBAC, the label-scoped Secret
// cache and the restricted manager pod.
package admission_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/controllers"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

const operatorUser = "system:serviceaccount:subdomain-system:subdomain-operator"

type users struct {
	admin, editor, approver, opdAdmin client.Client
}

// start starts the control plane with the shipped RBAC and policies, more CRDs if
// given, and the test's users.
func start(t *testing.T, crds ...string) (*testenv.Env, users) {
	t.Helper()
	root := testenv.RepoRoot()
	env := testenv.StartForTest(t, testenv.Options{ControllerManager: true, CRDs: crds, ExtraManifests: []string{
		filepath.Join(root, "config", "namespace", "namespace.yaml"),
		filepath.Join(root, "config", "rbac"),
		filepath.Join(root, "config", "policies"),
	}})
	bind(t, env.Client, "platform-edits", "subdomain-editor", rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "platform-team"})
	bind(t, env.Client, "kadis-approves", "subdomain-approver", rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "kadis"})
	u := users{admin: env.Client,
		editor:   userClient(t, env, "pat", "platform-team"),
		approver: userClient(t, env, "kadis", "platform-team"),
		opdAdmin: userClient(t, env, "budi", "opd:dinkes"),
	}
	waitForPolicies(t, u)
	return env, u
}

// bind binds ClusterRole role to subject, as admin.
func bind(t *testing.T, admin client.Client, name, role string, subject rbacv1.Subject) {
	t.Helper()
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects: []rbacv1.Subject{subject}}
	if err := admin.Create(context.Background(), crb); err != nil {
		t.Fatal(err)
	}
}

// userClient adds user name, in groups, to the control plane and returns its client.
func userClient(t *testing.T, env *testenv.Env, name string, groups ...string) client.Client {
	t.Helper()
	au, err := env.AddUser(name, groups...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(au.Config(), client.Options{Scheme: manager.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// namespaceEditor returns a client of user "nina", who may create and edit namespaces
// (a cluster-scoped grant, as a platform team's namespace provisioner has) and nothing else.
func namespaceEditor(t *testing.T, env *testenv.Env, u users) client.Client {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "namespace-editor"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces", "namespaces/status", "namespaces/finalize"},
			Verbs: []string{"get", "list", "watch", "create", "update", "patch"}}}}
	if err := u.admin.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	bind(t, u.admin, "nina-edits-namespaces", role.Name, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "nina"})
	c := userClient(t, env, "nina")
	// The API server learns of the binding through its watch: wait until it admits her.
	err := testenv.Eventually(ctx, 30*time.Second, 100*time.Millisecond, func() (bool, error) {
		probe := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "nina-probe"}}
		return c.Create(ctx, probe, client.DryRunAll) == nil, nil
	})
	if err != nil {
		t.Fatalf("user nina never got her ClusterRole: %v", err)
	}
	return c
}

// waitForPolicies waits until the API server enforces the policies: right after they
// are created (and the CRD with them) they may not type-check yet.
func waitForPolicies(t *testing.T, u users) {
	t.Helper()
	ctx := context.Background()
	probe := request("probe", "probe")
	probe.Annotations = map[string]string{sdv1.AnnotationApproved: "probe"}
	err := testenv.Eventually(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
		denied := u.editor.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		if denied == nil || !strings.Contains(denied.Error(), `verb "approve"`) {
			return false, nil
		}
		stamped := probe.DeepCopy()
		if err := u.approver.Create(ctx, stamped, client.DryRunAll); err != nil {
			return false, nil
		}
		return stamped.Annotations[sdv1.AnnotationApprovedBy] == "kadis" && slices.Contains(stamped.Finalizers, sdv1.Finalizer), nil
	})
	if err != nil {
		t.Fatalf("the admission policies are not enforced: %v", err)
	}
}

// runOperator runs the operator as its service account, with only its generated RBAC,
// and creates zone pontianak; it returns that user, the operator's context and the
// counter of the operator's API writes.
func runOperator(t *testing.T, env *testenv.Env, u users) (*envtest.AuthenticatedUser, context.Context, *testenv.WriteCounter) {
	t.Helper()
	op, err := env.AddUser(operatorUser)
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	writes := &testenv.WriteCounter{}
	// With leader election, as deployed: the lease and its Events are the manager's too.
	env.RunOperator(t, mctx, writes.Wrap(op.Config()), manager.Config{LeaderElection: true, LeaderElectionNamespace: "subdomain-system"})
	// Leader election records a core/v1 Event; the shipped RBAC must allow it.
	err = testenv.Eventually(mctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
		events := &corev1.EventList{}
		if err := u.admin.List(mctx, events, client.InNamespace("subdomain-system")); err != nil {
			return false, err
		}
		return slices.ContainsFunc(events.Items, func(e corev1.Event) bool { return e.Reason == "LeaderElection" }), nil
	})
	if err != nil {
		t.Fatalf("no LeaderElection Event in subdomain-system: the operator's leader election could not record it: %v", err)
	}
	zone := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "pontianak"},
		Spec: sdv1.SubdomainZoneSpec{Domain: "pontianak.go.id", AddressPool: []string{"10.20.0.0/24"}}}
	if err := u.admin.Create(context.Background(), zone); err != nil {
		t.Fatal(err)
	}
	return op, mctx, writes
}

// waitReady waits until request name is Ready.
func waitReady(u users, name string) error {
	ctx := context.Background()
	return testenv.Eventually(ctx, 90*time.Second, 200*time.Millisecond, func() (bool, error) {
		r := &sdv1.SubdomainRequest{}
		err := u.admin.Get(ctx, types.NamespacedName{Name: name}, r)
		return r.Status.Phase == sdv1.PhaseReady, err
	})
}

func request(name, sub string) *sdv1.SubdomainRequest {
	return &sdv1.SubdomainRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: sdv1.SubdomainRequestSpec{Zone: "pontianak", Subdomain: sub,
			OPD: sdv1.OPD{Name: "Dinas " + name, Code: name, AdminGroup: "opd:" + name}},
	}
}

// setAnnotations merges annotations into request name as client c (nil removes the key).
func setAnnotations(c client.Client, name string, kv map[string]*string) error {
	return editRequest(c, name, func(r *sdv1.SubdomainRequest) { testenv.MergeAnnotations(r, kv) })
}

func ptr(s string) *string { return &s }

// setAdminGroup changes request name's spec.opd.adminGroup as client c.
func setAdminGroup(c client.Client, name, group string) error {
	return editRequest(c, name, func(r *sdv1.SubdomainRequest) { r.Spec.OPD.AdminGroup = group })
}

// editRequest changes request name as client c: a merge patch of what mutate changes.
func editRequest(c client.Client, name string, mutate func(*sdv1.SubdomainRequest)) error {
	return testenv.Edit(context.Background(), c, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: name}}, mutate)
}

func annotationsOf(t *testing.T, c client.Client, name string) map[string]string {
	t.Helper()
	r := &sdv1.SubdomainRequest{}
	if err := c.Get(context.Background(), types.NamespacedName{Name: name}, r); err != nil {
		t.Fatal(err)
	}
	return r.Annotations
}

func wantDenied(t *testing.T, err error, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("allowed, want a denial containing %q", contains)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Fatalf("denied with %q, want it to contain %q", err, contains)
	}
}

// TestApprovalAuthority: self-approval and forged approvers are refused in the API server.
func TestApprovalAuthority(t *testing.T) {
	_, u := start(t)
	ctx := context.Background()
	if err := u.editor.Create(ctx, request("dinkes", "dinkes")); err != nil {
		t.Fatalf("an editor may create a request: %v", err)
	}
	// An editor cannot approve, reject, or create an approved request.
	wantDenied(t, setAnnotations(u.editor, "dinkes", map[string]*string{sdv1.AnnotationApproved: ptr("dinkes")}),
		`needs verb "approve" on resource "subdomainrequests" in API group "subdomain.kominfo.go.id"`)
	wantDenied(t, setAnnotations(u.editor, "dinkes", map[string]*string{sdv1.AnnotationRejected: ptr("no")}), `"approve"`)
	// Not even with a value that the policy once took for "absent".
	wantDenied(t, setAnnotations(u.editor, "dinkes", map[string]*string{sdv1.AnnotationRejected: ptr("\x00")}), `"approve"`)
	wantDenied(t, setAnnotations(u.editor, "dinkes", map[string]*string{sdv1.AnnotationApproved: ptr("\x00")}), `"approve"`)
	pre := request("selfie", "selfie")
	pre.Annotations = map[string]string{sdv1.AnnotationApproved: "selfie"}
	wantDenied(t, u.editor.Create(ctx, pre), `user "pat" may not set`)
	// Nor forge an approver.
	wantDenied(t, setAnnotations(u.editor, "dinkes", map[string]*string{sdv1.AnnotationApprovedBy: ptr("kadis")}),
		"approved-by is stamped by the API server")
	// Before the approval the editor may change the admin group.
	if err := setAdminGroup(u.editor, "dinkes", "opd:dinkes-it"); err != nil {
		t.Fatalf("an editor may change the admin group of a request not approved yet: %v", err)
	}

	// The approver approves; the API server stamps who, even over a forged value.
	if err := setAnnotations(u.approver, "dinkes", map[string]*string{
		sdv1.AnnotationApproved: ptr("dinkes"), sdv1.AnnotationApprovedBy: ptr("the-mayor"),
	}); err != nil {
		t.Fatalf("an approver may approve: %v", err)
	}
	if got := annotationsOf(t, u.admin, "dinkes")[sdv1.AnnotationApprovedBy]; got != "kadis" {
		t.Fatalf("approved-by = %q, want the authenticated approver kadis", got)
	}
	// Other edits by the editor still work (labels, spec), and keep the stamp.
	if err := setAnnotations(u.editor, "dinkes", map[string]*string{"note": ptr("ok")}); err != nil {
		t.Fatalf("an editor may edit other annotations: %v", err)
	}
	// Once approved, the admin group (admin in the hosting namespace, and with it the
	// credentials) changes only with the approver's verb.
	const groupDenied = `user "pat" may not change spec.opd.adminGroup of an approved request`
	wantDenied(t, setAdminGroup(u.editor, "dinkes", "opd:someone-else"), groupDenied)
	if err := setAdminGroup(u.approver, "dinkes", "opd:dinkes"); err != nil {
		t.Fatalf("an approver may change the admin group: %v", err)
	}
	// Nor where the approved name is made while the CRD still lets it change (no name
	// claimed, no namespace made): the zone the approval was for, the namespace.
	const placeDenied = `user "pat" may not change spec.zone or the hosting namespace (spec.hosting.namespace, default opd-<opd.code>) of an approved request`
	// Writing the default namespace out, then changing the code behind it, moves nothing.
	if err := editRequest(u.editor, "dinkes", func(r *sdv1.SubdomainRequest) { r.Spec.Hosting.Namespace = "opd-" + r.Spec.OPD.Code }); err != nil {
		t.Fatalf("writing out the default namespace: %v", err)
	}
	if err := editRequest(u.editor, "dinkes", func(r *sdv1.SubdomainRequest) { r.Spec.OPD.Code = "dinkes2" }); err != nil {
		t.Fatalf("changing the OPD code behind a written-out namespace: %v", err)
	}
	if err := editRequest(u.editor, "dinkes", func(r *sdv1.SubdomainRequest) { r.Spec.Hosting.Namespace = "" }); err == nil {
		t.Fatal("dropping the written-out namespace moved the request to opd-dinkes2")
	} else {
		wantDenied(t, err, placeDenied)
	}
	for _, move := range []func(*sdv1.SubdomainRequest){
		func(r *sdv1.SubdomainRequest) { r.Spec.Zone = "kalbar" },
		func(r *sdv1.SubdomainRequest) { r.Spec.Hosting.Namespace = "opd-elsewhere" },
	} {
		wantDenied(t, editRequest(u.editor, "dinkes", move), placeDenied)
	}
	if err := editRequest(u.approver, "dinkes", func(r *sdv1.SubdomainRequest) { r.Spec.Hosting.Namespace = "opd-dinkes" }); err != nil {
		t.Fatalf("an approver may change the hosting namespace of an approved request: %v", err)
	}
	// An editor cannot withdraw the approval either; an approver can.
	wantDenied(t, setAnnotations(u.editor, "dinkes", map[string]*string{sdv1.AnnotationApproved: nil}), `"approve"`)
	if err := setAnnotations(u.approver, "dinkes", map[string]*string{sdv1.AnnotationApproved: nil, sdv1.AnnotationApprovedBy: nil}); err != nil {
		t.Fatal(err)
	}
	// An approver creating a pre-approved request (GitOps apply by an approving SA).
	pre.Name, pre.Spec.Subdomain, pre.Spec.OPD.Code = "gitops", "gitops", "gitops"
	pre.Annotations = map[string]string{sdv1.AnnotationApproved: "gitops"}
	if err := u.approver.Create(ctx, pre); err != nil {
		t.Fatal(err)
	}
	if got := annotationsOf(t, u.admin, "gitops")[sdv1.AnnotationApprovedBy]; got != "kadis" {
		t.Fatalf("approved-by on create = %q", got)
	}
	// A request that served keeps its admin group even after its approval is withdrawn.
	if err := setAnnotations(u.approver, "gitops", map[string]*string{sdv1.AnnotationApproved: nil}); err != nil {
		t.Fatal(err)
	}
	served := &sdv1.SubdomainRequest{}
	if err := u.admin.Get(ctx, types.NamespacedName{Name: "gitops"}, served); err != nil {
		t.Fatal(err)
	}
	base := served.DeepCopy()
	served.Status.ReadyAt = &metav1.Time{Time: time.Now()}
	if err := u.admin.Status().Patch(ctx, served, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	wantDenied(t, setAdminGroup(u.editor, "gitops", "opd:someone-else"), groupDenied)
	// Withdrawn before it served, the request is the editor's again.
	if err := setAdminGroup(u.editor, "dinkes", "opd:dinkes-it"); err != nil {
		t.Fatalf("after the approval was withdrawn from a request that never served: %v", err)
	}
	// A system namespace cannot be asked for.
	sys := request("takeover", "takeover")
	sys.Spec.Hosting.Namespace = "kube-system"
	wantDenied(t, u.admin.Create(ctx, sys), "hosting.namespace may not be default, subdomain-system or a kube-* namespace")
}

// TestTenantIsolation runs the operator with only its generated RBAC, then checks that
// an OPD admin can serve its own name and cannot hijack another's.
func TestTenantIsolation(t *testing.T) {
	env, u := start(t)
	ctx := context.Background()
	for _, ns := range []string{"ingress-nginx"} {
		if err := u.admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	op, mctx, _ := runOperator(t, env, u)
	for _, n := range []string{"dinkes", "disdukcapil"} {
		r := request(n, n)
		r.Annotations = map[string]string{sdv1.AnnotationApproved: n}
		if err := u.approver.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"dinkes", "disdukcapil"} {
		if err := waitReady(u, n); err != nil {
			t.Fatalf("%s not Ready with the operator's generated RBAC: %v", n, err)
		}
	}

	ing := func(name, host string) *networkingv1.Ingress { return testenv.Ingress("opd-dinkes", name, host) }
	// The OPD admin got admin in its namespace through its group: it may serve its own
	// name. The API server learns of the RoleBinding through its watch: wait until a
	// dry run of the create passes before the real one.
	if err := testenv.Eventually(ctx, 30*time.Second, 100*time.Millisecond, func() (bool, error) {
		return u.opdAdmin.Create(ctx, ing("own", "dinkes.pontianak.go.id"), client.DryRunAll) == nil, nil
	}); err != nil {
		t.Fatalf("the OPD admin never got admin in opd-dinkes: %v", err)
	}
	if err := u.opdAdmin.Create(ctx, ing("own", "dinkes.pontianak.go.id")); err != nil {
		t.Fatalf("an OPD admin may serve its own name: %v", err)
	}
	if err := u.opdAdmin.Create(ctx, ing("sub", "api.dinkes.pontianak.go.id")); err != nil {
		t.Fatalf("an OPD admin may serve a name under its own: %v", err)
	}
	wantDenied(t, u.opdAdmin.Create(ctx, ing("hijack", "disdukcapil.pontianak.go.id")),
		"namespace opd-dinkes may only serve dinkes.pontianak.go.id (and names under it); refused: disdukcapil.pontianak.go.id")
	wantDenied(t, u.opdAdmin.Create(ctx, ing("suffix", "evildinkes.pontianak.go.id")), "refused: evildinkes.pontianak.go.id")
	wantDenied(t, u.opdAdmin.Create(ctx, ing("catchall", "")), "refused: (every host)")
	tls := ing("tls", "dinkes.pontianak.go.id")
	tls.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"disdukcapil.pontianak.go.id"}}}
	wantDenied(t, u.opdAdmin.Create(ctx, tls), "refused: disdukcapil.pontianak.go.id")
	// The OPD admin cannot touch another OPD's namespace at all (RBAC).
	other := ing("x", "disdukcapil.pontianak.go.id")
	other.Namespace = "opd-disdukcapil"
	wantDenied(t, u.opdAdmin.Create(ctx, other), "forbidden")

	// The hosting label and the fqdn annotation of namespaces are the operator's: a
	// user who may edit namespaces (not a cluster admin) cannot set, change or remove
	// them, so cannot make a namespace serve a claimed name through the policies that
	// trust them. Other labels stay the user's.
	nina := namespaceEditor(t, env, u)
	const refused = "only subdomain-operator writes them"
	wantDenied(t, nina.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fake-hosting",
		Labels: map[string]string{sdv1.LabelRequest: "dinkes"}}}), refused)
	wantDenied(t, nina.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fake-hosting",
		Annotations: map[string]string{sdv1.AnnotationHostingFQDN: "dinkes.pontianak.go.id"}}}), refused)
	if err := nina.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-y",
		Labels: map[string]string{"team": "y"}}}); err != nil {
		t.Fatalf("a namespace editor may create a plain namespace: %v", err)
	}
	editNamespace := func(c client.Client, name string, edit func(*corev1.Namespace)) error {
		return testenv.Edit(ctx, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, edit)
	}
	wantDenied(t, editNamespace(nina, "team-y", func(ns *corev1.Namespace) { ns.Labels[sdv1.LabelRequest] = "dinkes" }), refused)
	// Nor through the namespace's subresources, whose writes keep metadata changes.
	for _, sub := range []string{"status", "finalize"} {
		ns := &corev1.Namespace{}
		if err := nina.Get(ctx, types.NamespacedName{Name: "team-y"}, ns); err != nil {
			t.Fatal(err)
		}
		ns.Labels[sdv1.LabelRequest] = "dinkes"
		var err error
		if sub == "status" {
			err = nina.Status().Update(ctx, ns)
		} else {
			err = nina.SubResource("finalize").Update(ctx, ns)
		}
		wantDenied(t, err, refused)
	}
	wantDenied(t, editNamespace(nina, "opd-dinkes", func(ns *corev1.Namespace) {
		ns.Annotations[sdv1.AnnotationHostingFQDN] = "dinkes.pontianak.go.id,disdukcapil.pontianak.go.id"
	}), refused)
	wantDenied(t, editNamespace(nina, "opd-dinkes", func(ns *corev1.Namespace) { delete(ns.Labels, sdv1.LabelRequest) }), refused)
	wantDenied(t, editNamespace(nina, "opd-dinkes", func(ns *corev1.Namespace) { delete(ns.Annotations, sdv1.AnnotationHostingFQDN) }), refused)
	if err := editNamespace(nina, "opd-dinkes", func(ns *corev1.Namespace) { ns.Labels["team"] = "kesehatan" }); err != nil {
		t.Errorf("a namespace editor may set other labels of a hosting namespace: %v", err)
	}
	if err := editNamespace(u.admin, "team-y", func(ns *corev1.Namespace) {
		ns.Annotations = map[string]string{sdv1.AnnotationHostingFQDN: "x.pontianak.go.id"}
	}); err != nil {
		t.Errorf("a cluster admin may: %v", err)
	}

	// The operator's cache holds only labelled Secrets, and of those only the
	// credentials: an OPD admin may label Secrets of its own.
	if err := u.admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "unrelated"},
		StringData: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if err := u.opdAdmin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-dinkes", Name: "bulky",
		Labels: map[string]string{sdv1.LabelRequest: "dinkes"}}, StringData: map[string]string{"k": "v"}}); err != nil {
		t.Fatalf("an OPD admin may create a Secret in its namespace: %v", err)
	}
	if err := u.opdAdmin.Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-dinkes", Name: "bulky",
		Labels: map[string]string{sdv1.LabelRequest: "dinkes"}}}); err != nil {
		t.Fatalf("an OPD admin may create a NetworkPolicy in its namespace: %v", err)
	}
	opts := controllers.CacheOptions()
	opts.Scheme = manager.Scheme()
	c, err := cache.New(op.Config(), opts)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(mctx) }()
	c.WaitForCacheSync(mctx)
	secrets := &corev1.SecretList{}
	if err := c.List(ctx, secrets); err != nil {
		t.Fatal(err)
	}
	if len(secrets.Items) != 2 {
		t.Errorf("the cache holds %d Secrets, want the 2 credentials Secrets", len(secrets.Items))
	}
	for _, s := range secrets.Items {
		if s.Labels[sdv1.LabelRequest] == "" || s.Name != sdv1.CredentialsSecretName {
			t.Errorf("the cache holds Secret %s/%s, not a credentials Secret", s.Namespace, s.Name)
		}
	}
	// Nor network policies (or quotas, limit ranges, admin bindings) an OPD admin
	// labels as ours (made before the cache started, so its first list saw it): only
	// the operator's own names.
	policies := &networkingv1.NetworkPolicyList{}
	if err := c.List(ctx, policies); err != nil {
		t.Fatal(err)
	}
	for _, p := range policies.Items {
		if p.Name != sdv1.HostingObjectName {
			t.Errorf("the cache holds NetworkPolicy %s/%s, not the hosting policy", p.Namespace, p.Name)
		}
	}
	if len(policies.Items) != 2 {
		t.Errorf("the cache holds %d NetworkPolicies, want the 2 hosting policies", len(policies.Items))
	}

	// An OPD admin cannot take an address or a node port with a Service of its own
	// (the hosting quota): a LoadBalancer Service would take one of the load
	// balancer's addresses, maybe the one the zone gives to another request. A
	// ClusterIP Service for its app is its own business.
	lb := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-dinkes", Name: "grab"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}}}
	app := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "opd-dinkes", Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	// The quota controller first computes the quota's usage; until then quota
	// admission refuses every Service ("status unknown").
	var last error
	if err := testenv.Eventually(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
		last = u.opdAdmin.Create(ctx, app.DeepCopy(), client.DryRunAll)
		return last == nil, nil
	}); err != nil {
		t.Fatalf("an OPD admin may create a ClusterIP Service: %v; last: %v", err, last)
	}
	wantDenied(t, u.opdAdmin.Create(ctx, lb.DeepCopy()), "exceeded quota: subdomain-hosting")
	nodePort := lb.DeepCopy()
	nodePort.Spec.Type = corev1.ServiceTypeNodePort
	wantDenied(t, u.opdAdmin.Create(ctx, nodePort), "exceeded quota: subdomain-hosting")
	// Nor with a ClusterIP Service, which no quota counts, with another site's address
	// in spec.externalIPs (kube-proxy would send that site's traffic to its pods), nor
	// by asking a load balancer for an address (policy subdomain-hosting-services).
	victim := &sdv1.SubdomainRequest{}
	if err := u.admin.Get(ctx, types.NamespacedName{Name: "disdukcapil"}, victim); err != nil || victim.Status.Address == "" {
		t.Fatalf("disdukcapil's address: %q, %v", victim.Status.Address, err)
	}
	taken := victim.Status.Address
	grab := app.DeepCopy()
	grab.Name, grab.Spec.ExternalIPs = "grab", []string{taken}
	wantDenied(t, u.opdAdmin.Create(ctx, grab), "may not set spec.externalIPs ("+taken+")")
	if err := u.opdAdmin.Create(ctx, app.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	wantDenied(t, testenv.Edit(ctx, u.opdAdmin, app, func(s *corev1.Service) { s.Spec.ExternalIPs = []string{taken} }),
		"may not set spec.externalIPs")
	for _, ask := range []func(*corev1.Service){
		func(s *corev1.Service) { s.Spec.LoadBalancerIP = taken }, //nolint:staticcheck // what a user may still set
		func(s *corev1.Service) { s.Annotations = map[string]string{"metallb.io/loadBalancerIPs": taken} },
		func(s *corev1.Service) { s.Annotations = map[string]string{"lbipam.cilium.io/ips": taken} },
	} {
		asking := app.DeepCopy()
		asking.Name, asking.ResourceVersion, asking.Spec.ExternalIPs = "ask", "", nil // (the refused edit above left them on app)
		ask(asking)
		wantDenied(t, u.opdAdmin.Create(ctx, asking, client.DryRunAll), "may not ask a load balancer for an address")
	}
}

// TestManagerPodRestricted: a pod made from the shipped Deployment's template is admitted
// by Pod Security admission in a namespace that enforces restricted.
func TestManagerPodRestricted(t *testing.T) {
	_, u := start(t)
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "manager", "manager.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	d := &appsv1.Deployment{}
	if err := yaml.UnmarshalStrict(b, d); err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{}
	if err := u.admin.Get(context.Background(), types.NamespacedName{Name: d.Namespace}, ns); err != nil {
		t.Fatal(err)
	}
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Fatalf("namespace %s does not enforce restricted", d.Namespace)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace, Name: "manager-probe"}, Spec: d.Spec.Template.Spec}
	if err := u.admin.Create(context.Background(), pod); err != nil {
		t.Fatalf("the manager pod is refused under Pod Security restricted: %v", err)
	}
	// And the check is real: a privileged variant is refused.
	bad := pod.DeepCopy()
	bad.Name = "privileged-probe"
	bad.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
	if err := u.admin.Create(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "restricted") {
		t.Fatalf("a non-restricted pod was admitted: %v", err)
	}
}

// TestFinalizerPolicy: the API server adds the operator's finalizer in the write that
// approves a request, keeps it on a live request whatever a later write drops, and
// leaves it to the operator once deletion starts.
func TestFinalizerPolicy(t *testing.T) {
	env, u := start(t)
	ctx := context.Background()
	has := func(r *sdv1.SubdomainRequest) bool { return slices.Contains(r.Finalizers, sdv1.Finalizer) }

	// With no operator running, every finalizer seen here is the policy's.
	pending := request("pending", "pending")
	if err := u.editor.Create(ctx, pending); err != nil {
		t.Fatal(err)
	}
	if has(pending) {
		t.Fatalf("an unapproved request got the finalizer: %v", pending.Finalizers)
	}
	approving := pending.DeepCopy()
	approving.Annotations = map[string]string{sdv1.AnnotationApproved: "pending"}
	if err := u.approver.Patch(ctx, approving, client.MergeFrom(pending)); err != nil {
		t.Fatal(err)
	}
	if !has(approving) {
		t.Fatalf("the approving write did not add the finalizer: %v", approving.Finalizers)
	}
	for name, ann := range map[string]map[string]string{
		"gitops":   {sdv1.AnnotationApproved: "gitops"},
		"stale":    {sdv1.AnnotationApproved: "another-name"},
		"rejected": {sdv1.AnnotationApproved: "rejected", sdv1.AnnotationRejected: "no budget"},
	} {
		r := request(name, name)
		r.Annotations = ann
		r.Finalizers = []string{"example.com/gitops-tool"}
		if err := u.approver.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		if want := name == "gitops"; has(r) != want || !slices.Contains(r.Finalizers, "example.com/gitops-tool") {
			t.Errorf("%s created with %v: finalizers %v, want ours %v and the tool's kept", name, ann, r.Finalizers, want)
		}
	}

	// A server-side apply (a GitOps tool) of an approved request, then of the same
	// request without the approval: the finalizer stays on the live request.
	apply := func(annotations map[string]any) *sdv1.SubdomainRequest {
		t.Helper()
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": sdv1.GroupVersion.String(), "kind": "SubdomainRequest",
			"metadata": map[string]any{"name": "applied", "annotations": annotations},
			"spec": map[string]any{"zone": "pontianak", "subdomain": "applied",
				"opd": map[string]any{"name": "Dinas applied", "code": "applied", "adminGroup": "opd:applied"}},
		}}
		if err := u.approver.Patch(ctx, obj, client.Apply, client.FieldOwner("argocd"), client.ForceOwnership); err != nil {
			t.Fatal(err)
		}
		r := &sdv1.SubdomainRequest{}
		if err := u.admin.Get(ctx, types.NamespacedName{Name: "applied"}, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := apply(map[string]any{sdv1.AnnotationApproved: "applied"}); !has(r) {
		t.Fatalf("an applied approved request has no finalizer: %v", r.Finalizers)
	}
	if r := apply(map[string]any{sdv1.AnnotationApproved: "applied", "note": "re-applied"}); !has(r) {
		t.Fatalf("a re-apply dropped the finalizer: %v", r.Finalizers)
	}
	if r := apply(map[string]any{"note": "approval withdrawn"}); !has(r) {
		t.Fatalf("withdrawing the approval dropped the finalizer: %v", r.Finalizers)
	}
	// Nor can an edit remove it while the request lives, approved or no longer.
	for _, name := range []string{"gitops", "applied"} {
		live := &sdv1.SubdomainRequest{}
		if err := u.admin.Get(ctx, types.NamespacedName{Name: name}, live); err != nil {
			t.Fatal(err)
		}
		edited := live.DeepCopy()
		edited.Finalizers = slices.DeleteFunc(edited.Finalizers, func(f string) bool { return f == sdv1.Finalizer })
		if err := u.admin.Patch(ctx, edited, client.MergeFrom(live)); err != nil {
			t.Fatal(err)
		}
		if !has(edited) || len(edited.Finalizers) != len(live.Finalizers) {
			t.Fatalf("%s: after an edit dropping ours, finalizers %v (were %v)", name, edited.Finalizers, live.Finalizers)
		}
	}

	// The operator provisions the approved requests without a finalizer write of its own:
	// until a deletion it writes the requests' status and nothing else of them. On
	// deletion it removes the finalizer: the policy does not put it back.
	_, _, writes := runOperator(t, env, u)
	for _, name := range []string{"pending", "gitops"} {
		if err := waitReady(u, name); err != nil {
			t.Fatalf("%s not Ready: %v", name, err)
		}
	}
	statusWrites := 0
	for _, wr := range writes.Since(0) {
		switch {
		case strings.HasSuffix(wr, "/subdomainrequests/pending/status"):
			statusWrites++
		case strings.Contains(wr, "/subdomainrequests/") && !strings.HasSuffix(wr, "/status"):
			t.Errorf("the operator wrote a request itself, not its status (a finalizer write?): %s", wr)
		}
	}
	if statusWrites == 0 {
		t.Errorf("the write counter saw no status write of pending: it does not see the operator's writes (%v)", writes.Since(0))
	}
	for _, name := range []string{"pending", "applied"} {
		if err := u.admin.Delete(ctx, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
			t.Fatal(err)
		}
		if err := testenv.Eventually(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
			err := u.admin.Get(ctx, types.NamespacedName{Name: name}, &sdv1.SubdomainRequest{})
			return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
		}); err != nil {
			t.Fatalf("%s was not deleted: %v", name, err)
		}
	}
	// "applied" never held a name: its deletion is no event for the register.
	ledgers := &sdv1.SubdomainLedgerList{}
	if err := u.admin.List(ctx, ledgers); err != nil {
		t.Fatal(err)
	}
	deleted := map[string]int{}
	for _, l := range ledgers.Items {
		for _, e := range l.Spec.Entries {
			if e.Type == sdv1.LedgerDeleted {
				deleted[e.Request]++
			}
		}
	}
	if deleted["pending"] != 1 || deleted["applied"] != 0 {
		t.Errorf("Deleted entries per request %v, want pending 1 and applied none", deleted)
	}
}

// TestSharedAddressClaim: under the shipped RBAC alone the operator holds a shared
// address's claim for each zone pointing at it: it creates the claim, adds a second
// zone to its owners, and takes a zone off (deleting it after the last).
func TestSharedAddressClaim(t *testing.T) {
	env, u := start(t)
	runOperator(t, env, u)
	ctx := context.Background()
	for _, name := range []string{"bersama1", "bersama2"} {
		z := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: sdv1.SubdomainZoneSpec{Domain: name + ".go.id", SharedAddress: "10.30.0.1"}}
		if err := u.admin.Create(ctx, z); err != nil {
			t.Fatal(err)
		}
	}
	owners := func(want ...string) {
		t.Helper()
		c := &sdv1.SubdomainClaim{}
		var got []string
		err := testenv.WaitFor(ctx, u.admin, types.NamespacedName{Name: "ip-10-30-0-1"}, c, 60*time.Second, 200*time.Millisecond, func(c *sdv1.SubdomainClaim) bool {
			got = nil
			for _, ref := range c.OwnerReferences {
				got = append(got, ref.Name)
			}
			slices.Sort(got)
			return slices.Equal(got, want)
		})
		if err != nil {
			t.Fatalf("claim ip-10-30-0-1 owned by %v, want %v: %v", got, want, err)
		}
	}
	owners("bersama1", "bersama2")
	for _, name := range []string{"bersama1", "bersama2"} {
		z := &sdv1.SubdomainZone{}
		if err := u.admin.Get(ctx, types.NamespacedName{Name: name}, z); err != nil {
			t.Fatal(err)
		}
		moved := z.DeepCopy()
		moved.Spec.SharedAddress = "10.30.0.2"
		if err := u.admin.Patch(ctx, moved, client.MergeFrom(z)); err != nil {
			t.Fatal(err)
		}
		if name == "bersama1" {
			owners("bersama2")
		}
	}
	err := testenv.Eventually(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
		err := u.admin.Get(ctx, types.NamespacedName{Name: "ip-10-30-0-1"}, &sdv1.SubdomainClaim{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if err != nil {
		t.Fatalf("the claim of an address no zone shares any more is still there: %v", err)
	}
}

// TestLedgerRetention: ledger pages are not deleted by accident - not one, not a
// collection, not by a cluster admin - only once annotated for purge with their own
// name, and then only by a user allowed verb purge (policy subdomain-ledger-retention);
// and `kubectl delete subdomain --all` does not reach them: they are not in the
// subdomain category, as requests, zones and claims are (discovery says).
func TestLedgerRetention(t *testing.T) {
	env, u := start(t)
	ctx := context.Background()
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	resources, err := dc.ServerResourcesForGroupVersion(sdv1.GroupVersion.String())
	if err != nil {
		t.Fatal(err)
	}
	inCategory := map[string]bool{}
	for _, r := range resources.APIResources {
		if !strings.Contains(r.Name, "/") {
			inCategory[r.Name] = slices.Contains(r.Categories, "subdomain")
		}
	}
	if want := map[string]bool{"subdomainrequests": true, "subdomainzones": true, "subdomainclaims": true, "subdomainledgers": false}; !maps.Equal(inCategory, want) {
		t.Fatalf("in category subdomain, by resource: %v, want %v", inCategory, want)
	}
	pages := map[string]*sdv1.SubdomainLedger{}
	for month := int32(1); month <= 2; month++ {
		l := &sdv1.SubdomainLedger{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pontianak-2026-%02d", month)},
			Spec: sdv1.SubdomainLedgerSpec{Zone: "pontianak", Year: 2026, Month: month}}
		if err := u.admin.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
		pages[l.Name] = l
	}
	jan, feb := pages["pontianak-2026-01"], pages["pontianak-2026-02"]
	wantDenied(t, u.admin.Delete(ctx, jan), "to delete it, export it, then annotate it subdomain.kominfo.go.id/purge=pontianak-2026-01")
	wantDenied(t, u.admin.DeleteAllOf(ctx, &sdv1.SubdomainLedger{}), "is the record of every change")

	// Users who may delete ledgers, one of them purge too.
	for _, r := range []struct {
		user  string
		verbs []string
	}{{"arsip", []string{"get", "list", "patch", "delete"}}, {"arsiparis", []string{"get", "list", "patch", "delete", "purge"}}} {
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "ledger-" + r.user},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{sdv1.GroupVersion.Group}, Resources: []string{"subdomainledgers"}, Verbs: r.verbs}}}
		if err := u.admin.Create(ctx, role); err != nil {
			t.Fatal(err)
		}
		bind(t, u.admin, "ledger-"+r.user, role.Name, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: r.user})
	}
	arsip, arsiparis := userClient(t, env, "arsip"), userClient(t, env, "arsiparis")
	// The API server learns of the bindings through its watch: wait until both may list.
	for _, c := range []client.Client{arsip, arsiparis} {
		if err := testenv.Eventually(ctx, 30*time.Second, 100*time.Millisecond, func() (bool, error) {
			return c.List(ctx, &sdv1.SubdomainLedgerList{}) == nil, nil
		}); err != nil {
			t.Fatalf("the ledger roles never took effect: %v", err)
		}
	}
	mark := func(l *sdv1.SubdomainLedger, value string) {
		t.Helper()
		if err := testenv.Edit(ctx, u.admin, l, func(l *sdv1.SubdomainLedger) {
			l.Annotations = map[string]string{"subdomain.kominfo.go.id/purge": value}
		}); err != nil {
			t.Fatal(err)
		}
	}
	mark(jan, "pontianak-2026-01")
	mark(feb, "pontianak-2026-01") // another page's name: not this one
	wantDenied(t, arsip.Delete(ctx, jan), "user arsip may not delete ledger page pontianak-2026-01")
	wantDenied(t, arsiparis.Delete(ctx, feb), "annotate it subdomain.kominfo.go.id/purge=pontianak-2026-02")
	if err := arsiparis.Delete(ctx, jan); err != nil {
		t.Fatalf("a page annotated for purge, by a user allowed purge: %v", err)
	}
	if err := u.admin.Get(ctx, client.ObjectKeyFromObject(feb), &sdv1.SubdomainLedger{}); err != nil {
		t.Fatalf("the other page: %v", err)
	}
}

// TestForegroundDeletionRefused: a foreground deletion of a request the operator still
// has to take down (it holds the finalizer) is refused, naming the way that works -
// garbage collection would delete its site at once, before deletionPolicy Retain or the
// change window could act (Argo CD prunes in the foreground by default). Background
// and orphan deletions pass, and so does any deletion of a request without the
// finalizer (policy subdomain-request-deletion).
func TestForegroundDeletionRefused(t *testing.T) {
	_, u := start(t)
	ctx := context.Background()
	kept := request("arsipdaerah", "arsipdaerah")
	kept.Finalizers = []string{sdv1.Finalizer}
	kept.Spec.DeletionPolicy = sdv1.DeletionPolicyRetain
	bare := request("bappeda", "bappeda")
	for _, r := range []*sdv1.SubdomainRequest{kept, bare} {
		if err := u.admin.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	foreground := client.PropagationPolicy(metav1.DeletePropagationForeground)
	var err error
	if werr := testenv.Eventually(ctx, 30*time.Second, 100*time.Millisecond, func() (bool, error) {
		err = u.admin.Delete(ctx, kept.DeepCopy(), client.DryRunAll, foreground)
		return err != nil, nil
	}); werr != nil {
		t.Fatalf("a foreground deletion of a request with the operator's finalizer was allowed: %v", werr)
	}
	wantDenied(t, err, "SubdomainRequest arsipdaerah may not be deleted in the foreground")
	wantDenied(t, err, "deletionPolicy Retain")
	wantDenied(t, err, "PrunePropagationPolicy=background")
	for _, opt := range []client.DeleteOption{client.PropagationPolicy(metav1.DeletePropagationBackground), client.PropagationPolicy(metav1.DeletePropagationOrphan)} {
		if err := u.admin.Delete(ctx, kept.DeepCopy(), client.DryRunAll, opt); err != nil {
			t.Errorf("deletion %v refused: %v", opt, err)
		}
	}
	if err := u.admin.Delete(ctx, kept.DeepCopy(), client.DryRunAll); err != nil {
		t.Errorf("a deletion with no propagation policy given refused: %v", err)
	}
	if err := u.admin.Delete(ctx, bare.DeepCopy(), client.DryRunAll, foreground); err != nil {
		t.Errorf("a foreground deletion of a request without the finalizer refused: %v", err)
	}
	// As a collection too (kubectl delete sdr --all --cascade=foreground).
	if err := u.admin.DeleteAllOf(ctx, &sdv1.SubdomainRequest{}, client.DryRunAll, foreground); err == nil ||
		!strings.Contains(err.Error(), "may not be deleted in the foreground") {
		t.Errorf("a foreground collection deletion: %v", err)
	}
}
