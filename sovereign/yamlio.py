"""YAML reading for every data file the project parses (catalog, policy, stack files): strict and bounded.

- A key given twice in one mapping is an error naming both lines (PyYAML keeps the last value silently:
  a rule's second `effect:` would win without a word).
- Anchors and aliases are refused: no stack or policy needs them, and they are how a small file becomes a
  self-referencing structure (endless recursion) or a billion-laughs expansion (every later walk of the
  value visits each leaf once per reference).
- Dates stay the text they were written as, so `2026-13-01` is the reader's "not a date" error, not a
  ValueError from the YAML constructor; the readers parse dates themselves.
- Files must be UTF-8 text, and at most MAX_BYTES.

PyYAML's C loader (libyaml, in every PyPI wheel) parses ~10× faster than the pure-Python one; the
pure-Python loader stays the fallback for a PyYAML built without libyaml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_BYTES = 1 << 20   # a stack file or policy is a few KB; anything near this is not one


class YamlError(ValueError):
    """A file that is not the strict YAML this project reads: where (1-based line or None), what, how to fix."""

    def __init__(self, line: int | None, problem: str, fix: str, column: int | None = None):
        super().__init__(problem)
        self.line, self.column, self.problem, self.fix = line, column, problem, fix

    @property
    def where(self) -> str:
        if not self.line:
            return "(file)"
        return f"line {self.line}" + (f", column {self.column}" if self.column else "")


class _StrictLoader(_BASE):  # type: ignore[misc, valid-type]
    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # A node met a second time is an alias (or a structure containing itself).
        if node in self.constructed_objects or node in self.recursive_objects:
            raise YamlError(node.start_mark.line + 1, "the value anchored here (&name) is repeated by an alias (*name)",
                            "write the value out where it is used; anchors and aliases are not read")
        return super().construct_object(node, deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: dict[tuple[str, str], int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = (key_node.tag, key_node.value)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise YamlError(line, f"key '{_short(key_node.value)}' is given twice (lines {seen[key]} and "
                                    f"{line}); YAML would silently keep the last", "keep one of them")
                seen[key] = line
        return super().construct_mapping(node, deep)


# Timestamps stay strings: drop the implicit resolver for them on the strict loader only.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BASE.yaml_implicit_resolvers.items()}


def load_yaml(text: str) -> Any:
    """Parse strictly; raises YamlError (duplicate key, alias) or yaml.YAMLError (syntax)."""
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a safe loader, C or Python


def read_yaml(path: Path) -> Any:
    """A YAML file's value; every way a file can be unreadable is a YamlError with its fix."""
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise YamlError(None, f"{len(data)} bytes, over the {MAX_BYTES}-byte limit for this file",
                        "this is not a stack or policy file; check the path")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise YamlError(line, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
                        "save the file as UTF-8") from None
    if text.startswith("\ufeff"):
        text = text[1:]  # a UTF-8 byte-order mark is harmless
    try:
        return load_yaml(text)
    except YamlError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlError(mark.line + 1 if mark else None, f"not valid YAML ({problem})",
                        "fix the indentation or quoting at that line", mark.column + 1 if mark else None) from None
    except RecursionError:
        raise YamlError(None, "nested too deeply to read", "flatten the structure") from None


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"
