#!/usr/bin/env bash
# Builds the pinned tools from the Go modules under hack/tools into bin/.
#
#   hack/build-tools.sh [tool...]     tools: kube-apiserver kube-controller-manager kubectl
#                                            etcd controller-gen external-dns helm
#
# Each tool is built once per pin into a cache outside the work tree
# ($SUBDOMAIN_TOOLS_CACHE, default ~/.cache/subdomain-operator/tools/<pin hash>) and
# copied into bin/, so a fresh clone on the same machine does not rebuild, and a
# changed pin (go.mod/go.sum of its tools module) rebuilds only that module's tools.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="${BIN_DIR:-$ROOT/bin}"
CACHE_ROOT="${SUBDOMAIN_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/subdomain-operator/tools}"
K8S_VERSION=v1.37.2
mkdir -p "$BIN_DIR"

# module dir, package, extra ldflags for each tool
tool_spec() {
  local k8s_ld="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean"
  case "$1" in
    kube-apiserver)          echo "k8s|k8s.io/kubernetes/cmd/kube-apiserver|$k8s_ld" ;;
    kube-controller-manager) echo "k8s|k8s.io/kubernetes/cmd/kube-controller-manager|$k8s_ld" ;;
    kubectl)                 echo "k8s|k8s.io/kubernetes/cmd/kubectl|$k8s_ld" ;;
    etcd)                    echo "etcd|go.etcd.io/etcd/server/v3|" ;;
    controller-gen)          echo ".|sigs.k8s.io/controller-tools/cmd/controller-gen|" ;;
    external-dns)            echo "externaldns|sigs.k8s.io/external-dns|-X sigs.k8s.io/external-dns/pkg/apis/externaldns.Version=v0.22.0" ;;
    # helm's default for the cluster version (template, lint) is 1.20 unless set.
    helm)                    echo "helm|helm.sh/helm/v3/cmd/helm|-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37" ;;
    *) echo "unknown tool $1" >&2; return 1 ;;
  esac
}

build() {
  local tool="$1" spec mod pkg ld dir hash cache
  spec="$(tool_spec "$tool")"
  IFS='|' read -r mod pkg ld <<<"$spec"
  dir="$ROOT/hack/tools/$mod"
  [ -f "$dir/go.mod" ] || { echo "no tools module for $tool at $dir" >&2; return 1; }
  hash="$(cat "$dir/go.mod" "$dir/go.sum" <(echo "$pkg $ld $(go env GOVERSION)") | sha256sum | cut -c1-16)"
  cache="$CACHE_ROOT/$tool-$hash"
  if [ ! -x "$cache/$tool" ]; then
    echo ">> building $tool ($pkg) ..." >&2
    local start=$SECONDS
    mkdir -p "$cache.tmp"
    (cd "$dir" && CGO_ENABLED=0 go build -trimpath -o "$cache.tmp/$tool" -ldflags "-s -w $ld" "$pkg")
    rm -rf "$cache" && mv "$cache.tmp" "$cache"
    echo ">> built $tool in $((SECONDS - start))s" >&2
  fi
  if ! cmp -s "$cache/$tool" "$BIN_DIR/$tool" 2>/dev/null; then
    cp "$cache/$tool" "$BIN_DIR/$tool.tmp" && mv "$BIN_DIR/$tool.tmp" "$BIN_DIR/$tool"
  fi
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(kube-apiserver kube-controller-manager kubectl etcd controller-gen)
for t in "${tools[@]}"; do build "$t"; done
