"""Run the real Pulumi program (`__main__.py`) for one stack, in-process, under the project's mocks.

Each run gets a fresh event loop and an empty contextvars context, so Pulumi's global settings and
config never leak from one stack into the next. The program parses and decides once; the engine takes
its decisions back from the program's globals and never decides anything itself. Invalid input stops
the program before it registers anything, and comes back as the plan's errors.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import runpy
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from ..catalog import load_catalog
from ..domain.decisions import RegionDecisions
from ..domain.errors import InputError, InvalidInput
from ..domain.policy import Policy
from ..domain.spec import RegionSpec
from ..domain.stackfile import is_secure, read_stack_config
from ..project import ENGINE_POLICY, PROJECT_NAME, find_project, load_project_policy
from ..pulumi_internals import run_pulumi_func, set_all_config
from . import reality
from .graph import SECRET_MASK, RecordingMonitor, RegisteredResource
from .reality import Violation
from .lean_runtime import lean_runtime
from .mocks import SovereignMocks

LOCAL_PACKAGE = "components"  # the project's own Pulumi components, imported from its root


class ProgramFailed(Exception):
    """The program raised under mocks; carries what it had registered by then, and the input errors
    when invalid input was the reason (the program decides before it registers anything)."""

    def __init__(self, message: str, registered: tuple[RegisteredResource, ...], errors: tuple[InputError, ...] = ()):
        super().__init__(message)
        self.registered = registered
        self.errors = errors


@dataclass(frozen=True)
class Plan:
    stack: str
    decisions: RegionDecisions | None
    resources: tuple[RegisteredResource, ...]
    outputs: dict[str, Any]
    errors: tuple[InputError, ...] = ()
    # What a real `pulumi up` would refuse though the mocks accepted it (reality rules).
    violations: tuple[Violation, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors and not self.violations

    @property
    def spec(self) -> RegionSpec | None:
        return self.decisions.spec if self.decisions else None

    @property
    def verdicts(self):
        return self.decisions.verdicts if self.decisions else ()


def plan_stack(stack: str, project: Path | None = None, policy: Path | Policy | None = None,
               drill: str | None = None, phase: str | None = None) -> Plan:
    """Read the stack file and run the program under mocks; the program's own decisions come back.

    `project` defaults to the one around the current directory; `policy` is a parsed Policy (parse once
    to plan many stacks), a policy file, or the project's. `drill` plans the stack as `pulumi up` would
    with `sovereign:drill: <cloud>` set on it, and `phase` with `sovereign:drillPhase: <phase>`."""
    project = find_project() if project is None else project
    try:
        config, secret_keys = read_stack_config(project, stack)
        if drill is not None:
            config = {**config, "sovereign:drill": drill, **({"sovereign:drillPhase": phase} if phase else {})}
        parsed = policy if isinstance(policy, Policy) else load_project_policy(project, policy)
        decided, resources, outputs = run_program(project, stack, config, secret_keys, parsed)
    except InvalidInput as exc:
        return Plan(stack, None, (), {}, exc.errors)
    except ProgramFailed as exc:
        if not exc.errors:
            raise
        return Plan(stack, None, (), {}, exc.errors)
    return Plan(stack, decided, resources, outputs, violations=reality.check(resources, decided))


def run_program(project: Path, stack: str, config: dict[str, Any], secret_keys: tuple[str, ...],
                policy: Path | Policy) -> tuple[RegionDecisions, tuple[RegisteredResource, ...], dict[str, Any]]:
    """Run `<project>/__main__.py` for one stack: its decisions, what it registered and its outputs.
    Raises ProgramFailed when the program raises (with the input errors, when those were the reason)."""
    if not isinstance(policy, Policy):
        policy = load_project_policy(project, policy)
    with lean_runtime():  # no source positions, no automatic collection while the program runs
        return contextvars.Context().run(_run_isolated, project, stack, config, secret_keys, policy)


def _run_isolated(project: Path, stack: str, config: dict[str, Any], secret_keys: tuple[str, ...],
                  policy: Policy) -> tuple[RegionDecisions, tuple[RegisteredResource, ...], dict[str, Any]]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = RecordingMonitor(SovereignMocks(load_catalog()))
    namespace: dict[str, Any] = {}
    try:
        pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT_NAME, stack=stack, preview=False,
                                 monitor=monitor)
        set_all_config({k: _config_value(k, v, secret_keys) for k, v in config.items()}, list(secret_keys))
        program = str(_importable(project) / "__main__.py")

        def run() -> None:  # the program's globals hold its decisions; the policy is handed in, parsed
            namespace.update(runpy.run_path(program, init_globals={ENGINE_POLICY: policy}, run_name="__main__"))
        try:
            loop.run_until_complete(run_pulumi_func(run))
        except pulumi.RunError as exc:
            cause = exc.__cause__
            raise ProgramFailed(str(exc), tuple(monitor.registered),
                                cause.errors if isinstance(cause, InvalidInput) else ()) from exc
        outputs = loop.run_until_complete(_resolve_outputs(pulumi.runtime.get_root_resource().outputs))
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    return namespace["decisions"], tuple(monitor.registered), outputs


def _importable(project: Path) -> Path:
    """Like the Pulumi CLI, run the program with its project root first on sys.path, so it imports its
    own local `components` package; one loaded from another project root is unloaded first."""
    root = project.resolve()
    if sys.path[:1] != [str(root)]:
        sys.path[:] = [str(root), *(p for p in sys.path if p != str(root))]
    loaded = sys.modules.get(LOCAL_PACKAGE)
    if loaded is not None and Path(loaded.__file__ or "").resolve().parent != (root / LOCAL_PACKAGE).resolve():
        for name in [m for m in sys.modules if m == LOCAL_PACKAGE or m.startswith(LOCAL_PACKAGE + ".")]:
            del sys.modules[name]
    return root


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
