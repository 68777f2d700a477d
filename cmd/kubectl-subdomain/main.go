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

// Command kubectl-subdomain is the kubectl plugin of subdomain-operator:
//
//	kubectl subdomain approve NAME            approve exactly the spec.subdomain shown
//	kubectl subdomain reject NAME --reason R
//	kubectl subdomain list
//	kubectl subdomain describe NAME           the change report (never the password); from the ledger once the request is gone
//	kubectl subdomain report --year 2026 [--zone Z] [-o markdown|csv|json]
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	// The zones' change windows are read on the user's machine, which may have no time
	// zone database (Windows without Go): without one, describe would judge a rename's
	// time from its approval instead of the window's opening.
	_ "time/tzdata"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/naming"
	"github.com/kominfo/subdomain-operator/internal/report"
	"github.com/kominfo/subdomain-operator/internal/window"
)

const usage = `usage: kubectl subdomain COMMAND [FLAGS]
  approve NAME                      approve the request's current spec.subdomain
  reject NAME --reason TEXT         reject the request
  list                              the managed subdomains
  describe NAME                     the change report of one request (of a deleted one: from the ledger)
  report --year YYYY [--zone Z] [-o markdown|csv|json]   the annual report
  help                              this text
kubectl's connection flags, anywhere on the line: --kubeconfig FILE, --context NAME,
  --cluster NAME, --user NAME, --server URL, --token TOKEN, --certificate-authority FILE,
  --client-certificate FILE, --client-key FILE, --tls-server-name NAME,
  --insecure-skip-tls-verify, --as USER, --as-group GROUP (repeatable),
  --request-timeout DURATION; -n/--namespace is accepted and ignored (the resources
  are cluster-scoped).
`

// connection takes kubectl's connection flags out of args, wherever they are (kubectl
// passes a plugin the flags after its name, and refuses flags before it), in the
// --flag VALUE and --flag=VALUE forms; it returns the loading rules and overrides they
// make and the arguments left.
func connection(args []string) (*clientcmd.ClientConfigLoadingRules, *clientcmd.ConfigOverrides, []string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	over := &clientcmd.ConfigOverrides{}
	set := map[string]func(string){
		"kubeconfig":            func(v string) { rules.ExplicitPath = v },
		"context":               func(v string) { over.CurrentContext = v },
		"cluster":               func(v string) { over.Context.Cluster = v },
		"user":                  func(v string) { over.Context.AuthInfo = v },
		"server":                func(v string) { over.ClusterInfo.Server = v },
		"as":                    func(v string) { over.AuthInfo.Impersonate = v },
		"as-group":              func(v string) { over.AuthInfo.ImpersonateGroups = append(over.AuthInfo.ImpersonateGroups, v) },
		"request-timeout":       func(v string) { over.Timeout = v },
		"token":                 func(v string) { over.AuthInfo.Token = v },
		"client-certificate":    func(v string) { over.AuthInfo.ClientCertificate = v },
		"client-key":            func(v string) { over.AuthInfo.ClientKey = v },
		"certificate-authority": func(v string) { over.ClusterInfo.CertificateAuthority = v },
		"tls-server-name":       func(v string) { over.ClusterInfo.TLSServerName = v },
		"namespace":             func(string) {},
		"n":                     func(string) {},
	}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "insecure-skip-tls-verify" && strings.HasPrefix(a, "--") { // a switch: no separate value
			skip, err := strconv.ParseBool(cmp.Or(value, "true"))
			if err != nil {
				return nil, nil, nil, fmt.Errorf("flag %s: %w", a, err)
			}
			over.ClusterInfo.InsecureSkipTLSVerify = skip
			continue
		}
		f, ok := set[name]
		if !ok || !strings.HasPrefix(a, "-") || (len(name) > 1 && !strings.HasPrefix(a, "--") && name != "kubeconfig") {
			rest = append(rest, a)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, nil, nil, fmt.Errorf("flag %s needs a value", a)
			}
			i++
			value = args[i]
		}
		f(value)
	}
	return rules, over, rest, nil
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	rules, over, args, err := connection(args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("no command")
	}
	if args[0] == "help" || slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "-help" || a == "--help" }) {
		// Help needs no cluster: the usage lists every command's flags. It goes to
		// stdout, asked for; a usage error's goes to stderr.
		fmt.Fprint(out, usage)
		return nil
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, over).ClientConfig()
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		return err
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "approve":
		return approve(ctx, c, rest, out)
	case "reject":
		return reject(ctx, c, rest, out)
	case "list":
		return list(ctx, c, out)
	case "describe":
		return describe(ctx, c, rest, out)
	case "report":
		return annual(ctx, c, rest, out)
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func oneName(fs *flag.FlagSet, args []string) (string, error) {
	// Accept flags before or after NAME.
	var name string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return "", err
		}
		args = fs.Args()
		if len(args) > 0 {
			if name != "" {
				return "", fmt.Errorf("one request name, got %q and %q", name, args[0])
			}
			name, args = args[0], args[1:]
		}
	}
	if name == "" {
		return "", errors.New("a request name is needed")
	}
	return name, nil
}

