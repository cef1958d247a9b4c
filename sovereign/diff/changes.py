"""Structural, property-level differences between two JSON documents (snapshot sections).

Pure functions over plain JSON values: dicts are compared key by key, lists of records are matched by
a natural key (`urn`, `id`, `name`, `provider`… or `cloud` + `model`) so an insertion does not show as
every later element changing, lists of scalars are compared as sets (what was added, what removed),
and strings holding JSON (IAM policies, rendered configs) are compared as the documents they hold.
Every change is a dict with `path`, `kind` (add | remove | change) and `before` / `after` as present.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Iterable, Sequence

_MISSING = object()
# Tried in order: the first key every record of both lists has, with unique values, matches records.
RECORD_KEYS: tuple[tuple[str, ...], ...] = (
    ("urn",), ("stack",), ("provider",), ("id",), ("cloud", "model"), ("cloud", "name"), ("name",),
    ("model",), ("cloud",), ("rule",), ("host",), ("key",), ("Sid",),
)


def deep_changes(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """Every difference between `before` and `after`, as leaf-most changes with a readable path."""
    if before is _MISSING and after is _MISSING:
        return []
    if before is not _MISSING and after is not _MISSING and _same(before, after):
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[dict[str, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            out += deep_changes(before.get(key, _MISSING), after.get(key, _MISSING), join(path, key))
        return out
    if isinstance(before, list) and isinstance(after, list):
        return _list_changes(before, after, path)
    if isinstance(before, str) and isinstance(after, str):
        decoded = _json_document(before), _json_document(after)
        if decoded[0] is not None and decoded[1] is not None:
            return deep_changes(decoded[0], decoded[1], path + "(json)")
    return [change(path, before, after)]


def change(path: str, before: Any = _MISSING, after: Any = _MISSING) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": path or "(root)"}
    if before is _MISSING:
        entry.update(kind="add", after=after)
    elif after is _MISSING:
        entry.update(kind="remove", before=before)
    else:
        entry.update(kind="change", before=before, after=after)
    return entry


def join(path: str, key: Any) -> str:
    key = str(key)
    plain = key.replace("_", "").replace("-", "").isalnum()
    return (f"{path}.{key}" if path else key) if plain else f"{path}[{json.dumps(key)}]"


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: true is not 1, but 1 is 1.0 (protobuf numbers are doubles)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _json_document(text: str) -> Any:
    if not text[:1] in ("{", "["):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def record_key(before: Sequence[Any], after: Sequence[Any]) -> tuple[str, ...] | None:
    """The natural key of two lists of records, or None when they are not keyed records."""
    items = [*before, *after]
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    single = {next(iter(i)) for i in items if len(i) == 1}
    candidates = RECORD_KEYS + ((tuple(single),) if len(single) == 1 and all(len(i) == 1 for i in items) else ())
    for fields in candidates:
        if all(all(f in i and isinstance(i[f], (str, int)) for f in fields) for i in items):
            if all(len({tuple(i[f] for f in fields) for i in side}) == len(side) for side in (before, after)):
                return fields
    return None


def key_label(fields: tuple[str, ...], record: dict[str, Any]) -> str:
    return "[" + ",".join(f"{f}={record[f]}" for f in fields) + "]"


def _list_changes(before: list, after: list, path: str) -> list[dict[str, Any]]:
    fields = record_key(before, after)
    if fields:
        old = {tuple(r[f] for f in fields): r for r in before}
        new = {tuple(r[f] for f in fields): r for r in after}
        out: list[dict[str, Any]] = []
        for key in sorted(set(old) | set(new), key=lambda k: tuple(map(str, k))):
            record = old.get(key) or new[key]
            out += deep_changes(old.get(key, _MISSING), new.get(key, _MISSING), path + key_label(fields, record))
        return out
    if all(not isinstance(i, (dict, list)) for i in [*before, *after]):
        entry = change(path, before, after)
        added, removed = Counter(map(_hashable, after)) - Counter(map(_hashable, before)), \
            Counter(map(_hashable, before)) - Counter(map(_hashable, after))
        entry["added"] = sorted(added.elements(), key=str)
        entry["removed"] = sorted(removed.elements(), key=str)
        return [entry]
    if len(before) == len(after):
        out = []
        for i, (a, b) in enumerate(zip(before, after)):
            out += deep_changes(a, b, f"{path}[{i}]")
        return out
    return [change(path, before, after)]


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else json.dumps(value, sort_keys=True)


def set_changes(before: Iterable[str], after: Iterable[str]) -> tuple[list[str], list[str]]:
    """(added, removed), sorted."""
    b, a = set(before), set(after)
    return sorted(a - b), sorted(b - a)
