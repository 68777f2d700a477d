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

// Command demo runs the operator's main job on an embedded local control plane:
// kube-apiserver, etcd and kube-controller-manager from bin/, BIND9 and external-dns
// when present, the CRDs and admission policies, and the operator itself. It applies
// the samples, approves one request as an approver, and shows the result. Ctrl-C stops
// everything it started.
//
//	go run ./hack/demo                        # embedded control plane
//	go run ./hack/demo --use-kubeconfig ~/.kube/config   # an existing cluster instead
//	go run ./hack/demo --once                 # show the result and stop (used by tests)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
	"github.com/kominfo/subdomain-operator/internal/testenv/dnsenv"
)

type demo struct {
	root       string
	kubeconfig string // admin kubeconfig the newcomer uses afterwards
	approverKC string // kubeconfig of the approving user ("" on a real cluster: the current user)
	cfg        *rest.Config
	c          client.Client
	bind       *dnsenv.BIND
	stops      []func()
}

func main() {
	kubeconfig := flag.String("use-kubeconfig", "", "run against this existing cluster instead of an embedded control plane")
	once := flag.Bool("once", false, "show the result and stop instead of waiting for Ctrl-C")
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.WriteTo(discard{})))
	ctx, cancel := signal.NotifyContext(context.Background(), testenv.StopSignals()...)
	defer cancel()
	d := &demo{root: testenv.RepoRoot()}
	err := d.run(ctx, *kubeconfig, *once)
	for i := len(d.stops) - 1; i >= 0; i-- {
		d.stops[i]()
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	fmt.Println("demo stopped; every process it started is gone.")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func step(format string, args ...any) { fmt.Printf("\n==> "+format+"\n", args...) }

func (d *demo) run(ctx context.Context, kubeconfig string, once bool) error {
	if kubeconfig != "" {
		if err := d.useCluster(kubeconfig); err != nil {
			return err
		}
	} else if err := d.startControlPlane(ctx); err != nil {
		return err
	}
	if err := d.ensureNamespaces(ctx, "subdomain-system", "ingress-nginx"); err != nil {
		return err
	}
	d.startDNS(ctx)

	step("starting the operator")
	mctx, stop := context.WithCancel(ctx)
	mgr, err := manager.New(mctx, d.cfg, manager.Config{MetricsAddr: "0", ProbeAddr: "0"})
	if err != nil {
		stop()
		return err
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = mgr.Start(mctx) }()
	d.stops = append(d.stops, func() { stop(); <-done })

	step("applying the samples (a zone and two requests, not yet approved)")
	if err := d.kubectl(d.kubeconfig, "apply", "-k", filepath.Join(d.root, "config", "samples")); err != nil {
		return err
	}
	if err := d.waitPhase(ctx, "dinkes", sdv1.PhasePending); err != nil {
		return err
	}
	_ = d.kubectl(d.kubeconfig, "get", "sdr")

	step("approving dinkes as an approver (the API server stamps who approved)")
	kc := d.approverKC
	if kc == "" {
		kc = d.kubeconfig
	}
	// Right after the CRDs and policies are installed, the API server may not yet
	// type-check the policies against the new kind: it answers ServiceUnavailable.
	err = testenv.Eventually(ctx, 60*time.Second, time.Second, func() (bool, error) {
		return d.kubectlQuiet(kc, "annotate", "sdr", "dinkes", sdv1.AnnotationApproved+"=dinkes") == nil, nil
	})
	if err != nil {
		return d.kubectl(kc, "annotate", "sdr", "dinkes", sdv1.AnnotationApproved+"=dinkes")
	}
	fmt.Println("subdomainrequest.subdomain.kominfo.go.id/dinkes annotated")
	if err := d.waitPhase(ctx, "dinkes", sdv1.PhaseReady); err != nil {
		return err
	}
	// The zone counts its addresses in a status write of its own, coalesced: show
	// it once it counts dinkes's.
	zone := &sdv1.SubdomainZone{}
	_ = testenv.WaitFor(ctx, d.c, types.NamespacedName{Name: "pontianak"}, zone, 10*time.Second, 100*time.Millisecond, func(z *sdv1.SubdomainZone) bool {
		return z.Status.Allocated > 0
	})
	step("kubectl get sdr,sdz")
	_ = d.kubectl(d.kubeconfig, "get", "sdr,sdz")
	r := &sdv1.SubdomainRequest{}
	if err := d.c.Get(ctx, types.NamespacedName{Name: "dinkes"}, r); err != nil {
		return err
	}
	fmt.Printf("approved by %q; children of dinkes in %s:\n", r.Annotations[sdv1.AnnotationApprovedBy], r.Status.Namespace)
	_ = d.kubectl(d.kubeconfig, "get", "namespace,resourcequota,limitrange,networkpolicy,rolebinding,ingress,secret", "-n", r.Status.Namespace,
		"-l", sdv1.LabelRequest+"=dinkes")
	_ = d.kubectl(d.kubeconfig, "get", "dnsendpoint", "-n", "subdomain-system")

	step("the credentials Secret's keys (the password is never printed)")
	sec := &corev1.Secret{}
	if err := d.c.Get(ctx, types.NamespacedName{Namespace: r.Status.Namespace, Name: sdv1.CredentialsSecretName}, sec); err != nil {
		return err
	}
	for _, k := range []string{"fqdn", "subdomain", "zone", "address", "username", "url", "password"} {
		v := string(sec.Data[k])
		if k == "password" {
			v = fmt.Sprintf("<%d characters, not shown>", len(v))
		}
		fmt.Printf("  %-9s %s\n", k+":", v)
	}

	if d.bind != nil {
		step("the DNS answer from BIND9 (published by external-dns)")
		if err := d.showDNS(ctx, r.Status.FQDN); err != nil {
			return err
		}
	}

	step("use it")
	fmt.Printf("  export PATH=%s:$PATH   # bin/kubectl\n  export KUBECONFIG=%s\n  kubectl get sdr\n  kubectl annotate sdr disdukcapil %s=disdukcapil\n",
		filepath.Join(testenv.RepoRoot(), "bin"), d.kubeconfig, sdv1.AnnotationApproved)
	if d.approverKC != "" {
		fmt.Printf("  (approving needs verb approve: use KUBECONFIG=%s for the approver \"kadis\")\n", d.approverKC)
	}
	if once {
		return nil
	}
	fmt.Println("\nPress Ctrl-C to stop everything.")
	<-ctx.Done()
	return nil
}

// startControlPlane starts kube-apiserver, etcd and kube-controller-manager with the
// CRDs and admission policies, and adds an approver user.
func (d *demo) startControlPlane(ctx context.Context) error {
	step("starting an embedded control plane (kube-apiserver, etcd, kube-controller-manager from bin/)")
	env, err := testenv.Start(testenv.Options{ControllerManager: true, ExtraManifests: []string{
		filepath.Join(d.root, "config", "policies"),
	}})
	if err != nil {
		return err
	}
	d.stops = append(d.stops, func() { _ = env.Stop() })
	d.cfg, d.c = env.Config, env.Client
	dir := filepath.Join(d.root, "demo")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := copyFile(env.Kubeconfig, filepath.Join(dir, "kubeconfig")); err != nil {
		return err
	}
	d.kubeconfig = filepath.Join(dir, "kubeconfig")
	for name, role := range map[string]string{"demo-approver": "subdomain-approver", "demo-editor": "subdomain-editor"} {
		if err := d.c.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "kadis"}}}); err != nil {
			return err
		}
	}
	u, err := env.AddUser("kadis")
	if err != nil {
		return err
	}
	b, err := u.KubeConfig()
	if err != nil {
		return err
	}
	d.approverKC = filepath.Join(dir, "approver.kubeconfig")
	if err := os.WriteFile(d.approverKC, b, 0o600); err != nil {
		return err
	}
	fmt.Printf("  kubeconfig: %s\n", d.kubeconfig)
	return nil
}

