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
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/inflight"
)

// staleReads is a client whose reads of one object return an older copy of it, as a
// cache that has not seen this process's last write does.
type staleReads struct {
	client.Client
	key   client.ObjectKey
	stale *corev1.Secret
}

func (c staleReads) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if s, ok := obj.(*corev1.Secret); ok && key == c.key {
		c.stale.DeepCopyInto(s)
		return nil
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

// TestRotationFromAStaleCopy is a table test of ensureCredentials alone: the Secret was
// rotated for "v1" (password P2), but the copy the step reads is the one before
// (password P1, no rotated-for). One value of rotate-credentials is one new password:
// the step must not write a third one from the stale copy.
func TestRotationFromAStaleCopy(t *testing.T) {
	sch := testScheme(t)
	req := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "dinkes", UID: "u-1", Generation: 1,
		Annotations: map[string]string{sdv1.AnnotationRotateCredentials: "v1"}},
		Spec: sdv1.SubdomainRequestSpec{OPD: sdv1.OPD{Code: "dinkes"}}}
	key := client.ObjectKey{Namespace: "opd-dinkes", Name: sdv1.CredentialsSecretName}
	stale := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name,
		Labels: map[string]string{sdv1.LabelRequest: "dinkes"}}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{sdv1.SecretKeyPassword: []byte("P1")}}
	r := &SubdomainRequestReconciler{Scheme: sch, Recorder: events.NewFakeRecorder(10)}
	if err := r.own(&requestScope{req: req}, stale); err != nil {
		t.Fatal(err)
	}
	live := stale.DeepCopy()
	live.Data[sdv1.SecretKeyPassword] = []byte("P2")
	live.Annotations = map[string]string{sdv1.AnnotationRotatedFor: "v1"}
	base := fake.NewClientBuilder().WithScheme(sch).WithObjects(stale).Build()
	if err := base.Get(context.Background(), key, stale); err != nil { // its resourceVersion
		t.Fatal(err)
	}
	live.ResourceVersion = stale.ResourceVersion
	if err := base.Update(context.Background(), live); err != nil { // the rotation, a newer version
		t.Fatal(err)
	}
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	r.Client = staleReads{Client: base, key: key, stale: stale}
	r.InFlight = inflight.New(clk, time.Minute)
	zone := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "z"}, Spec: sdv1.SubdomainZoneSpec{Domain: "z.go.id"}}
	s := &requestScope{req: req, zone: zone, now: clk.Now(), label: "dinkes", fqdn: "dinkes.z.go.id",
		namespace: key.Namespace, addr: netip.MustParseAddr("10.0.0.7")}

	_, err := r.ensureCredentials(context.Background(), s)
	if !apierrors.IsConflict(err) {
		t.Errorf("ensureCredentials from a stale copy = %v, want a conflict to retry from the newer copy", err)
	}
	got := &corev1.Secret{}
	if err := base.Get(context.Background(), key, got); err != nil {
		t.Fatal(err)
	}
	if pw := string(got.Data[sdv1.SecretKeyPassword]); pw != "P2" {
		t.Errorf("password %q after a reconcile from the stale copy, want P2: rotated twice for one value", pw)
	}
}

// TestConflictWritesNoStatus is a table test of summarise: a step's write refused with
// 409 (its copy older than the API server's, as TestRotationFromAStaleCopy's) is no
// trouble of the request's. The reconcile is retried from a newer copy; a served
// request must not be written as Provisioning meanwhile, nor an Event told.
func TestConflictWritesNoStatus(t *testing.T) {
	sch := testScheme(t)
	req := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "dinkes", Generation: 1, Finalizers: []string{sdv1.Finalizer}},
		Status: sdv1.SubdomainRequestStatus{Phase: sdv1.PhaseReady, FQDN: "dinkes.z.go.id", ObservedGeneration: 1,
			Conditions: []metav1.Condition{{Type: sdv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Ready", ObservedGeneration: 1,
				LastTransitionTime: metav1.NewTime(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC))}}}}
	c := fake.NewClientBuilder().WithScheme(sch).WithObjects(req).WithStatusSubresource(req).Build()
	live := &sdv1.SubdomainRequest{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(req), live); err != nil {
		t.Fatal(err)
	}
	rec := events.NewFakeRecorder(10)
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	r := &SubdomainRequestReconciler{Client: c, Scheme: sch, Recorder: rec, Clock: clk}
	s := &requestScope{req: live.DeepCopy(), now: clk.Now()}
	refused := apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, sdv1.CredentialsSecretName, errors.New("the object has been modified"))

	_, err := r.summarise(context.Background(), s, live.DeepCopy(), ctrl.Result{}, refused)
	if !apierrors.IsConflict(err) {
		t.Errorf("summarise = %v, want the conflict back for a rate-limited retry", err)
	}
	got := &sdv1.SubdomainRequest{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(req), got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != sdv1.PhaseReady || got.ResourceVersion != live.ResourceVersion {
		t.Errorf("status written after a 409: phase %s, resourceVersion %s -> %s", got.Status.Phase, live.ResourceVersion, got.ResourceVersion)
	}
	select {
	case e := <-rec.Events:
		t.Errorf("an Event after a 409: %s", e)
	default:
	}
}

// TestKeptAddress: of two address claims a request holds (a create whose response was
// lost), it keeps the one its status reports, else the lowest - whatever order the
// cache lists them in.
func TestKeptAddress(t *testing.T) {
	claim := func(v string) sdv1.SubdomainClaim {
		return sdv1.SubdomainClaim{Spec: sdv1.SubdomainClaimSpec{Type: sdv1.ClaimTypeAddress, Value: v}}
	}
	for _, tc := range []struct {
		held     []string
		reported string
		want     string
	}{
		{[]string{"10.0.0.9", "10.0.0.3"}, "10.0.0.9", "10.0.0.9"},
		{[]string{"10.0.0.3", "10.0.0.9"}, "10.0.0.9", "10.0.0.9"},
		{[]string{"10.0.0.9", "10.0.0.3"}, "", "10.0.0.3"},
		{[]string{"10.0.0.3", "10.0.0.9"}, "10.0.0.7", "10.0.0.3"},
		{[]string{"fd00::9", "fd00::10"}, "", "fd00::9"},
	} {
		var held []sdv1.SubdomainClaim
		for _, v := range tc.held {
			held = append(held, claim(v))
		}
		got, err := keptAddress(held, tc.reported)
		if err != nil || got.String() != tc.want {
			t.Errorf("keptAddress(%v, %q) = %v, %v; want %s", tc.held, tc.reported, got, err, tc.want)
		}
	}
}
