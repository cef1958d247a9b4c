"""Run the policy pack (policypack/) from the test suite, in the pack's own venv.

The pack needs pulumi-policy, whose protobuf pin clashes with the program's .venv, so it runs in
.cache/tools/policypack (tools/setup-policypack.sh, `make tools`). The tests run in .venv: they build each
stack's resource graph with the offline engine and hand it, as JSON, to policypack/harness_runner.py under the
pack's python, with the environment the Pulumi CLI gives a policy pack (PULUMI_STACK, PULUMI_CONFIG, …).
A missing venv FAILS the calling test, naming the fix; the pack's tests are never skipped.

The graph is the stack's snapshot plus what `kubernetes:helm.sh/v4:Chart` registers in a real preview: every
object of the rendered chart as a child resource (`kubernetes:<group>/<version>:<Kind>`, parent = the chart,
the chart's Kubernetes provider, the chart's namespace on each object). Charts are rendered by the real helm
with the values recorded in the graph (tests/support/helm.py), once per process.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Iterable

import pytest

from sovereign.domain.stackfile import read_stack_config
from sovereign.engine.snapshot import snapshot
from sovereign.project import PROJECT_NAME

from tests.support.stacks import PROJECT_DIR

from .helm import REPO_ROOT, render
from .tokens import T

PACK_DIR = REPO_ROOT / "policypack"
PACK_PYTHON = REPO_ROOT / ".cache" / "tools" / "policypack" / "bin" / "python"
RUNNER = PACK_DIR / "harness_runner.py"
TIMEOUT_SECONDS = 300

def pack_python() -> Path:
    """The pack venv's python; fails the calling test with the fix when it is missing."""
    ok = PACK_PYTHON.is_file() and subprocess.run(
        [str(PACK_PYTHON), "-c", "import pulumi_policy"], capture_output=True).returncode == 0
    if not ok:
        pytest.fail(f"the policy pack's venv is missing at {PACK_PYTHON.parent.parent.relative_to(REPO_ROOT)}: run "
                    "`make tools` (tools/setup-policypack.sh) to create it, then rerun the tests", pytrace=False)
    return PACK_PYTHON


def stack_env(stack: str, project: Path = PROJECT_DIR, **extra: str) -> dict[str, str]:
    """The environment the Pulumi CLI gives a policy pack for `stack`: config as JSON, secrets as placeholders."""
    config, secret_keys = read_stack_config(project, stack)
    wire = {k: (f"mock-secret-for-{k}" if k in secret_keys else v if isinstance(v, str) else json.dumps(v))
            for k, v in config.items()}
    return {"PULUMI_STACK": stack, "PULUMI_PROJECT": PROJECT_NAME, "PULUMI_DRY_RUN": "true",
            "PULUMI_ORGANIZATION": "organization", "PULUMI_CONFIG": json.dumps(wire), **extra}


def render_chart(chart: dict) -> list[dict]:
    """The chart resource's objects as helm renders them with its recorded values (once per process)."""
    inputs = chart["inputs"]
    return render(REPO_ROOT / inputs["chart"], inputs.get("values") or {},
                  release=inputs.get("name") or chart["name"], namespace=inputs.get("namespace") or "default")


def chart_children(chart: dict) -> list[dict]:
    """The child resources a Chart v4 registers for its rendered objects."""
    namespace = chart["inputs"].get("namespace") or "default"
    qualified_type = chart["urn"].split("::")[2]
    children = []
    for doc in render_chart(chart):
        doc.setdefault("metadata", {}).setdefault("namespace", namespace)
        api_version, kind = doc["apiVersion"], doc["kind"]
        group_version = api_version if "/" in api_version else f"core/{api_version}"
        child_type = f"kubernetes:{group_version}:{kind}"
        name = f"{chart['name']}:{doc['metadata']['namespace']}/{doc['metadata']['name']}"
        stack, project = chart["urn"].split("::")[0].split(":")[-1], chart["urn"].split("::")[1]
        children.append({
            "urn": f"urn:pulumi:{stack}::{project}::{qualified_type}${child_type}::{name}",
            "type": child_type, "name": name, "parent": chart["urn"], "custom": True,
            "provider": chart["provider"], "inputs": doc, "options": {}})
    return children


def stack_graph(plan) -> list[dict]:
    """The stack's resources as a preview registers them: the snapshot plus every chart's rendered objects."""
    return graph_of(snapshot(plan)["resources"])


def graph_of(resources: list[dict]) -> list[dict]:
    """Snapshot resources as the engine hands them to a pack, with every chart's rendered objects."""
    out = []
    for r in resources:
        # The snapshot's per-input dependencies are what the engine hands a pack as property dependencies.
        out.append({**r, "propertyDependencies": r.get("dependencies") or {}})
        if r["type"] == T.HELM_CHART:
            out.extend(chart_children(r))
    return out


def run(jobs: Iterable[dict]) -> dict[str, dict]:
    """Run jobs (see policypack/harness_runner.py) in the pack's venv; results by job id."""
    jobs = list(jobs)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "SOVEREIGN_POLICY"))}
    result = subprocess.run([str(pack_python()), str(RUNNER)], input=json.dumps({"jobs": jobs}),
                            capture_output=True, text=True, cwd=PACK_DIR, env=env, timeout=TIMEOUT_SECONDS)
    if result.returncode != 0:
        raise AssertionError(f"policypack/harness_runner.py exited {result.returncode}:\n{result.stderr[-6000:]}")
    return json.loads(result.stdout)["results"]


def violated(result: dict) -> set[str]:
    return {v["policy"] for v in result["violations"]}


def explain(result: dict) -> str:
    lines = [f"[{v['enforcement']}] {v['policy']}: {v['message']}" for v in result["violations"]]
    lines += [f"[advisory] {v['policy']}: {v['message']}" for v in result["advisories"]]
    return "\n".join(lines) or "(no violations)"


def resource(type_: str, name: str, inputs: dict[str, Any], stack: str = "test", **extra: Any) -> dict:
    """A hand-written resource as the engine would register it at the stack's root."""
    urn = f"urn:pulumi:{stack}::{PROJECT_NAME}::{type_}::{name}"
    return {"urn": urn, "type": type_, "name": name, "parent": f"urn:pulumi:{stack}::{PROJECT_NAME}::"
            f"pulumi:pulumi:Stack::{PROJECT_NAME}-{stack}", "custom": True, "provider": "", "inputs": inputs,
            "options": {}, **extra}