// useCluster runs against an existing cluster: installs the CRDs and policies there.
func (d *demo) useCluster(kubeconfig string) error {
	step("using the cluster in %s", kubeconfig)
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	d.cfg, d.kubeconfig = cfg, kubeconfig
	if d.c, err = client.New(cfg, client.Options{Scheme: manager.Scheme()}); err != nil {
		return err
	}
	for _, k := range []string{"crd", "policies"} {
		if err := d.kubectl(kubeconfig, "apply", "--server-side", "-k", filepath.Join(d.root, "config", k)); err != nil {
			return err
		}
	}
	dnsCRD, err := testenv.DNSEndpointCRD()
	if err != nil {
		return err
	}
	return d.kubectl(kubeconfig, "apply", "--server-side", "-f", dnsCRD)
}

func (d *demo) ensureNamespaces(ctx context.Context, names ...string) error {
	for _, n := range names {
		err := d.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}

// startDNS starts BIND9 and external-dns when both are installed.
func (d *demo) startDNS(ctx context.Context) {
	edns := filepath.Join(testenv.AssetsDir(), "external-dns")
	_, namedErr := dnsenv.NamedPath()
	_, ednsErr := os.Stat(edns)
	if namedErr != nil || ednsErr != nil {
		step("no BIND9 or bin/external-dns: DNS records are written as DNSEndpoints but not served (apt-get install bind9; make tools)")
		return
	}
	step("starting BIND9 on 127.0.0.1 and external-dns (rfc2136)")
	dir, err := os.MkdirTemp("", "subdomain-demo-dns-")
	if err != nil {
		fmt.Println("  skipped:", err)
		return
	}
	b, err := dnsenv.StartBIND(ctx, dir, "pontianak.go.id")
	if err != nil {
		fmt.Println("  BIND9 did not start:", err)
		return
	}
	d.stops = append(d.stops, func() { b.Stop(); _ = os.RemoveAll(dir) })
	ext, err := dnsenv.StartExternalDNS(ctx, edns, d.kubeconfig, b, "subdomain-system")
	if err != nil {
		fmt.Println("  external-dns did not start:", err)
		return
	}
	d.stops = append(d.stops, ext.Stop)
	d.bind = b
	fmt.Printf("  BIND9 serves pontianak.go.id on 127.0.0.1:%d\n", b.Port)
}

// showDNS waits until BIND9 answers the A record of fqdn and prints the answer: the
// real dig's when dig is installed, with the command line it ran; else the answer to
// the demo's own Go DNS query, saying so.
func (d *demo) showDNS(ctx context.Context, fqdn string) error {
	_, noDig := dnsenv.DigPath()
	ask, how := d.bind.Dig, d.bind.DigCommand(fqdn, "A")
	if noDig != nil {
		ask, how = d.bind.Lookup, fqdn+" A"
	}
	var got []string
	err := testenv.Eventually(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
		var err error
		got, err = ask(ctx, fqdn, "A")
		return len(got) > 0, err
	})
	if err != nil {
		return fmt.Errorf("DNS did not answer for %s: %w", fqdn, err)
	}
	fmt.Printf("  %s  ->  %s\n", how, strings.Join(got, " "))
	if noDig != nil {
		fmt.Printf("  (asked 127.0.0.1:%d with the demo's Go DNS client: dig is not installed; apt-get install bind9-dnsutils)\n", d.bind.Port)
	}
	return nil
}

func (d *demo) waitPhase(ctx context.Context, name string, phase sdv1.Phase) error {
	r := &sdv1.SubdomainRequest{}
	err := testenv.WaitFor(ctx, d.c, types.NamespacedName{Name: name}, r, 90*time.Second, 100*time.Millisecond, func(r *sdv1.SubdomainRequest) bool {
		return r.Status.Phase == phase
	})
	if err != nil {
		return fmt.Errorf("request %s is %s, not %s: %w", name, r.Status.Phase, phase, err)
	}
	return nil
}

// kubectl runs bin/kubectl (or kubectl on PATH) with its output on the terminal.
func (d *demo) kubectl(kubeconfig string, args ...string) error {
	cmd := kubectlCmd(kubeconfig, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// kubectlQuiet runs kubectl without printing.
func (d *demo) kubectlQuiet(kubeconfig string, args ...string) error {
	return kubectlCmd(kubeconfig, args...).Run()
}

func kubectlCmd(kubeconfig string, args ...string) *exec.Cmd {
	bin := filepath.Join(testenv.AssetsDir(), "kubectl")
	if _, err := os.Stat(bin); err != nil {
		bin = "kubectl"
	}
	return exec.Command(bin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}
