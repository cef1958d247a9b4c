"""Pulumi's private and undocumented internals the project relies on — the only module touching them.

Pulumi's public API covers a program and its unit tests; planning offline at speed, and reading a
stack's whole config, lean on a few pieces beyond it. Each is looked up here where the pinned Pulumi
(PINNED_PULUMI, pyproject.toml's pin) has it, and checked for the shape that version gives it:

  piece (in pulumi 3.272.0)                 used for                          without it
  runtime.resource._get_stack_trace,        skipping the per-registration     the stack is walked (slower)
    runtime.proto.source_pb2.StackTrace     source-position stack walk
  (the collector, tuned for this version)   pausing gc while a program runs   gc stays on (slower)
  runtime.config.CONFIG                     the program's whole-config read   public get_config per key
  runtime.stack.run_pulumi_func             running a program, waiting on it  waiting on every asyncio task
  runtime.rpc wire-format signatures        reading recorded inputs           the 3.272.0 literals
  runtime.mocks.MockMonitor                 recording registrations           none: planning stops, saying so
  runtime.rpc._RESOURCE_MODULES/_PACKAGES,  the SDK class behind a token      none: no class is found
    _types input-type names                 (plan-completeness test, bench)

The first four have a plain way that makes the same plan; they are taken only on the pinned version,
because a shape check cannot prove another version still means the same. The others have no plain way
(or, for the signatures, a less authoritative one) and are used wherever they are found in shape.
Whenever a piece is off, a warning (PulumiFastPathOff, once per piece and process) names it and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import gc
import importlib
import importlib.metadata
import inspect
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import pulumi

# Must equal pyproject.toml's `pulumi==` pin (a test checks): the version every piece below was read from.
PINNED_PULUMI = "3.272.0"


class PulumiFastPathOff(RuntimeWarning):
    """A Pulumi internal is not used (another Pulumi version, or moved): the plain way is taken."""


class PulumiInternalMissing(RuntimeError):
    """A Pulumi internal the engine has no plain way around is missing or reshaped."""


@functools.cache
def _installed() -> str | None:
    try:
        return importlib.metadata.version("pulumi")
    except importlib.metadata.PackageNotFoundError:
        return None


def installed_pulumi() -> str | None:
    """The installed Pulumi SDK's version, from its package metadata."""
    return _installed()


def _takes(positional: int) -> Callable[[Any], bool]:
    """A check: callable with exactly `positional` required positional parameters."""
    def check(fn: Any) -> bool:
        try:
            params = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            return False
        positional_kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return sum(1 for p in params if p.default is p.empty and p.kind in positional_kinds) == positional
    return check


def _is_str(*values: Any) -> bool:
    return all(isinstance(v, str) and v for v in values)


def _is_dict(*values: Any) -> bool:
    return all(isinstance(v, dict) for v in values)


def _stack_walk_shape(trace: Any, empty_trace: Any) -> bool:
    return _takes(0)(trace) and isinstance(empty_trace, type) and hasattr(empty_trace(), "frames")


def _config_shape(config: Any) -> bool:
    return isinstance(config, contextvars.ContextVar) and isinstance(config.get(), dict)


def _runner_shape(run: Any) -> bool:
    return inspect.iscoroutinefunction(run) and _takes(1)(run)


def _monitor_shape(monitor: Any) -> bool:
    return (isinstance(monitor, type) and _takes(2)(monitor.__init__)  # (self, mocks)
            and _takes(2)(getattr(monitor, "RegisterResource", None))
            and _takes(4)(getattr(monitor, "make_urn", None)))


def _input_types_shape(is_input_type: Any, names: Any) -> bool:
    return _takes(1)(is_input_type) and _takes(1)(names)


@dataclass(frozen=True)
class Internal:
    key: str
    attrs: tuple[str, ...]      # dotted paths where the pinned version has the piece
    fits: Callable[..., bool]   # the pinned version's shape, given the attrs' values
    used_for: str
    without: str                # what the project does when the piece is off
    pinned_only: bool           # has a plain way, so used only on the pinned version


