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

// Package gitops checks that GitOps tools read a request's health right: Flux's kstatus
// rules and the Argo CD health Lua snippet shipped in docs/argocd-health.lua, both on
// objects reconciled by the real operator on a real API server.
package gitops_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	lua "github.com/yuin/gopher-lua"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

func TestHealth(t *testing.T) {
	env := testenv.StartForTest(t, testenv.Options{})
	ctx := context.Background()
	c := env.Client
	if err := env.CreateNamespaces(ctx, "subdomain-system", "ingress-nginx"); err != nil {
		t.Fatal(err)
	}
	env.RunOperator(t, ctx, nil, manager.Config{})

	if err := c.Create(ctx, &sdv1.SubdomainZone{ObjectMeta: metav1.ObjectMeta{Name: "z"},
		Spec: sdv1.SubdomainZoneSpec{Domain: "pontianak.go.id", AddressPool: []string{"10.20.0.0/24"}}}); err != nil {
		t.Fatal(err)
	}
	mk := func(name, sub string, ann map[string]string) {
		if err := c.Create(ctx, &sdv1.SubdomainRequest{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann},
			Spec: sdv1.SubdomainRequestSpec{Zone: "z", Subdomain: sub, OPD: sdv1.OPD{Name: name, Code: name, AdminGroup: "g"}}}); err != nil {
			t.Fatal(err)
		}
	}
	ok := func(s string) map[string]string { return map[string]string{sdv1.AnnotationApproved: s} }
	mk("ready", "ready", ok("ready"))
	mk("pending", "pending", nil)
	mk("rejected", "rejected", map[string]string{sdv1.AnnotationRejected: "no"})
	mk("reserved", "www", ok("www"))
	// zlate asks for the name "ready" serves and loses it (Conflict): made only once
	// "ready" holds it, or the order the operator takes the two in would decide.
	if err := testenv.WaitFor(ctx, c, types.NamespacedName{Name: "ready"}, &sdv1.SubdomainRequest{}, time.Minute, 100*time.Millisecond,
		func(r *sdv1.SubdomainRequest) bool { return r.Status.Phase == sdv1.PhaseReady }); err != nil {
		t.Fatalf("request ready: %v", err)
	}
	mk("zlate", "ready", ok("ready"))

	script, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "docs", "argocd-health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		phase sdv1.Phase
		flux  status.Status
		argo  string
	}{
		{"ready", sdv1.PhaseReady, status.CurrentStatus, "Healthy"},
		{"pending", sdv1.PhasePending, status.InProgressStatus, "Suspended"},
		{"rejected", sdv1.PhaseRejected, status.FailedStatus, "Degraded"},
		{"reserved", sdv1.PhaseFailed, status.FailedStatus, "Degraded"},
		{"zlate", sdv1.PhaseConflict, status.FailedStatus, "Degraded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &sdv1.SubdomainRequest{}
			err := testenv.WaitFor(ctx, c, types.NamespacedName{Name: tc.name}, r, 60*time.Second, 100*time.Millisecond, func(r *sdv1.SubdomainRequest) bool {
				return r.Status.Phase == tc.phase
			})
			if err != nil {
				t.Fatalf("phase %s, want %s: %v", r.Status.Phase, tc.phase, err)
			}
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(r)
			if err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{Object: m}
			res, err := status.Compute(u)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.flux {
				t.Errorf("kstatus = %s (%s), want %s", res.Status, res.Message, tc.flux)
			}
			got, msg := argoHealth(t, string(script), m)
			if got != tc.argo {
				t.Errorf("Argo CD health = %s (%s), want %s", got, msg, tc.argo)
			}
		})
	}
}

// argoHealth runs the health script the way Argo CD does: obj is the object as a Lua
// table; the script returns {status, message}.
func argoHealth(t *testing.T, script string, obj map[string]any) (string, string) {
	t.Helper()
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		t.Fatal(err)
	}
	hs, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("the script returned %v", L.Get(-1))
	}
	return hs.RawGetString("status").String(), hs.RawGetString("message").String()
}

func toLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case map[string]any:
		tb := L.NewTable()
		for k, e := range x {
			tb.RawSetString(k, toLua(L, e))
		}
		return tb
	case []any:
		tb := L.NewTable()
		for _, e := range x {
			tb.Append(toLua(L, e))
		}
		return tb
	case string:
		return lua.LString(x)
	case bool:
		return lua.LBool(x)
	case int64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case nil:
		return lua.LNil
	}
	return lua.LNil
}