// annotate sets annotations with the resourceVersion read, so the change applies to
// exactly the object the approver saw (a concurrent edit makes it fail, not drift).
// A nil value removes the annotation.
func annotate(ctx context.Context, c client.Client, r *sdv1.SubdomainRequest, kv map[string]any) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": r.ResourceVersion, "annotations": kv,
	}})
	if err != nil {
		return err
	}
	return c.Patch(ctx, r, client.RawPatch(types.MergePatchType, patch))
}

func get(ctx context.Context, c client.Client, name string) (*sdv1.SubdomainRequest, error) {
	r := &sdv1.SubdomainRequest{}
	return r, c.Get(ctx, types.NamespacedName{Name: name}, r)
}

func approve(ctx context.Context, c client.Client, args []string, out io.Writer) error {
	name, err := oneName(flag.NewFlagSet("approve", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	r, err := get(ctx, c, name)
	if err != nil {
		return err
	}
	// A rejection wins over an approval: approving lifts it in the same write, or
	// the approval would be recorded and nothing would happen.
	kv := map[string]any{sdv1.AnnotationApproved: r.Spec.Subdomain}
	reason, wasRejected := r.Annotations[sdv1.AnnotationRejected]
	if wasRejected {
		kv[sdv1.AnnotationRejected] = nil
	}
	if err := annotate(ctx, c, r, kv); err != nil {
		return err
	}
	fmt.Fprintf(out, "approved %s: subdomain %q in zone %s (approved-by %s)\n", name, r.Spec.Subdomain, r.Spec.Zone,
		r.Annotations[sdv1.AnnotationApprovedBy])
	if wasRejected {
		fmt.Fprintf(out, "the rejection (%q) is lifted\n", reason)
	}
	return nil
}

func reject(ctx context.Context, c client.Client, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("reject", flag.ContinueOnError)
	reason := fs.String("reason", "", "why the request is rejected (required)")
	name, err := oneName(fs, args)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return errors.New("--reason is required")
	}
	r, err := get(ctx, c, name)
	if err != nil {
		return err
	}
	if err := annotate(ctx, c, r, map[string]any{sdv1.AnnotationRejected: *reason}); err != nil {
		return err
	}
	fmt.Fprintf(out, "rejected %s: %s\n", name, *reason)
	return nil
}

func list(ctx context.Context, c client.Client, out io.Writer) error {
	reqs := &sdv1.SubdomainRequestList{}
	if err := c.List(ctx, reqs); err != nil {
		return err
	}
	slices.SortFunc(reqs.Items, func(a, b sdv1.SubdomainRequest) int { return strings.Compare(a.Name, b.Name) })
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tOPD\tFQDN\tADDRESS\tNAMESPACE\tPHASE\tAPPROVED BY")
	for _, r := range reqs.Items {
		by := "-"
		if r.Status.Approval != nil {
			by = r.Status.Approval.ApprovedBy
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, report.Inert(r.Spec.OPD.Name), dash(r.Status.FQDN), dash(r.Status.Address),
			dash(r.Status.Namespace), dash(string(r.Status.Phase)), report.Inert(by))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func ts(t interface{ IsZero() bool }, f func() string) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return f()
}

func describe(ctx context.Context, c client.Client, args []string, out io.Writer) error {
	name, err := oneName(flag.NewFlagSet("describe", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	r, err := get(ctx, c, name)
	if apierrors.IsNotFound(err) {
		return describeGone(ctx, c, name, err, out)
	}
	if err != nil {
		return err
	}
	inert(r)
	// Without the zone (deleted, or not readable by this user) the report has no
	// standards and names no zone-dependent place, and says so.
	zone := &sdv1.SubdomainZone{}
	zoneNote := ""
	if err := c.Get(ctx, types.NamespacedName{Name: r.Spec.Zone}, zone); err != nil {
		zone, zoneNote = nil, fmt.Sprintf("Zone:        %s cannot be read (%s): no service-level standards, and the places set by the zone are not named\n",
			r.Spec.Zone, apierrors.ReasonForError(err))
	}
	st := r.Status
	w := &strings.Builder{}
	fmt.Fprintf(w, "Change report (laporan hasil kegiatan): %s\n\n", r.Name)
	w.WriteString(zoneNote)
	fmt.Fprintf(w, "OPD:         %s (%s)\n", r.Spec.OPD.Name, r.Spec.OPD.Code)
	fmt.Fprintf(w, "Contact:     %s %s %s\n", r.Spec.OPD.Contact.Name, r.Spec.OPD.Contact.Email, r.Spec.OPD.Contact.Phone)
	fmt.Fprintf(w, "Letter:      %s dated %s\n", dash(r.Spec.Letter.Number), dash(r.Spec.Letter.Date))
	fmt.Fprintf(w, "Phase:       %s\n", dash(string(st.Phase)))
	fmt.Fprintf(w, "FQDN:        %s\nAddress:     %s\nNamespace:   %s\n", dash(st.FQDN), dash(st.Address), dash(st.Namespace))
	if st.CredentialsSecret != nil {
		fmt.Fprintf(w, "Credentials: Secret %s/%s (keys fqdn, subdomain, zone, address, username, password, url)\n",
			st.CredentialsSecret.Namespace, st.CredentialsSecret.Name)
	}
	if st.Approval != nil {
		fmt.Fprintf(w, "Approved:    %q by %s at %s\n", st.Approval.Name, dash(st.Approval.ApprovedBy),
			ts(st.Approval.ApprovedAt, func() string { return st.Approval.ApprovedAt.UTC().Format(time.RFC3339) }))
	} else {
		fmt.Fprintf(w, "Approved:    not yet\n")
	}
	fmt.Fprintf(w, "\nTimeline (against the zone's service level):\n")
	fmt.Fprintf(w, "  requested  %s\n", ts(st.RequestedAt, func() string { return st.RequestedAt.UTC().Format(time.RFC3339) }))
	stage := func(label string, from, to *metav1.Time, std *time.Duration) {
		line := fmt.Sprintf("  %-10s %s", label, "-")
		if !to.IsZero() && !from.IsZero() { // IsZero is true for nil
			d := to.Sub(from.Time)
			line = fmt.Sprintf("  %-10s after %s%s", label, d.Round(time.Second), report.Verdict(d, std))
		}
		fmt.Fprintln(w, line)
	}
	appStd, provStd := report.Standards(zone)
	stage("approved", st.RequestedAt, st.ApprovedAt, appStd)
	stage("ready", st.ApprovedAt, st.ReadyAt, provStd)
	// The last rename, when the approval on record is the current name's: from that
	// approval to the rename taking effect (the old name retired), against the same
	// provisioning standard.
	if n := len(st.PreviousNames); n > 0 && st.Approval != nil && st.Approval.ApprovedAt != nil &&
		zone != nil && naming.FQDN(st.Approval.Name, zone.Spec.Domain) == st.FQDN &&
		!st.PreviousNames[n-1].RetiredAt.Before(st.Approval.ApprovedAt) {
		// From when the change window let it be made (the operator's ledger counts so too).
		from := metav1.NewTime(window.ChangeFrom(zone.Spec.ChangeWindow, st.Approval.ApprovedAt.Time))
		stage("renamed", &from, &st.PreviousNames[n-1].RetiredAt, provStd)
	}
	now := time.Now()
	created(w, r, zone, now)
	if len(st.PreviousNames) > 0 {
		fmt.Fprintf(w, "\nRenamed from:\n")
		for _, p := range st.PreviousNames {
			state := "serving until " + p.ExpiresAt.UTC().Format(time.RFC3339)
			switch {
			case p.Released:
				state = "released at " + p.ExpiresAt.UTC().Format(time.RFC3339)
			case !p.ExpiresAt.After(now):
				// Its host and record are gone; the claim stays while the hosting
				// namespace serves the name itself (NameAvailable says so).
				state = "grace period over at " + p.ExpiresAt.UTC().Format(time.RFC3339) + ", its claim not released yet"
			}
			fmt.Fprintf(w, "  %s (retired %s, %s)\n", p.FQDN, p.RetiredAt.UTC().Format(time.RFC3339), state)
		}
	}
	fmt.Fprintf(w, "\nConditions:\n")
	for _, cnd := range st.Conditions {
		fmt.Fprintf(w, "  %-17s %-6s %s: %s\n", cnd.Type, cnd.Status, cnd.Reason, cnd.Message)
	}
	_, err = io.WriteString(out, w.String())
	return err
}

// inert makes the user text of r that describe prints fit for a terminal line
// (report.Inert): the CRD refuses control characters in the request's own fields, but
// not in objects stored before that rule, nor in usernames or condition messages
// that quote an annotation.
func inert(r *sdv1.SubdomainRequest) {
	o := &r.Spec.OPD
	o.Name, o.AdminGroup = report.Inert(o.Name), report.Inert(o.AdminGroup)
	o.Contact.Name, o.Contact.Email, o.Contact.Phone = report.Inert(o.Contact.Name), report.Inert(o.Contact.Email), report.Inert(o.Contact.Phone)
	r.Spec.Letter.Number, r.Spec.Letter.Date = report.Inert(r.Spec.Letter.Number), report.Inert(r.Spec.Letter.Date)
	if a := r.Status.Approval; a != nil {
		a.ApprovedBy = report.Inert(a.ApprovedBy)
	}
	for i := range r.Status.Conditions {
		c := &r.Status.Conditions[i]
		c.Reason, c.Message = report.Inert(c.Reason), report.Inert(c.Message)
	}
}

// created lists what the request produced (the design's table), from its status and
// zone, each object once its condition says it is in place: the reader of the change
// report needs no rights beyond reading requests and zones. zone is nil when it cannot
// be read: the places it sets are then named by the field that sets them.
func created(w io.Writer, r *sdv1.SubdomainRequest, zone *sdv1.SubdomainZone, now time.Time) {
	st := r.Status
	controllerNS, dnsNS := "the zone's ingress.controllerNamespace", "<the zone's dns.namespace>"
	if zone != nil {
		controllerNS, dnsNS = zone.Spec.Ingress.ControllerNamespace, zone.Spec.DNS.Namespace
	}
	ok := func(typ string) bool { return meta.IsStatusConditionTrue(st.Conditions, typ) }
	var lines []string
	add := func(kind, where, what string) { lines = append(lines, fmt.Sprintf("  %-14s %s%s", kind, where, what)) }
	ns := st.Namespace
	if ok(sdv1.ConditionHostingReady) && ns != "" {
		add("Namespace", ns, " (Pod Security restricted)")
		add("ResourceQuota", ns+"/"+sdv1.HostingObjectName, "")
		add("LimitRange", ns+"/"+sdv1.HostingObjectName, "")
		add("NetworkPolicy", ns+"/"+sdv1.HostingObjectName, " (ingress from the namespace and "+controllerNS+")")
		add("RoleBinding", ns+"/"+sdv1.AdminRoleBindingName, fmt.Sprintf(" (group %s -> ClusterRole admin)", r.Spec.OPD.AdminGroup))
	}
	var old []string
	for _, p := range st.PreviousNames {
		if !p.Released && p.ExpiresAt.After(now) { // as the operator keeps them (activePreviousNames)
			old = append(old, p.FQDN)
		}
	}
	if ok(sdv1.ConditionIngressReady) && ns != "" {
		hosts := strings.Join(append([]string{st.FQDN}, old...), ", ")
		add("Ingress", ns+"/"+r.Name, fmt.Sprintf(" (hosts %s -> service %s:%d)", hosts, r.Spec.Hosting.Service.Name, r.Spec.Hosting.Service.Port))
	}
	if ok(sdv1.ConditionDNSReady) {
		rtype := "A"
		if a, err := netip.ParseAddr(st.Address); err == nil && a.Is6() {
			rtype = "AAAA" // as the operator writes it
		}
		recs := fmt.Sprintf("%s %s -> %s", rtype, st.FQDN, st.Address)
		for _, o := range old {
			recs += fmt.Sprintf(", CNAME %s -> %s", o, st.FQDN)
		}
		add("DNSEndpoint", dnsNS+"/"+r.Name, " ("+recs+")")
	}
	if ok(sdv1.ConditionCredentialsReady) && st.CredentialsSecret != nil {
		add("Secret", st.CredentialsSecret.Namespace+"/"+st.CredentialsSecret.Name, "")
	}
	if zone != nil && len(zone.Spec.AddressPool) > 0 && len(zone.Spec.Ingress.ControllerSelector) > 0 && st.Address != "" {
		add("Service", zone.Spec.Ingress.ControllerNamespace+"/"+sdv1.LoadBalancerServicePrefix+r.Name,
			fmt.Sprintf(" (LoadBalancer %s; AddressAssigned %s)", st.Address, condStatus(st.Conditions, sdv1.ConditionAddressAssigned)))
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "\nCreated (each labelled %s=%s):\n%s\n", sdv1.LabelRequest, r.Name, strings.Join(lines, "\n"))
}

func condStatus(cs []metav1.Condition, typ string) string {
	if c := meta.FindStatusCondition(cs, typ); c != nil {
		return string(c.Status)
	}
	return "unknown"
}

// describeGone is describe of a request that is gone: its change report from the
// ledger, which keeps every request's history (notFound is the error of the get).
func describeGone(ctx context.Context, c client.Client, name string, notFound error, out io.Writer) error {
	ledgers := &sdv1.SubdomainLedgerList{}
	if err := c.List(ctx, ledgers); err != nil {
		return fmt.Errorf("%w, and the ledger cannot be read: %v", notFound, err)
	}
	zones := &sdv1.SubdomainZoneList{}
	_ = c.List(ctx, zones) // without the zones the report has no standards to compare with
	found, err := report.Describe(out, name, ledgers.Items, zones.Items)
	if err == nil && !found {
		err = fmt.Errorf("%w, and the ledger has no record of it", notFound)
	}
	return err
}

func annual(ctx context.Context, c client.Client, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	year := fs.Int("year", time.Now().UTC().Year(), "the year (UTC, as the ledger)")
	zone := fs.String("zone", "", "only this zone")
	format := fs.String("o", "markdown", "markdown, csv or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		// Flags after an argument are not parsed: "report 2026 -o csv" would print
		// this year's report as markdown.
		return fmt.Errorf("report takes no arguments, got %q: use --year, --zone and -o", fs.Args())
	}
	now := time.Now()
	if *year < 1970 || *year > now.UTC().Year()+1 {
		return fmt.Errorf("--year %d: give a year from 1970 to %d", *year, now.UTC().Year()+1)
	}
	in := report.Input{Year: *year, Zone: *zone, Now: now}
	zones := &sdv1.SubdomainZoneList{}
	reqs := &sdv1.SubdomainRequestList{}
	ledgers := &sdv1.SubdomainLedgerList{}
	for _, l := range []client.ObjectList{zones, reqs, ledgers} {
		if err := c.List(ctx, l); err != nil {
			return err
		}
	}
	in.Zones, in.Requests, in.Ledgers = zones.Items, reqs.Items, ledgers.Items
	if *zone != "" && !zoneKnown(*zone, in) {
		// A typo would print an empty report that reads as a quiet year.
		return fmt.Errorf("zone %q: no SubdomainZone, ledger or request has it", *zone)
	}
	return report.Build(in).Render(out, *format)
}

// zoneKnown tells whether a zone exists or is named by a ledger or a request (a zone
// deleted since still has its record).
func zoneKnown(zone string, in report.Input) bool {
	return slices.ContainsFunc(in.Zones, func(z sdv1.SubdomainZone) bool { return z.Name == zone }) ||
		slices.ContainsFunc(in.Ledgers, func(l sdv1.SubdomainLedger) bool { return l.Spec.Zone == zone }) ||
		slices.ContainsFunc(in.Requests, func(r sdv1.SubdomainRequest) bool { return r.Spec.Zone == zone })
}
