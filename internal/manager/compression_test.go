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

package manager_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kominfo/subdomain-operator/internal/manager"
	"github.com/kominfo/subdomain-operator/internal/testenv"
)

// TestWatchCompression: the manager's clients ask for no compression unless told to,
// so the API server does not gzip every watch event it sends them: informers open
// their watches as watch-lists (sendInitialEvents), which the API server compresses
// for the stream's whole life when the client accepts gzip. With compression on, the
// same watch arrives gzipped (which shows the test can tell the two apart).
func TestWatchCompression(t *testing.T) {
	env := testenv.StartForTest(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i, c := range []struct {
		compression bool
		wantGzip    bool
	}{{false, false}, {true, true}} {
		mgr, err := manager.New(ctx, env.Config, manager.Config{Compression: c.compression, SkipNameValidation: true,
			MetricsAddr: "0", ProbeAddr: "0"})
		if err != nil {
			t.Fatal(err)
		}
		gzipped := watchArrivesGzipped(ctx, t, env, mgr.GetConfig(), fmt.Sprintf("compression-%d", i))
		if gzipped != c.wantGzip {
			t.Errorf("Compression=%v: watch stream gzipped = %v, want %v", c.compression, gzipped, c.wantGzip)
		}
	}
}

// watchArrivesGzipped opens a watch-list on namespaces with cfg's transport, as an
// informer does, creates namespace name, reads its event and says whether the API
// server gzipped the stream.
func watchArrivesGzipped(ctx context.Context, t *testing.T, env *testenv.Env, cfg *rest.Config, name string) bool {
	t.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimSuffix(cfg.Host, "/")+"/api/v1/namespaces?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&fieldSelector=metadata.name%3D"+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch: %s", resp.Status)
	}
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	// A bookmark ends the (empty) initial list; the namespace's ADDED follows.
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(line, `"ADDED"`) && strings.Contains(line, `"name":"`+name+`"`) {
			break
		}
	}
	// The transport decompresses what it asked to be compressed, and says so.
	return resp.Uncompressed || resp.Header.Get("Content-Encoding") == "gzip"
}
