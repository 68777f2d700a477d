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
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// TestSharedClaimNotMadeForADeletedZone: the cache shows a shared zone's address claim
// gone (a foreground deletion's collector took it) but not yet the zone's deletion;
// the API server shows the zone being deleted. holdSharedAddress must not make the
// claim again: made after the collector's pass, it would outlive the deletion it was
// taken for (a CI run under -race saw TestSharedRetainedKeepsAddress wait 90 s for
// the claim to go). With the zone live it makes the claim, as before.
func TestSharedClaimNotMadeForADeletedZone(t *testing.T) {
	for _, tc := range []struct {
		name         string
		liveDeleting bool
		wantCreate   bool
	}{{"zone being deleted", true, false}, {"zone live", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			sch := testScheme(t)
			cachedZone := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "lambat", UID: "uid-lambat", Finalizers: []string{sdv1.ZoneFinalizer}},
				Spec: sdv1.SubdomainZoneSpec{Domain: "lambat.go.id", SharedAddress: "10.178.40.1"}}
			liveZone := cachedZone.DeepCopy()
			if tc.liveDeleting {
				now := metav1.NewTime(time.Now())
				liveZone.DeletionTimestamp = &now
			}
			creates := 0
			cache := fake.NewClientBuilder().WithScheme(sch).WithObjects(cachedZone).WithInterceptorFuncs(interceptor.Funcs{
				Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
					creates++
					return c.Create(ctx, obj, opts...)
				},
			}).Build()
			server := fake.NewClientBuilder().WithScheme(sch).WithObjects(liveZone).Build()
			r := &SubdomainZoneReconciler{Client: cache, APIReader: server,
				claims: toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{indexSharedAddressOwners: sharedAddressOwners})}
			_, holds, err := r.holdSharedAddress(context.Background(), cachedZone)
			if err != nil {
				t.Fatal(err)
			}
			if got := creates > 0; got != tc.wantCreate || holds != tc.wantCreate {
				t.Errorf("claim made: %v, holds: %v; want %v", got, holds, tc.wantCreate)
			}
		})
	}
}
