#!/usr/bin/env bash
# Put the policy pack's pinned dependencies (policypack/requirements.txt: pulumi-policy and the Pulumi SDK)
# in their own venv at .cache/tools/policypack. That is the venv policypack/PulumiPolicy.yaml names
# (`virtualenv: ../.cache/tools/policypack`, relative to the pack folder), so the same environment serves
# `pulumi preview --policy-pack policypack` and tests/policypack/test_pack.py (which runs the pack's policies in
# it through tests/support/policypack_harness.py).
# Separate from .venv because pulumi-policy pins protobuf 5.29 while the program's providers need protobuf 6.
# The policies evaluate the project's own pure-Python `sovereign` package (catalog and domain: PyYAML only);
# a .pth file puts this checkout on the venv's path, as an editable install would without pulling in the
# program's provider SDKs.
# Idempotent: a second run only compares the requirements' and checkout's hash with the one recorded.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
REQUIREMENTS="$ROOT/policypack/requirements.txt"
VENV="$ROOT/.cache/tools/policypack"
STAMP="$VENV/.requirements.sha256"

want="$( (cat "$REQUIREMENTS"; echo "$ROOT") | sha256sum | cut -d' ' -f1)"

installed() {
  [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
    && (cd / && "$VENV/bin/python" -c 'import pulumi_policy, yaml, sovereign.domain.verdict') >/dev/null 2>&1
}

if installed; then
  exit 0
fi
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
PTH="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/sovereign-project.pth"
# Off while pip works: the checkout's own metadata would read as an install missing the program's SDKs.
rm -f "$PTH"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
"$VENV/bin/python" -m pip check >/dev/null || { echo "setup-policypack: broken dependencies in $VENV" >&2; exit 1; }
echo "$ROOT" > "$PTH"
echo "$want" > "$STAMP"
installed || { echo "setup-policypack: pulumi-policy did not install into $VENV" >&2; exit 1; }
echo "policy pack environment in $VENV"
