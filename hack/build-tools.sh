#!/usr/bin/env bash
# Builds the pinned tools from the Go modules under hack/tools into bin/.
#
#   hack/build-tools.sh [tool...]     tools: kube-apiserver kube-controller-manager kubectl
#                                            etcd controller-gen external-dns helm
#
# Each tool is built once per pin into a cache outside the work tree
# ($SUBDOMAIN_TOOLS_CACHE, default ~/.cache/subdomain-operator/tools/<tool>-<key hash>)
# and copied into bin/, so a fresh clone on the same machine does not rebuild, and a
# changed pin (go.mod/go.sum of its tools module) rebuilds only that module's tools.
# The key is the pin, the build line (environment, flags, package) and the go env
# settings that change the binary (Go version, GOOS, GOARCH, GOEXPERIMENT, GOFLAGS,
# architecture level). Builds of the same key take turns (flock), each in its own
# temporary directory, published by a rename, so concurrent builds are safe.
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

# go env settings that change what `go build` makes: they are part of the cache key.
GO_ENV_KEYS=(GOVERSION GOOS GOARCH GOEXPERIMENT GOFLAGS GOAMD64 GOARM GOARM64 GO386 GOMIPS GOMIPS64 GOPPC64 GORISCV64 GOWASM)

# Removed on exit: a build's unique temporary directory, or bin/'s temporary copy.
cleanup=()
trap 'rm -rf "${cleanup[@]}"' EXIT

# build_flags sets BUILD_ENV and BUILD_FLAGS, the environment and flags of the build
# with ldflags $1. They are part of the cache key: a change to them builds anew.
build_flags() {
  BUILD_ENV=(CGO_ENABLED=0)
  BUILD_FLAGS=(-trimpath -ldflags "-s -w $1")
}

build() {
  local tool="$1" spec mod pkg ld dir goenv line hash cache lock
  spec="$(tool_spec "$tool")"
  IFS='|' read -r mod pkg ld <<<"$spec"
  dir="$ROOT/hack/tools/$mod"
  [ -f "$dir/go.mod" ] || { echo "no tools module for $tool at $dir" >&2; return 1; }
  goenv="$(cd "$dir" && go env "${GO_ENV_KEYS[@]}")"
  build_flags "$ld"
  line="$(printf '%q ' "${BUILD_ENV[@]}" go build "${BUILD_FLAGS[@]}" "$pkg")"
  hash="$(cat "$dir/go.mod" "$dir/go.sum" <(echo "$line") <(echo "$goenv") | sha256sum | cut -c1-16)"
  cache="$CACHE_ROOT/$tool-$hash"
  if [ ! -x "$cache/$tool" ]; then
    mkdir -p "$CACHE_ROOT"
    # One build of a key at a time: a second one waits, then finds it built. The
    # lock goes with its file descriptor, when this process ends however it ends.
    exec {lock}>"$cache.lock"
    if command -v flock >/dev/null 2>&1; then
      flock "$lock"
    else
      echo ">> flock (util-linux) not found: a concurrent build of $tool is not waited for" >&2
    fi
    if [ ! -x "$cache/$tool" ]; then
      # A unique directory next to the cache, published whole by a rename: a build
      # that fails or is killed leaves nothing under the cache's name.
      local tmp start=$SECONDS
      tmp="$(mktemp -d "$cache.tmp.XXXXXX")"
      cleanup+=("$tmp")
      if adopt_legacy "$tool" "$dir" "$pkg" "$ld" "$line" "$goenv" "$tmp"; then
        echo ">> $tool: the same build is cached under the older key; reusing it" >&2
      else
        echo ">> building $tool ($pkg) ..." >&2
        (cd "$dir" && env "${BUILD_ENV[@]}" go build "${BUILD_FLAGS[@]}" -o "$tmp/$tool" "$pkg")
        echo ">> built $tool in $((SECONDS - start))s" >&2
      fi
      chmod 0755 "$tmp" # mktemp -d makes it 0700; cache entries were always 0755
      rm -rf "$cache"    # only a hand-made directory without the binary can be here
      mv -T "$tmp" "$cache"
    fi
    exec {lock}>&-
  fi
  if ! cmp -s "$cache/$tool" "$BIN_DIR/$tool" 2>/dev/null; then
    local bin
    bin="$(mktemp "$BIN_DIR/.$tool.XXXXXX")"
    cleanup+=("$bin")
    cp "$cache/$tool" "$bin" && chmod 0755 "$bin" && mv -f "$bin" "$BIN_DIR/$tool"
  fi
}

# The cache key used to be the pin, the package, the ldflags and the Go version only,
# with this build line. A tool cached under that key is hard-linked into directory $7
# when it is what this build makes: the build line is still that one, and its build
# information (go version -m) shows this Go version, GOOS, GOARCH, GOEXPERIMENT and
# architecture level, and no other setting (tags, race, ...), and GOFLAGS holds none
# that would add one.
adopt_legacy() {
  local tool="$1" dir="$2" pkg="$3" ld="$4" line="$5" goenv="$6" out="$7" old info
  [ "$line" = "$(printf '%q ' CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ld" "$pkg")" ] || return 1
  old="$CACHE_ROOT/$tool-$(cat "$dir/go.mod" "$dir/go.sum" <(echo "$pkg $ld $(cd "$ROOT" && go env GOVERSION)") | sha256sum | cut -c1-16)"
  [ -x "$old/$tool" ] || return 1
  # GOFLAGS that do not change the binary; any other (tags, race, ...) would.
  local w
  for w in $(cd "$dir" && go env GOFLAGS); do
    case "$w" in -buildvcs=* | -modcacherw | -mod=readonly | -p=* | -v | -x) ;; *) return 1 ;; esac
  done
  info="$(cd "$dir" && go version -m "$old/$tool")" || return 1
  KEYS="${GO_ENV_KEYS[*]}" VALUES="$goenv" INFO="$info" awk 'BEGIN {
    nk = split(ENVIRON["KEYS"], k, " "); split(ENVIRON["VALUES"], v, "\n")
    for (i = 1; i <= nk; i++) env[k[i]] = v[i]
    n = split(ENVIRON["INFO"], lines, "\n")
    sub(/^[^:]*: /, "", lines[1])
    if (lines[1] != env["GOVERSION"]) exit 1
    want["-buildmode"] = "exe"; want["-compiler"] = "gc"; want["-trimpath"] = "true"; want["CGO_ENABLED"] = "0"
    want["GOOS"] = env["GOOS"]; want["GOARCH"] = env["GOARCH"]
    if (env["GOEXPERIMENT"] != "") want["GOEXPERIMENT"] = env["GOEXPERIMENT"]
    for (i = 2; i <= n; i++) {
      if (split(lines[i], f, "\t") < 3 || f[2] != "build") continue
      eq = index(f[3], "="); key = substr(f[3], 1, eq - 1); val = substr(f[3], eq + 1)
      if (key ~ /^GO(AMD64|ARM|ARM64|386|MIPS|MIPS64|PPC64|RISCV64|WASM)$/) { if (val != env[key]) exit 1; continue }
      if (!(key in want) || want[key] != val) exit 1
      seen[key] = 1
    }
    for (key in want) if (!(key in seen)) exit 1
  }' || return 1
  ln "$old/$tool" "$out/$tool" 2>/dev/null || cp "$old/$tool" "$out/$tool"
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(kube-apiserver kube-controller-manager kubectl etcd controller-gen)
for t in "${tools[@]}"; do build "$t"; done
