#!/usr/bin/env bash
# Builds the real external-dns binary (for the real-DNS test tier, see
# internal/testenv/dnsenv) from its Go module, pinned by hack/tools/externaldns/go.mod,
# into "${BIN_DIR:-<repo root>/bin}/external-dns".
#
# Skips the build when that binary exists and the stamp file .external-dns.version
# beside it names the pinned version. From cold on 2 cores the build takes a few
# minutes (external-dns links every DNS provider's SDK).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="${BIN_DIR:-$ROOT/bin}"
VERSION=v0.22.0
STAMP="$BIN_DIR/.external-dns.version"

if [ -x "$BIN_DIR/external-dns" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$VERSION" ]; then
  echo ">> external-dns $VERSION already in $BIN_DIR" >&2
  exit 0
fi

mkdir -p "$BIN_DIR"
echo ">> building external-dns $VERSION into $BIN_DIR ..." >&2
start=$SECONDS
rm -f "$STAMP"
cd "$ROOT/hack/tools/externaldns"
CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X sigs.k8s.io/external-dns/pkg/apis/externaldns.Version=$VERSION" \
  -o "$BIN_DIR/external-dns.tmp" sigs.k8s.io/external-dns
mv "$BIN_DIR/external-dns.tmp" "$BIN_DIR/external-dns"
echo "$VERSION" >"$STAMP"
echo ">> built external-dns $VERSION in $((SECONDS - start))s" >&2
