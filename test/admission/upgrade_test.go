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
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestNameRulesSpareStoredObjects: the CRD rules on a request's and a zone's name
// refuse a new bad name, and leave alone an object an older version stored before
// the rules came (a request named dinkes.kota, a zone of 64 characters): it still
// takes status writes and loses its finalizer, so it can be served and deleted. CRD
// ratcheting does not spare a rule on the whole object - any write changes the object
// - so the rules look at creates only. Before, every status patch and the finalizer's
// removal of such an object were refused after the upgrade: stuck for good.
func TestNameRulesSpareStoredObjects(t *testing.T) {
	env := testenv.StartForTest(t, testenv.Options{})
	ctx := context.Background()
	c := env.Client
	crds := []string{"subdomainrequests.subdomain.kominfo.go.id", "subdomainzones.subdomain.kominfo.go.id"}
	var restores []func() error
	for _, name := range crds {
		// As an older version shipped it: without the rules on metadata.name.
		dropped, restore, err := testenv.DropCRDRules(ctx, c, name, nil, "metadata.name")
		if err != nil {
			t.Fatal(err)
		}
		if dropped == 0 {
			t.Fatalf("CRD %s has no rule on metadata.name: the test proves nothing", name)
		}
		restores = append(restores, restore)
	}
	old := request("dinkes", "dinkes")
	old.Name = "dinkes.kota"
	old.Finalizers = []string{sdv1.Finalizer}
	longName := "z" + strings.Repeat("a", 63)
	zone := &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: longName, Finalizers: []string{sdv1.Finalizer}},
		Spec: sdv1.SubdomainZoneSpec{Domain: "lama.go.id", AddressPool: []string{"10.20.0.0/24"}}}
	// The API server takes the older schema in a moment.
	err := testenv.Eventually(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
		return c.Create(ctx, old.DeepCopy()) == nil, nil
	})
	if err != nil {
		t.Fatalf("the older schema never took request dinkes.kota: %v", err)
	}
	err = testenv.Eventually(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
		return c.Create(ctx, zone.DeepCopy()) == nil, nil
	})
	if err != nil {
		t.Fatalf("the older schema never took a zone of 64 characters: %v", err)
	}
	// The upgrade: the current CRDs, in force once they refuse such names again.
	for _, restore := range restores {
		if err := restore(); err != nil {
			t.Fatal(err)
		}
	}
	err = testenv.Eventually(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
		fresh := request("dinkes", "dinkes")
		fresh.Name = "baru.kota"
		z := zone.DeepCopy()
		z.Name = "y" + strings.Repeat("a", 63)
		return c.Create(ctx, fresh, client.DryRunAll) != nil && c.Create(ctx, z, client.DryRunAll) != nil, nil
	})
	if err != nil {
		t.Fatalf("the current rules never refused new bad names: %v", err)
	}
	// The stored objects still take the operator's writes.
	req := &sdv1.SubdomainRequest{}
	takesWrites(t, c, "request dinkes.kota", "dinkes.kota", req, func() { req.Status.Phase = sdv1.PhasePending })
	z := &sdv1.SubdomainZone{}
	takesWrites(t, c, "a zone of 64 characters", longName, z, func() { z.Status.Capacity = 254 })
}

// takesWrites reads obj (named name; what says which it is) and wants a status write
// (setStatus changes obj's status) and its finalizer's removal to be taken.
func takesWrites(t *testing.T, c client.Client, what, name string, obj client.Object, setStatus func()) {
	t.Helper()
	ctx := context.Background()
	if err := c.Get(ctx, client.ObjectKey{Name: name}, obj); err != nil {
		t.Fatal(err)
	}
	base := obj.DeepCopyObject().(client.Object)
	setStatus()
	if err := c.Status().Patch(ctx, obj, client.MergeFrom(base)); err != nil {
		t.Errorf("status write of %s, stored before the rule: %v", what, err)
	}
	base = obj.DeepCopyObject().(client.Object)
	obj.SetFinalizers(nil)
	if err := c.Patch(ctx, obj, client.MergeFrom(base)); err != nil {
		t.Errorf("finalizer removal of %s, stored before the rule: %v", what, err)
	}
}
