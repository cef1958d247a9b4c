"""Run the real helm binary from tests: lint, template, and the errors a bad value produces.

The binary is the project's pinned helm at `.cache/bin/helm` (put there by `make helm`, i.e.
tools/fetch-helm.sh). A missing binary FAILS the test that needs it, naming the fix; chart tests are never
skipped. helm runs with its cache/config/data homes in a private temporary directory, so a developer's
repositories, plugins or registry logins cannot change a result, and nothing here talks to a cluster.
"""

from __future__ import annotations

import atexit
import copy
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
HELM = REPO_ROOT / ".cache" / "bin" / "helm"
CHARTS = REPO_ROOT / "charts"
TIMEOUT_SECONDS = 120

_helm_home: str | None = None


class HelmError(AssertionError):
    """helm exited non-zero where success was expected; the message carries the command and stderr."""

    def __init__(self, args: list[str], result: subprocess.CompletedProcess):
        self.result = result
        super().__init__(f"`helm {' '.join(args)}` exited {result.returncode}:\n{result.stderr}{result.stdout}")


def require_executable(path: Path, fix: str) -> Path:
    """`path` if it is an executable file; otherwise fails the calling test (never skips) with the fix."""
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"{path.name} is missing at {path.relative_to(REPO_ROOT)}: {fix}, then rerun the tests",
                    pytrace=False)
    return path


def helm_binary() -> Path:
    return require_executable(HELM, "run `make helm` (tools/fetch-helm.sh) to fetch the pinned helm")


def _env() -> dict[str, str]:
    global _helm_home
    if _helm_home is None:
        _helm_home = tempfile.mkdtemp(prefix="helm-home-")
        atexit.register(shutil.rmtree, _helm_home, True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        env[var] = os.path.join(_helm_home, var.lower())
    env["KUBECONFIG"] = os.path.join(_helm_home, "no-kubeconfig")
    return env


def run(*args: str, values: Mapping[str, Any] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run `helm ARGS`; `values` (a dict) goes in as `-f -` on stdin. check=True raises HelmError on failure."""
    argv = list(args)
    stdin = None
    if values is not None:
        argv += ["-f", "-"]
        stdin = yaml.safe_dump(dict(values), sort_keys=False)
    result = subprocess.run([str(helm_binary()), *argv], input=stdin, capture_output=True, text=True,
                            cwd=REPO_ROOT, env=_env(), timeout=TIMEOUT_SECONDS)
    if check and result.returncode != 0:
        raise HelmError(argv, result)
    return result


def _chart_path(chart: str | Path) -> str:
    path = Path(chart)
    if not path.is_absolute():
        path = CHARTS / path if (CHARTS / path).is_dir() else REPO_ROOT / path
    return str(path)


def _template_args(chart: str | Path, release: str, namespace: str, extra: Iterable[str]) -> list[str]:
    return ["template", release, _chart_path(chart), "--namespace", namespace, *extra]


def template(chart: str | Path, values: Mapping[str, Any] | None = None, *, release: str = "test",
             namespace: str = "inference", extra_args: Iterable[str] = ()) -> list[dict]:
    """Render the chart and return its objects (empty documents dropped); raises HelmError if helm fails."""
    result = run(*_template_args(chart, release, namespace, extra_args), values=values)
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


_renders: dict[str, list[dict]] = {}


def render(chart: str | Path, values: Mapping[str, Any] | None = None, *, release: str,
           namespace: str) -> list[dict]:
    """`template`, remembered for the test process: the serving, policy-pack and checkov tests render the
    releases the stacks register with the same values, and each distinct release goes through the real helm
    once per process. Callers get their own copy to change."""
    key = json.dumps([str(chart), values, release, namespace], sort_keys=True)
    if key not in _renders:
        _renders[key] = template(chart, values, release=release, namespace=namespace)
    return copy.deepcopy(_renders[key])


def template_error(chart: str | Path, values: Mapping[str, Any] | None = None, *, release: str = "test",
                   namespace: str = "inference", extra_args: Iterable[str] = ()) -> str:
    """Render a chart that must be rejected; returns helm's error text, fails if it rendered."""
    result = run(*_template_args(chart, release, namespace, extra_args), values=values, check=False)
    if result.returncode == 0:
        pytest.fail(f"helm template accepted values it should reject: {values!r}", pytrace=False)
    return result.stderr


def lint(chart: str | Path, values: Mapping[str, Any] | None = None, *, strict: bool = True,
         check: bool = False) -> subprocess.CompletedProcess:
    """`helm lint [--strict] CHART`; the CompletedProcess is returned for the caller to assert on."""
    args = ["lint", _chart_path(chart)] + (["--strict"] if strict else [])
    return run(*args, values=values, check=check)


def objects(docs: Iterable[dict], kind: str) -> list[dict]:
    """The rendered objects of one kind."""
    return [doc for doc in docs if doc.get("kind") == kind]


def one(docs: Iterable[dict], kind: str) -> dict:
    """The single rendered object of `kind`; fails when there is none or several."""
    found = objects(docs, kind)
    assert len(found) == 1, f"expected exactly one {kind}, rendered {len(found)}"
    return found[0]
