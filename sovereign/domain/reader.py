"""Typed reads from parsed YAML that record an InputError instead of raising.

Every read names its key path (``sovereign:models[1].replicas.max``) so the report points at the
exact line a user must change. A failed read returns None and the caller carries on, which is how
one pass collects every error.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from .errors import InputError, did_you_mean, one_of

_MISSING = object()


class Reader:
    def __init__(self, file: str):
        self.file = file
        self.errors: list[InputError] = []

    def error(self, key: str, problem: str, fix: str) -> None:
        self.errors.append(InputError(self.file, key, problem, fix))

    def mapping(
        self,
        value: Any,
        key: str,
        required: Iterable[str] = (),
        optional: Iterable[str] = (),
    ) -> Mapping[str, Any] | None:
        """A mapping with exactly the allowed keys; unknown keys get a 'did you mean'."""
        if not isinstance(value, Mapping):
            self.error(key, f"expected a mapping, got {_kind(value)}", "write it as `key: value` lines")
            return None
        required, optional = tuple(required), tuple(optional)
        allowed = required + optional
        meant = set()  # required keys a misspelt key was probably meant to be: one error, not two
        for name in value:
            if name not in allowed:
                hint = did_you_mean(name, allowed)
                meant.update(k for k in required if hint == f" (did you mean '{k}'?)")
                self.error(_join(key, name), f"unknown key '{name}'{hint}", f"use one of: {one_of(allowed)}")
        for name in required:
            if name not in value and name not in meant:
                self.error(_join(key, name), "missing", f"set `{name}` under `{key}`")
        return value

    def table(self, value: Any, key: str) -> Mapping[str, Any] | None:
        """A mapping whose keys are names the user chooses (e.g. policy-local group names)."""
        if not isinstance(value, Mapping):
            self.error(key, f"expected a mapping, got {_kind(value)}", "write it as `name: value` lines")
            return None
        return value

    def sequence(self, value: Any, key: str, min_items: int = 0) -> list[Any] | None:
        if not isinstance(value, list):
            self.error(key, f"expected a list, got {_kind(value)}", "write it as `- item` lines")
            return None
        if len(value) < min_items:
            self.error(key, f"needs at least {min_items} item(s)", f"add an entry under `{key}`")
            return None
        return value

    def string(self, value: Any, key: str, choices: Iterable[str] | None = None) -> str | None:
        if not isinstance(value, str) or not value:
            self.error(key, f"expected a non-empty string, got {_kind(value)}", "quote the value")
            return None
        if choices is not None:
            choices = tuple(choices)
            if value not in choices:
                self.error(
                    key,
                    f"unknown value '{value}'{did_you_mean(value, choices)}",
                    f"use one of: {one_of(choices)}",
                )
                return None
        return value

    def integer(self, value: Any, key: str, low: int | None = None, high: int | None = None) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(key, f"expected an integer, got {_kind(value)}", "write a whole number")
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"{low if low is not None else '-∞'}..{high if high is not None else '∞'}"
            self.error(key, f"{value} is out of range", f"use a value in {bounds}")
            return None
        return value

    def string_list(self, value: Any, key: str, choices: Iterable[str] | None = None) -> tuple[str, ...]:
        items = self.sequence(value, key)
        if items is None:
            return ()
        read = (self.string(item, f"{key}[{i}]", choices) for i, item in enumerate(items))
        return tuple(item for item in read if item is not None)


def get(mapping: Mapping[str, Any] | None, name: str, default: Any = _MISSING) -> Any:
    """mapping[name] or default; a None mapping (already reported) yields the default."""
    if mapping is None or name not in mapping:
        return None if default is _MISSING else default
    return mapping[name]


def _join(key: str, name: str) -> str:
    return f"{key}{name}" if not key or key.endswith(":") else f"{key}.{name}"


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)
