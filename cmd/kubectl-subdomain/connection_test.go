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

package main

import (
	"slices"
	"testing"
)

// TestConnection: kubectl's connection flags are taken wherever they are on the line
// (kubectl passes a plugin the flags after its name), in both forms; the command's
// own flags and arguments are left in order.
func TestConnection(t *testing.T) {
	rules, over, rest, err := connection([]string{"report", "--context", "provinsi", "--year", "2026",
		"--kubeconfig=/tmp/kc", "-n", "default", "--as", "kadis", "--as-group=a", "--as-group", "b",
		"--server", "https://k:6443", "--request-timeout=5s", "--cluster", "c", "--user", "u", "-o", "json"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"report", "--year", "2026", "-o", "json"}; !slices.Equal(rest, want) {
		t.Errorf("left %q, want %q", rest, want)
	}
	if rules.ExplicitPath != "/tmp/kc" || over.CurrentContext != "provinsi" || over.AuthInfo.Impersonate != "kadis" ||
		!slices.Equal(over.AuthInfo.ImpersonateGroups, []string{"a", "b"}) || over.ClusterInfo.Server != "https://k:6443" ||
		over.Timeout != "5s" || over.Context.Cluster != "c" || over.Context.AuthInfo != "u" {
		t.Errorf("rules %+v, overrides %+v", rules, over)
	}
	_, over, rest, err = connection([]string{"list", "--token=t", "--certificate-authority", "ca.crt", "--client-certificate", "c.crt",
		"--client-key", "c.key", "--tls-server-name", "k", "--insecure-skip-tls-verify"})
	if err != nil || len(rest) != 1 || over.AuthInfo.Token != "t" || over.ClusterInfo.CertificateAuthority != "ca.crt" ||
		over.AuthInfo.ClientCertificate != "c.crt" || over.AuthInfo.ClientKey != "c.key" || over.ClusterInfo.TLSServerName != "k" ||
		!over.ClusterInfo.InsecureSkipTLSVerify {
		t.Errorf("credentials flags: %v, left %q, overrides %+v", err, rest, over)
	}
	if _, _, _, err := connection([]string{"list", "--context"}); err == nil {
		t.Error("--context without a value: no error")
	}
}
