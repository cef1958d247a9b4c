"""Reading resource properties the way the engine sends them, unknowns included.

pulumi-policy wraps props in proxies that raise UnknownValueError on a value not known during preview (an id
or name another resource computes). `plain()` copies them into ordinary dicts and lists and keeps each unknown
as an `Unknown` marker, so one unknown field never hides the rest of a resource; a policy that needs a marked
value calls `known()`, which raises the SDK's own UnknownValueError: the SDK then reports "can't run policy
during preview" as advisory, and `pulumi up` evaluates the policy again with the value resolved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Iterator

from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

_UNKNOWN_SENTINELS = {
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", "3eeb2bf0-c639-47a8-9e75-3b44932eb421", UNKNOWN_STRING_VALUE,
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", "030794c1-ac77-496b-92df-f27374a8bd58",
    "e48ece36-62e2-4504-bad9-02848725956a", "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
}


class Unknown:
    """A value the engine could not know during preview."""

    def __init__(self, sentinel: str, path: tuple[str, ...]):
        self.sentinel, self.path = sentinel, path

    def __repr__(self) -> str:
        return f"<unknown .{'.'.join(self.path)}>"


def plain(value: Any, path: tuple[str, ...] = ()) -> Any:
    """A plain copy of (proxied) props; unknowns become Unknown markers."""
    if isinstance(value, str):
        return Unknown(value, path) if value in _UNKNOWN_SENTINELS else value
    if isinstance(value, Mapping):
        out = {}
        for key in value:
            try:
                item = value[key]
            except UnknownValueError as exc:
                item = exc.unknown_type_sentinel
            out[str(key)] = plain(item, path + (str(key),))
        return out
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        out_list = []
        for i in range(len(value)):
            try:
                item = value[i]
            except UnknownValueError as exc:
                item = exc.unknown_type_sentinel
            out_list.append(plain(item, path + (str(i),)))
        return out_list
    return value


def known(value: Any) -> Any:
    """The value itself; raises the SDK's UnknownValueError for an Unknown marker."""
    if isinstance(value, Unknown):
        raise UnknownValueError(value.sentinel, list(value.path))
    return value


def dig(value: Any, *keys: Any, default: Any = None) -> Any:
    """value[k1][k2]… through dicts and lists; `default` when a step is missing (Unknown stays Unknown)."""
    for key in keys:
        if isinstance(value, Unknown):
            return value
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value):
            value = value[key]
        else:
            return default
    return value


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, leaf) of nested dicts and lists."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, path + (str(key),))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk(item, path + (str(i),))
    else:
        yield path, value


def show(path: tuple[str, ...]) -> str:
    return ".".join(path) or "(root)"