INTERNALS: dict[str, Internal] = {i.key: i for i in (
    Internal("stack_walk", ("pulumi.runtime.resource._get_stack_trace", "pulumi.runtime.proto.source_pb2.StackTrace"),
             _stack_walk_shape, "skipping the source-position stack walk at every registration",
             "Pulumi walks the Python stack at each registration (slower, same plan)", pinned_only=True),
    Internal("gc_pause", (), lambda: True, "pausing garbage collection while a program runs",
             "the collector stays on (slower, same plan)", pinned_only=True),
    Internal("config", ("pulumi.runtime.config.CONFIG",), _config_shape, "reading the stack's whole config",
             "read key by key through pulumi.runtime.get_config (same config)", pinned_only=True),
    Internal("runner", ("pulumi.runtime.stack.run_pulumi_func",), _runner_shape,
             "running a program under mocks and waiting for its registrations",
             "the program's asyncio tasks are awaited until none is left (same plan)", pinned_only=True),
    Internal("signatures", ("pulumi.runtime.rpc._special_sig_key", "pulumi.runtime.rpc._special_secret_sig",
                            "pulumi.runtime.rpc._special_resource_sig", "pulumi.runtime.rpc.UNKNOWN"),
             _is_str, "reading secrets, resource references and unknowns in recorded inputs",
             f"the literal values of Pulumi {PINNED_PULUMI}", pinned_only=False),
    Internal("mock_monitor", ("pulumi.runtime.mocks.MockMonitor",), _monitor_shape,
             "recording what a program registers", "nothing can be planned offline", pinned_only=False),
    Internal("sdk_registry", ("pulumi.runtime.rpc._RESOURCE_MODULES", "pulumi.runtime.rpc._RESOURCE_PACKAGES"),
             _is_dict, "finding the SDK class behind a type token",
             "no SDK class is found for any token", pinned_only=False),
    Internal("input_types", ("pulumi._types.is_input_type", "pulumi._types.input_type_py_to_pulumi_names"),
             _input_types_shape, "reading an SDK Args type's wire names",
             "SDK classes are read without their Args types (camelCase names, no required inputs)",
             pinned_only=False),
)}

_warned: set[str] = set()


def _lookup(path: str) -> Any:
    owner, _, name = path.rpartition(".")
    return getattr(importlib.import_module(owner), name)


def _probe(key: str) -> tuple[list[Any] | None, str | None]:
    """The piece's values when it can be used here, else why not."""
    internal = INTERNALS[key]
    installed = installed_pulumi()
    if internal.pinned_only and installed != PINNED_PULUMI:
        return None, f"Pulumi {installed or '(version unknown)'} is installed, the project pins {PINNED_PULUMI}"
    try:
        found = [_lookup(path) for path in internal.attrs]
    except (ImportError, AttributeError) as exc:
        return None, f"not found in Pulumi {installed} ({exc})"
    if not internal.fits(*found):
        return None, f"{', '.join(internal.attrs)} changed shape in Pulumi {installed}"
    return found, None


def why_off(key: str) -> str | None:
    """Why the piece `key` is not used here, or None when it is."""
    return _probe(key)[1]


def _resolve(key: str) -> list[Any] | None:
    """The piece's values when usable; otherwise None, after warning (once) that the plain way is taken."""
    found, reason = _probe(key)
    if reason is not None and key not in _warned:
        _warned.add(key)
        internal = INTERNALS[key]
        warnings.warn(f"Pulumi fast path off: {key} ({internal.used_for}): {reason}; {internal.without}",
                      PulumiFastPathOff, stacklevel=3)
    return found


def _require(key: str) -> list[Any]:
    found = _resolve(key)
    if found is None:
        internal = INTERNALS[key]
        raise PulumiInternalMissing(f"{key} ({internal.used_for}): {why_off(key)}; {internal.without}. "
                                    f"Install the pinned pulumi=={PINNED_PULUMI} (make install).")
    return found


# ---- the runner treatment: source positions and the collector -------------------------------------------

