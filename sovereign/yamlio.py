"""YAML reading for every data file the project parses (catalog, policy, stack files).

PyYAML's C loader (libyaml, in every PyPI wheel) parses ~10× faster than the pure-Python one and
raises the same `yaml.YAMLError`s with the same marks; the pure-Python loader stays the fallback for a
PyYAML built without libyaml.
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """`yaml.safe_load`, through libyaml where available."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, C or Python
