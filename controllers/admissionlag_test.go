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

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// TestIngressAdmissionLag is a table test of ensureIngress alone: the API server
// refuses the Ingress as Forbidden a number of times, as the policy
// subdomain-hosting-hostnames does while its cache of namespaces has not caught up with
// the names this pass wrote to the hosting namespace. Then the write is tried again,
// a bounded number of times; otherwise (the pass wrote no names) the refusal stands.
func TestIngressAdmissionLag(t *testing.T) {
	const byPolicy = "ValidatingAdmissionPolicy 'subdomain-hosting-hostnames' with binding 'subdomain-hosting-hostnames' denied request: namespace opd-dinkes may only serve dinkes.z.go.id"
	for _, tc := range []struct {
		name         string
		hostsWritten bool
		refusal      string
		refusals     int
		wantCreates  int
		wantErr      bool
	}{
		{"names written, the cache catches up", true, byPolicy, 2, 3, false},
		{"names written, refused for good", true, byPolicy, 10, admissionLagRetries + 1, true},
		{"no names written: a real refusal", false, byPolicy, 1, 1, true},
		{"names written, refused by something else (RBAC)", true, `User "system:serviceaccount:x" cannot create resource "ingresses"`, 1, 1, true},
	} {
		refusal := tc.refusal
		t.Run(tc.name, func(t *testing.T) {
			sch := testScheme(t)
			creates := 0
			c := fake.NewClientBuilder().WithScheme(sch).WithInterceptorFuncs(interceptor.Funcs{
				Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
					if _, ok := obj.(*networkingv1.Ingress); ok {
						creates++
						if creates <= tc.refusals {
							return apierrors.NewForbidden(schema.GroupResource{Group: "networking.k8s.io", Resource: "ingresses"}, obj.GetName(),
								errors.New(refusal))
						}
					}
					return c.Create(ctx, obj, opts...)
				},
			}).Build()
			r := &SubdomainRequestReconciler{Client: c, Scheme: sch, Recorder: events.NewFakeRecorder(10)}
			req := &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: "dinkes", UID: "u-1", Generation: 1},
				Spec: sdv1.SubdomainRequestSpec{Hosting: sdv1.RequestHosting{Service: sdv1.ServiceRef{Name: "web", Port: 80}}}}
			zone := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "z"}, Spec: sdv1.SubdomainZoneSpec{Domain: "z.go.id"}}
			s := &requestScope{req: req, zone: zone, now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC), label: "dinkes",
				fqdn: "kesehatan.z.go.id", namespace: "opd-dinkes", addr: netip.MustParseAddr("10.0.0.7"), hostsWritten: tc.hostsWritten}

			_, err := r.ensureIngress(context.Background(), s)
			if (err != nil) != tc.wantErr || (err != nil && !apierrors.IsForbidden(err)) {
				t.Errorf("ensureIngress = %v, want error %v (Forbidden)", err, tc.wantErr)
			}
			if creates != tc.wantCreates {
				t.Errorf("%d creates, want %d", creates, tc.wantCreates)
			}
		})
	}
}
