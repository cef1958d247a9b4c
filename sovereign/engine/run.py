"""Run the real Pulumi program (`__main__.py`) for one stack, in-process, under the project's mocks.

Each run gets a fresh event loop and an empty contextvars context, so Pulumi's global settings and
config never leak from one stack into the next. The stack file is validated first: an invalid stack
returns its errors and registers nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import runpy
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from ..catalog import load_catalog
from ..domain.errors import InputError, InvalidInput
from ..domain.spec import RegionSpec, parse_spec
from ..domain.stackfile import display_name, is_secure, read_stack_config
from ..domain.decisions import RegionDecisions, decide_region
from ..project import POLICY_ENV, PROJECT_DIR, PROJECT_NAME, load_project_policy, policy_path
from ..pulumi_internals import run_pulumi_func, set_all_config
from .graph import SECRET_MASK, RecordingMonitor, RegisteredResource
from .lean_runtime import lean_runtime
from .mocks import SovereignMocks



class ProgramFailed(Exception):
    """The program raised under mocks; carries what it had registered by then."""

    def __init__(self, message: str, registered: tuple[RegisteredResource, ...]):
        super().__init__(message)
        self.registered = registered


@dataclass(frozen=True)
class Plan:
    stack: str
    decisions: RegionDecisions | None
    resources: tuple[RegisteredResource, ...]
    outputs: dict[str, Any]
    errors: tuple[InputError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def spec(self) -> RegionSpec | None:
        return self.decisions.spec if self.decisions else None

    @property
    def verdicts(self):
        return self.decisions.verdicts if self.decisions else ()


def plan_stack(stack: str, project: Path = PROJECT_DIR, policy: Path | None = None,
               drill: str | None = None) -> Plan:
    """Validate the stack, evaluate its verdicts and run the program under mocks.

    `drill` plans the stack as `pulumi up` would with `sovereign:drill: <cloud>` set on it."""
    catalog = load_catalog()
    try:
        config, secret_keys = read_stack_config(project, stack)
        if drill is not None:
            config = {**config, "sovereign:drill": drill}
        spec = parse_spec(config, stack, display_name(stack), catalog)
        policy_file = policy or policy_path(project)
        decided = decide_region(spec, load_project_policy(policy_file, project), catalog)
    except InvalidInput as exc:
        return Plan(stack, None, (), {}, exc.errors)
    resources, outputs = run_program(project, stack, config, secret_keys, policy_file)
    return Plan(stack, decided, resources, outputs)


def run_program(project: Path, stack: str, config: dict[str, Any], secret_keys: tuple[str, ...],
                policy: Path) -> tuple[tuple[RegisteredResource, ...], dict[str, Any]]:
    with lean_runtime():  # no source positions, no automatic collection while the program runs
        return contextvars.Context().run(_run_isolated, project, stack, config, secret_keys, policy)


def _run_isolated(project: Path, stack: str, config: dict[str, Any], secret_keys: tuple[str, ...],
                  policy: Path) -> tuple[tuple[RegisteredResource, ...], dict[str, Any]]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = RecordingMonitor(SovereignMocks(load_catalog()))
    previous_policy = os.environ.get(POLICY_ENV)
    os.environ[POLICY_ENV] = str(policy)
    try:
        pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT_NAME, stack=stack, preview=False,
                                 monitor=monitor)
        set_all_config({k: _config_value(k, v, secret_keys) for k, v in config.items()}, list(secret_keys))
        # The real program; `project` only supplies stacks. Like the Pulumi CLI, run it with the project
        # root on sys.path, so it imports its local `components` package.
        program = str(PROJECT_DIR / "__main__.py")
        if str(PROJECT_DIR) not in sys.path:
            sys.path.insert(0, str(PROJECT_DIR))
        try:
            loop.run_until_complete(run_pulumi_func(lambda: runpy.run_path(program, run_name="__main__")))
        except pulumi.RunError as exc:
            raise ProgramFailed(str(exc), tuple(monitor.registered)) from exc
        outputs = loop.run_until_complete(_resolve_outputs(pulumi.runtime.get_root_resource().outputs))
    finally:
        if previous_policy is None:
            os.environ.pop(POLICY_ENV, None)
        else:
            os.environ[POLICY_ENV] = previous_policy
        loop.close()
        asyncio.set_event_loop(None)
    return tuple(monitor.registered), outputs


def _config_value(key: str, value: Any, secret_keys: tuple[str, ...]) -> str:
    """Config as the CLI passes it: strings, structured values as JSON; secrets as placeholders.

    The real value needs the stack's passphrase and is never printed. A structured key with secret
    leaves (`sovereign:apiKeys: {openai: {secure: ...}}`) keeps its shape, each leaf becoming
    `mock-secret-for-<key>.<path>`, so the program can read it as an object; every placeholder holds
    `mock-secret-for-`, the canary tests look for in snapshots and logs.
    """
    if key in secret_keys:
        if isinstance(value, (dict, list)) and not is_secure(value):
            return json.dumps(_mock_secrets(value, key))
        return f"mock-secret-for-{key}"
    return value if isinstance(value, str) else json.dumps(value)


def _mock_secrets(value: Any, path: str) -> Any:
    if is_secure(value):
        return f"mock-secret-for-{path}"
    if isinstance(value, dict):
        return {k: _mock_secrets(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_mock_secrets(v, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


async def _resolve_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    resolved = {}
    for name, value in outputs.items():
        out = pulumi.Output.from_input(value)
        resolved[name] = SECRET_MASK if await out.is_secret() else await out.future()
    return resolved
