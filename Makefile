# subdomain-operator. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

BIN_DIR   ?= $(CURDIR)/bin
# The tests find kube-apiserver, etcd and kube-controller-manager here: where
# hack/build-tools.sh builds them, whatever the environment says.
export KUBEBUILDER_ASSETS := $(BIN_DIR)
CONTROLLER_GEN := $(BIN_DIR)/controller-gen
# kubectl for install/deploy: bin/kubectl once built (make envtest-assets), else the one on PATH.
KUBECTL   ?= $(or $(wildcard $(BIN_DIR)/kubectl),$(shell command -v kubectl))
GO_TEST_FLAGS ?= -count=1 -timeout 30m
# Packages whose tests run under the race detector (needs cgo: gcc): the reconcilers
# (8 workers) and the internal packages with goroutines of their own. The suites under
# test/ kill and restart processes on timing of their own and run without it. Both
# runs report, whichever fails; RACE_PKGS= runs everything without the detector.
RACE_PKGS ?= ./controllers/... ./internal/...
IMG       ?= subdomain-operator:dev

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

##@ Tools (built from the Go modules under hack/tools; cached per pin)
.PHONY: envtest-assets
envtest-assets: ## Build kube-apiserver, etcd, kube-controller-manager, kubectl into bin/.
	hack/build-tools.sh kube-apiserver etcd kube-controller-manager kubectl

.PHONY: tools
tools: envtest-assets ## Build every tool (control plane, controller-gen, external-dns, helm).
	hack/build-tools.sh controller-gen external-dns helm

$(CONTROLLER_GEN): hack/tools/go.mod hack/tools/go.sum
	hack/build-tools.sh controller-gen

##@ Code generation
# controller-gen never deletes a CRD file: manifests clears them first, so that a kind
# removed or renamed leaves no CRD behind (and make verify sees the file go).
.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and the manager's ClusterRole from markers; copy them into the chart.
	rm -f config/crd/bases/*.yaml
	$(CONTROLLER_GEN) rbac:roleName=subdomain-operator crd paths=./... \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	rm -f charts/subdomain-operator/files/crds/*.yaml charts/subdomain-operator/files/policies/*.yaml
	cp config/crd/bases/*.yaml charts/subdomain-operator/files/crds/
	cp config/rbac/role.yaml charts/subdomain-operator/files/rbac/role.yaml
	for f in config/policies/*.yaml; do [ "$$(basename $$f)" = kustomization.yaml ] || cp $$f charts/subdomain-operator/files/policies/; done

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: verify
verify: manifests generate ## Fail if generated files are stale, code is unformatted, a tracked file is over 1 MiB or vet complains.
	@git diff --exit-code -- api config charts || { echo "generated files are stale: run 'make manifests generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- config/crd/bases config/rbac/role.yaml charts 'api/*/zz_generated.deepcopy.go')" || { echo "untracked generated files"; exit 1; }
	@out=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$out" || { echo "gofmt needed: $$out"; exit 1; }
	@big=$$(git ls-files -z | xargs -0 du -k | awk '$$1 > 1024 {print $$2}'); test -z "$$big" || { echo "tracked files over 1 MiB (build output?): $$big"; exit 1; }
	go vet ./...

##@ Build and test
.PHONY: build
build: ## Build the manager and the kubectl plugin into bin/.
	go build -o $(BIN_DIR)/manager .
	@if [ -d cmd/kubectl-subdomain ] && ls cmd/kubectl-subdomain/*.go >/dev/null 2>&1; then go build -o $(BIN_DIR)/kubectl-subdomain ./cmd/kubectl-subdomain; fi

.PHONY: test
test: tools ## Run every test tier: table tests, envtest, fuzz seed corpora, chart, DNS end to end.
	@status=0; \
	race=$$([ -z "$(strip $(RACE_PKGS))" ] || go list $(RACE_PKGS)); \
	rest=$$(comm -23 <(go list ./... | sort) <(printf '%s\n' $$race | sort)); \
	if [ -n "$$race" ]; then \
		echo "go test $(GO_TEST_FLAGS) -race $(RACE_PKGS)"; go test $(GO_TEST_FLAGS) -race $$race || status=1; \
	fi; \
	if [ -n "$$rest" ]; then \
		echo "go test $(GO_TEST_FLAGS)" $$rest; go test $(GO_TEST_FLAGS) $$rest || status=1; \
	fi; \
	exit $$status

.PHONY: bench
BENCH_ARGS ?= -n 100,1000
bench: envtest-assets ## Benchmark against the real control plane; prints one table (BENCH_ARGS="-n 100,1000,5000").
	go run ./hack/bench $(BENCH_ARGS)

.PHONY: apicost
apicost: envtest-assets ## What each API call of a request costs the API server in CPU (APICOST_ARGS="-n 1000").
	go run ./hack/apicost $(APICOST_ARGS)

.PHONY: run
run: ## Run the manager against the cluster in $$KUBECONFIG.
	go run . --leader-elect=false

.PHONY: demo
demo: envtest-assets ## Embedded control plane + operator + samples; `make demo KUBECONFIG=path` uses that cluster.
	@# named found as the demo finds it (dnsenv.NamedPath: $$NAMED, /usr/sbin/named, PATH): then
	@# external-dns too, built or updated to its pin (a copy from the cache once built).
	@if [ -n "$${NAMED:-}" ] || [ -x /usr/sbin/named ] || command -v named >/dev/null; then hack/build-tools.sh external-dns; fi
	go run ./hack/demo $(if $(filter command line,$(origin KUBECONFIG)),--use-kubeconfig $(KUBECONFIG))

##@ Deploy
.PHONY: install
install: manifests ## Install the CRDs into the cluster in $$KUBECONFIG.
	@test -n "$(KUBECTL)" || { echo "no kubectl: run 'make envtest-assets' or put kubectl on PATH"; exit 1; }
	$(KUBECTL) apply --server-side -k config/crd

.PHONY: deploy
deploy: manifests ## Deploy the operator (CRDs, RBAC, policies, manager) with kustomize, image $$IMG.
	@test -n "$(KUBECTL)" || { echo "no kubectl: run 'make envtest-assets' or put kubectl on PATH"; exit 1; }
	$(KUBECTL) kustomize config/default | sed 's|image: subdomain-operator:dev|image: $(IMG)|' | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: ## Remove the operator (manager, RBAC); keep the CRDs - every request and ledger -, namespace subdomain-system (DNS records) and the policies that guard them.
	@test -n "$(KUBECTL)" || { echo "no kubectl: run 'make envtest-assets' or put kubectl on PATH"; exit 1; }
	$(KUBECTL) delete --ignore-not-found -k config/manager
	$(KUBECTL) delete --ignore-not-found -k config/rbac

.PHONY: docker-build
docker-build: ## Build the manager's image $$IMG (Dockerfile: static binary, distroless nonroot).
	docker build -t $(IMG) .
