#!/usr/bin/env bash
# Put the pinned LiteLLM proxy in its own venv at .cache/tools/litellm, for tests/components/k8s/test_gateway.py:
# every generated gateway config is loaded by LiteLLM's own proxy config loader and served by the
# real proxy on a loopback port. The version MUST equal LITELLM_VERSION in
# sovereign/domain/gateway.py (the image the clusters run); the script reads it from there.
# Separate from .venv so LiteLLM's large dependency tree never constrains the project's pins.
# Idempotent: a second run only checks the installed version.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VERSION="$(sed -n 's/^LITELLM_VERSION = "\([0-9.]*\)".*/\1/p' "$ROOT/sovereign/domain/gateway.py")"
if [ -z "$VERSION" ]; then
  echo "setup-litellm: LITELLM_VERSION not found in sovereign/domain/gateway.py" >&2
  exit 1
fi
VENV="$ROOT/.cache/tools/litellm"

installed() {
  [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/litellm" ] \
    && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"), m.version("prisma"))' \
            2>/dev/null)" = "$VERSION 0.15.0" ] \
    && "$VENV/bin/python" -c 'import prometheus_client' 2>/dev/null
}

if installed; then
  exit 0
fi
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
# [proxy] brings the proxy server, its config loader and the `litellm` CLI. The image also installs the
# extra_proxy extra; of it the proxy imports prisma even without a database (its error handler does, so
# a request without the gateway key answers 500 instead of 401 when it is missing). pip cannot select
# that extra by name (its metadata spells it two ways), so prisma is pinned here; prometheus-client, which the
# gateway's prometheus callback needs, comes with the image's proxy-runtime extra, pinned here likewise.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "litellm[proxy]==$VERSION" "prisma==0.15.0" \
  "prometheus-client==0.23.1"
installed || { echo "setup-litellm: litellm $VERSION did not install into $VENV" >&2; exit 1; }
echo "litellm $VERSION in $VENV"
