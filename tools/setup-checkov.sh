#!/usr/bin/env bash
# Put the pinned checkov IaC scanner in its own venv at .cache/tools/checkov, for tests/policypack/test_checkov.py:
# every release the stacks register is rendered by the real helm and scanned with checkov's kubernetes
# framework. Separate from .venv so checkov's large dependency tree never constrains the project's pins.
# Idempotent: a second run only checks the installed version.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VERSION="3.3.30"
VENV="$ROOT/.cache/tools/checkov"

installed() {
  [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/checkov" ] \
    && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null)" = "$VERSION" ]
}

if installed; then
  exit 0
fi
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$VERSION"
installed || { echo "setup-checkov: checkov $VERSION did not install into $VENV" >&2; exit 1; }
echo "checkov $VERSION in $VENV"
