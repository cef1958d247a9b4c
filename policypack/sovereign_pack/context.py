"""What the pack knows about the stack under preview: its name, its config and the sovereignty verdicts.

How a real `pulumi preview --policy-pack policypack` hands the stack to the pack (Pulumi CLI, Python packs):
the CLI starts the analyzer with the environment variables PULUMI_STACK, PULUMI_PROJECT, PULUMI_DRY_RUN and
PULUMI_CONFIG — the stack's whole config as JSON, the same map the program receives (structured values as JSON
strings, secrets decrypted; pulumi-policy also loads it into `pulumi.runtime` config). This module reads the
variable itself, decoding structured values the way the program (__main__.py) does, keyed by stack name and policy
file so one analyzer process can serve several stacks (the test harness does).

From that config the verdicts are computed with the program's own code: the pack's venv has the project's
`sovereign` package on its path (tools/setup-policypack.sh), and the project is the folder holding Pulumi.yaml
above the pack. `sovereign.domain.spec.parse_spec` → `sovereign.domain.verdict.evaluate_region` over the policy
file the program evaluates (policy/sovereignty.yaml; $SOVEREIGN_POLICY names another, for the test harness) →
`sovereign.domain.egress.egress_plan`. `sovereign`'s catalog and domain modules import only PyYAML, never Pulumi.

Fallback when PULUMI_CONFIG carries no `sovereign:` key (an older CLI): stacks/Pulumi.<PULUMI_STACK>.yaml, read
as the program's stack-file reader reads it. When neither gives a valid spec, `Fence.error` says why and the
egress policies fail closed: a sovereignty fence that cannot be evaluated is a violation, not a pass.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from pathlib import Path

# The project's pure-Python domain code (no Pulumi import below `sovereign.catalog` / `sovereign.domain`).
from sovereign.catalog import load_catalog
from sovereign.domain.egress import egress_plan
from sovereign.domain.errors import InvalidInput
from sovereign.domain.policy import load_policy
from sovereign.domain.spec import parse_spec
from sovereign.domain.stackfile import decode_runtime_value, display_name, read_stack_config
from sovereign.domain.verdict import evaluate_region
from sovereign.project import POLICY_ENV, find_project, policy_path

PROJECT_DIR = find_project(Path(__file__).parent)  # the pack lives inside the project it guards

CONFIG_ENV, STACK_ENV = "PULUMI_CONFIG", "PULUMI_STACK"


@dataclass(frozen=True)
class Fence:
    """The stack's sovereignty decision as the egress policies need it."""
    stack: str
    source: str                                   # where the config came from
    policy_file: str
    jurisdiction: tuple[str, ...] = ()
    denied: tuple[str, ...] = ()                  # every host of every denied provider (`*.x` = any name below x)
    denied_by_provider: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    allowed_providers: frozenset[str] = frozenset()   # providers the verdicts allow (requested or not)
    error: str | None = None

    def describe(self) -> str:
        return (f"stack {self.stack} (jurisdiction {', '.join(self.jurisdiction) or '?'}, "
                f"{self.policy_file}, config from {self.source})")


def current_fence() -> Fence:
    """The fence of the stack the CLI is previewing, from the environment it gave the analyzer."""
    stack = os.environ.get(STACK_ENV, "")
    raw = os.environ.get(CONFIG_ENV, "")
    policy = os.environ.get(POLICY_ENV) or str(policy_path(PROJECT_DIR))
    try:
        mtime = os.stat(policy).st_mtime_ns
    except OSError:
        mtime = 0
    return _fence(stack, raw, policy, mtime)


@functools.lru_cache(maxsize=32)
def _fence(stack: str, raw_config: str, policy: str, _mtime: int) -> Fence:
    shown_policy = os.path.relpath(policy, PROJECT_DIR) if policy.startswith(str(PROJECT_DIR)) else policy
    config, source = _decode_config(raw_config), CONFIG_ENV
    if not any(key.startswith("sovereign:") for key in config):
        if not stack:
            return Fence(stack, "(none)", shown_policy,
                         error=f"neither {CONFIG_ENV} nor {STACK_ENV} is set: run the pack through "
                               "`pulumi preview --policy-pack policypack` on a stack of this project")
        source = display_name(stack)
        try:
            config, _ = read_stack_config(PROJECT_DIR, stack)
        except InvalidInput as exc:
            return Fence(stack, source, shown_policy, error=f"the stack config is invalid:\n{exc}")
    catalog = load_catalog()
    try:
        spec = parse_spec(config, stack, display_name(stack), catalog)
        policy_doc = load_policy(policy, catalog, display=shown_policy)
        verdicts = evaluate_region(spec, policy_doc, catalog)
        plan = egress_plan(verdicts, spec.clouds, policy_doc.file)
    except InvalidInput as exc:
        return Fence(stack, source, shown_policy, error=f"the sovereignty policy cannot be evaluated:\n{exc}")
    return Fence(stack, source, shown_policy, tuple(spec.jurisdiction.countries), tuple(plan.denied),
                 dict(plan.denied_by_provider), frozenset(v.provider for v in verdicts if v.allowed))


def _decode_config(raw: str) -> dict[str, Any]:
    """PULUMI_CONFIG as the program decodes its config: structured values arrive as JSON strings."""
    if not raw:
        return {}
    try:
        loaded = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {str(k): decode_runtime_value(v) for k, v in loaded.items()}