@contextlib.contextmanager
def no_source_positions() -> Iterator[None]:
    """Within the block Pulumi records no source position per registration (only the Pulumi CLI reads
    them); restored after."""
    found = _resolve("stack_walk")
    if found is None:
        yield
        return
    original, empty_trace = found
    owner, _, name = INTERNALS["stack_walk"].attrs[0].rpartition(".")
    resource = importlib.import_module(owner)
    setattr(resource, name, empty_trace)  # an empty trace, as for a frameless call
    try:
        yield
    finally:
        setattr(resource, name, original)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Within the block no automatic garbage collection; restored after."""
    collecting = gc.isenabled()
    if _resolve("gc_pause") is not None:
        gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


# ---- config -----------------------------------------------------------------------------------------------

# The keys the engine handed to Pulumi in this context: the plain config read cannot list them otherwise.
_handed_keys: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("sovereign_config_keys", default=())


def set_all_config(config: dict[str, str], secret_keys: list[str]) -> None:
    """`pulumi.runtime.set_all_config`, remembering which keys were set (for `runtime_config`'s plain way)."""
    _handed_keys.set(tuple(config))
    pulumi.runtime.set_all_config(config, secret_keys)


def runtime_config() -> tuple[dict[str, Any], set[str]]:
    """The stack's whole config as Pulumi hands it to the program (structured values as JSON strings),
    and which keys are secret: what the CLI passes in PULUMI_CONFIG, and what was set in-process."""
    found = _resolve("config")
    from_env = pulumi.runtime.get_config_env()
    if found is not None:
        raw = {**from_env, **found[0].get()}
    else:
        raw = {key: pulumi.runtime.get_config(key) for key in {**from_env, **dict.fromkeys(_handed_keys.get())}}
    secret = {key for key in raw if pulumi.runtime.is_config_secret(key)}
    return raw, set(pulumi.runtime.get_config_secret_keys_env()) | secret


# ---- running a program ----------------------------------------------------------------------------------

async def run_pulumi_func(func: Callable[[], Any]) -> None:
    """Run `func` (a program) and wait until everything it registered has been handled; re-raise what it
    raised."""
    found = _resolve("runner")
    if found is not None:
        await found[0](func)
        return
    error: BaseException | None = None
    try:
        result = func()
        if inspect.isawaitable(result):
            await result
    except BaseException as exc:  # noqa: BLE001 - re-raised once the registrations settled, as Pulumi does
        error = exc
    this = asyncio.current_task()
    while pending := [task for task in asyncio.all_tasks() if task is not this]:
        for outcome in await asyncio.gather(*pending, return_exceptions=True):
            if error is None and isinstance(outcome, BaseException):
                error = outcome
    if error is not None:
        raise error


# ---- the mocks' monitor and the wire format ------------------------------------------------------------

def mock_monitor_class() -> type:
    """Pulumi's MockMonitor, which sees every RegisterResource request a program makes under mocks."""
    return _require("mock_monitor")[0]


class WireSignatures(NamedTuple):
    key: str        # the key marking a special value in a serialized property map
    secret: str     # its value for a secret
    resource: str   # its value for a resource reference
    unknown: str    # the value standing for an unknown (not yet computed) output


PINNED_SIGNATURES = WireSignatures(key="4dabf18193072939515e22adb298388d", secret="1b47061264138c4ac30d75fd1eb44270",
                                   resource="5cf8f73096256a8f31e491e813e4eb8e",
                                   unknown="04da6b54-80e4-46f7-96ec-b56ff0331ba9")


def wire_signatures() -> WireSignatures:
    """Pulumi's wire-format markers, from pulumi.runtime.rpc; the pinned version's values if it moved them."""
    found = _resolve("signatures")
    return WireSignatures(*found) if found is not None else PINNED_SIGNATURES


# ---- the provider SDKs' registry ------------------------------------------------------------------------

def registered_sdk_modules() -> tuple[list[Any], list[Any]]:
    """Every ResourceModule and ResourcePackage imported SDK packages registered (what Pulumi uses to
    rehydrate resource references); empty when the registry moved."""
    found = _resolve("sdk_registry")
    if found is None:
        return [], []
    modules, packages = found
    return ([m for ms in modules.values() for m in ms], [p for ps in packages.values() for p in ps])


def is_input_type(cls: type) -> bool:
    """Whether `cls` is an SDK input (Args) type; False for all when Pulumi's input-type helpers moved."""
    found = _resolve("input_types")
    return found is not None and found[0](cls)


def input_type_names(args_type: type) -> dict[str, str]:
    """Python name → wire name of an SDK input type's properties."""
    return _require("input_types")[1](args_type)
