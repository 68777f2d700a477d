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

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
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

// TestValueRulesSpareStoredObjects: the CRD rules that fail to evaluate on a value
// they refuse - a time zone the API server does not know, a duration in days, a date
// not of the calendar - refuse such a value when it is new or changed, and leave alone
// an object stored before the rule came: it still takes status writes and loses its
// finalizer. CRD ratcheting spares stored values that make a rule false, not those
// that make it fail; before these rules were transition rules, a zone stored with
// such a time zone could not even be deleted (its finalizer's removal was refused).
func TestValueRulesSpareStoredObjects(t *testing.T) {
	env := testenv.StartForTest(t, testenv.Options{})
	ctx := context.Background()
	c := env.Client
	const zoneCRD, requestCRD = "subdomainzones.subdomain.kominfo.go.id", "subdomainrequests.subdomain.kominfo.go.id"
	zone := func(name string) *sdv1.SubdomainZone {
		return &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: sdv1.SubdomainZoneSpec{Domain: name + ".go.id", AddressPool: []string{"10.20.0.0/24"}}}
	}
	windowed := zone("jendela")
	windowed.Spec.ChangeWindow = &sdv1.ChangeWindow{TimeZone: "Asia/Makassar",
		Windows: []sdv1.Window{{Days: []sdv1.Weekday{"Mon"}, Start: "08:00", End: "16:00"}}}
	req := request("surat", "surat")
	req.Spec.Letter = sdv1.Letter{Number: "001/2026", Date: "2026-11-20"}
	for _, tc := range []struct {
		what, crd  string
		paths      [][]string // the nodes whose rules (containing substr) an older version lacked
		substr     string
		obj        client.Object
		bad, worse string // the value stored before the rule; another refused value
		setStatus  func(u *unstructured.Unstructured) error
	}{
		{"a zone's time zone unknown to the API server", zoneCRD, [][]string{{"spec", "changeWindow", "timeZone"}}, "getHours",
			windowed, "Asia/Makasar", "Asia/Makasr", zoneStatus},
		{"a zone's rename grace period in days", zoneCRD, [][]string{{"spec", "renameGracePeriod"}}, "duration(",
			zone("tenggang"), "30d", "31d", zoneStatus},
		{"a zone's service levels in days", zoneCRD, [][]string{{"spec", "serviceLevel", "approval"}, {"spec", "serviceLevel", "provisioning"}}, "duration(",
			zone("layanan"), "1d", "2d", zoneStatus},
		{"a request's letter dated 30 February", requestCRD, [][]string{{"spec", "letter", "date"}}, "getFullYear",
			req, "2026-02-30", "2026-02-31", func(u *unstructured.Unstructured) error {
				return unstructured.SetNestedField(u.Object, string(sdv1.PhasePending), "status", "phase")
			}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			u := toUnstructured(t, tc.obj)
			u.SetFinalizers([]string{sdv1.Finalizer})
			setAll := func(u *unstructured.Unstructured, v string) {
				for _, p := range tc.paths {
					if err := unstructured.SetNestedField(u.Object, v, p...); err != nil {
						t.Fatal(err)
					}
				}
			}
			setAll(u, tc.bad)
			// As an older version shipped the CRD: without the rules. Put back in the
			// reverse order, the first restore last: it has the CRD as it was.
			var restores []func() error
			for _, p := range tc.paths {
				dropped, restore, err := testenv.DropCRDRules(ctx, c, tc.crd, p, tc.substr)
				if err != nil {
					t.Fatal(err)
				}
				if dropped == 0 {
					t.Fatalf("CRD %s has no rule with %q on %v: the test proves nothing", tc.crd, tc.substr, p)
				}
				restores = append([]func() error{restore}, restores...)
			}
			err := testenv.Eventually(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
				return c.Create(ctx, u.DeepCopy()) == nil, nil
			})
			if err != nil {
				t.Fatalf("the older schema never took %s: %v", tc.what, err)
			}
			for _, restore := range restores {
				if err := restore(); err != nil {
					t.Fatal(err)
				}
			}
			// The upgrade is in force once a new object with the value is refused.
			fresh := u.DeepCopy()
			fresh.SetName(u.GetName() + "-baru")
			fresh.SetFinalizers(nil)
			err = testenv.Eventually(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
				return apierrors.IsInvalid(c.Create(ctx, fresh.DeepCopy(), client.DryRunAll)), nil
			})
			if err != nil {
				t.Fatalf("the current rules never refused a new %s: %v", tc.what, err)
			}
			// A change to another refused value is refused.
			stored := toUnstructured(t, tc.obj)
			if err := c.Get(ctx, client.ObjectKey{Name: u.GetName()}, stored); err != nil {
				t.Fatal(err)
			}
			changed := stored.DeepCopy()
			setAll(changed, tc.worse)
			if err := c.Update(ctx, changed, client.DryRunAll); !apierrors.IsInvalid(err) {
				t.Errorf("a change of %s to %q: %v, want Invalid", tc.what, tc.worse, err)
			}
			// The stored object still takes the operator's writes.
			obj := toUnstructured(t, tc.obj)
			takesWrites(t, c, tc.what, u.GetName(), obj, func() {
				if err := tc.setStatus(obj); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

func zoneStatus(u *unstructured.Unstructured) error {
	return unstructured.SetNestedField(u.Object, int64(254), "status", "capacity")
}

// toUnstructured is obj as an unstructured object of its kind.
func toUnstructured(t *testing.T, obj client.Object) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	kind := "SubdomainZone"
	if _, ok := obj.(*sdv1.SubdomainRequest); ok {
		kind = "SubdomainRequest"
	}
	u.SetGroupVersionKind(sdv1.GroupVersion.WithKind(kind))
	return u
}
