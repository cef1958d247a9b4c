"""The provider SDK class behind a type token, and how its keyword arguments map to wire inputs.

Read from the packages' own resource registry (what Pulumi uses to rehydrate resource references).
The reality rule sdk-required-inputs-present (reality/sdk.py) checks that every resource a plan registers
carries every input its SDK class requires — a mock that leaves an output unset makes the inputs built from it
vanish from the plan instead of failing; the plan benchmark's baseline replays a plan through these classes.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys

from ..pulumi_internals import input_type_names, is_input_type, registered_sdk_modules

SDK_PACKAGES = ("pulumi_aws", "pulumi_gcp", "pulumi_kubernetes")
# Arguments of `_internal_init` that are not resource inputs.
_NOT_INPUTS = {"__self__", "self", "resource_name", "opts", "__props__"}


@functools.cache
def _registry() -> dict[str, tuple[str, str]]:
    """Type token → (module, class name) for every resource and provider the SDK packages register."""
    for package in SDK_PACKAGES:  # importing a package registers its modules (classes load lazily)
        importlib.import_module(package)
    found: dict[str, tuple[str, str]] = {}
    modules, packages = registered_sdk_modules()
    for module in modules:
        info = getattr(module, "mod_info", None) or {}
        for token, class_name in info.get("classes", {}).items():
            found[token] = (info["fqn"], class_name)
    for package in packages:
        info = getattr(package, "pkg_info", None) or {}
        if "token" in info:
            found[info["token"]] = (info["fqn"], info["class"])
    return found


@functools.cache
def sdk_class(token: str) -> type | None:
    """The class a Pulumi program constructs for `token`; None for tokens no SDK package defines
    (components, custom resources of CRDs)."""
    where = _registry().get(token)
    return getattr(importlib.import_module(where[0]), where[1]) if where else None


def _camel(python_name: str) -> str:
    head, *rest = python_name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _args_type(cls: type) -> type | None:
    module = sys.modules[cls.__module__]
    # `<Class>InitArgs` where a nested input type already holds the name `<Class>Args` (imported into
    # the module from `_inputs`, so only the class defined in the module itself counts).
    for suffix in ("InitArgs", "Args"):
        candidate = getattr(module, f"{cls.__name__}{suffix}", None)
        if candidate is not None and candidate.__module__ == cls.__module__ and is_input_type(candidate):
            return candidate
    return None


@functools.cache
def wire_names(cls: type) -> dict[str, str]:
    """Wire input name → the class's keyword argument: its camelCase form, or the name the Args type
    declares where that differs."""
    params = [p for p in inspect.signature(cls._internal_init).parameters if p not in _NOT_INPUTS]
    names = {_camel(p): p for p in params}
    args_type = _args_type(cls)
    if args_type is not None:
        names.update({wire: py for py, wire in input_type_names(args_type).items()
                      if py in params})
    return names


@functools.cache
def required_inputs(cls: type) -> dict[str, frozenset[str]]:
    """Each required keyword argument of `cls` → the wire names it may be sent under."""
    args_type = _args_type(cls)
    if args_type is None:
        return {}
    required = [p for p, v in inspect.signature(args_type.__init__).parameters.items()
                if v.default is inspect.Parameter.empty and v.kind is v.KEYWORD_ONLY]
    wires: dict[str, set[str]] = {p: set() for p in required}
    for wire, py in wire_names(cls).items():
        if py in wires:
            wires[py].add(wire)
    return {p: frozenset(w) for p, w in wires.items()}
