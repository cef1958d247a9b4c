"""Reading `stacks/Pulumi.<stack>.yaml` the way the Pulumi CLI would hand it to the program."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


from ..clouds import CLOUDS
from ..yamlio import YamlError, read_yaml

from .errors import InputError, InvalidInput

STACK_DIR = "stacks"
# Top-level keys the Pulumi CLI writes into stack files besides `config:`.
_PULUMI_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
_DISABLE_DEFAULTS = "pulumi:disable-default-providers"


def decode_runtime_value(value: Any) -> Any:
    """A config value as the Pulumi CLI hands it to programs and packs: structured values arrive as JSON."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def stack_file(project: Path, stack: str) -> Path:
    return project / STACK_DIR / f"Pulumi.{stack}.yaml"


def display_name(stack: str) -> str:
    return f"{STACK_DIR}/Pulumi.{stack}.yaml"


def list_stacks(project: Path) -> tuple[str, ...]:
    prefix, suffix = "Pulumi.", ".yaml"
    return tuple(sorted(p.name[len(prefix):-len(suffix)] for p in (project / STACK_DIR).glob("Pulumi.*.yaml")))


def read_stack_config(project: Path, stack: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The stack's `config:` mapping and the keys holding Pulumi secrets (`secure:` values, at any depth)."""
    file = display_name(stack)
    path = stack_file(project, stack)
    if not path.exists():
        known = ", ".join(list_stacks(project)) or "none"
        raise InvalidInput([InputError(file, "(file)", f"no stack '{stack}'", f"use one of: {known}")])
    try:
        raw = read_yaml(path)
    except YamlError as exc:
        raise InvalidInput([InputError(file, exc.where, exc.problem, exc.fix)]) from None
    errors = []
    if raw is None:
        raise InvalidInput([InputError(file, "(file)", "the file is empty",
                                       "start it with `config:` and the stack's `sovereign:` keys (README: Add a region)")])
    if not isinstance(raw, dict):
        raise InvalidInput([InputError(file, "(file)", "expected a mapping with a `config:` key",
                                       "start the file with `config:`")])
    for key in raw:
        if key not in _PULUMI_FILE_KEYS:
            errors.append(InputError(file, str(key), "not a Pulumi stack-file key",
                                     "put settings under `config:` as `sovereign:<key>`"))
    config = raw.get("config")
    if not config:
        raise InvalidInput([InputError(file, "config", "empty: the stack declares nothing",
                                       "add the stack's `sovereign:` keys under `config:` (README: Add a region)")])
    if not isinstance(config, dict):
        errors.append(InputError(file, "config", "expected a mapping", "write `key: value` lines under config:"))
        config = {}
    disabled = config.get(_DISABLE_DEFAULTS)
    names = {d for d in disabled if isinstance(d, str)} if isinstance(disabled, list) else set()
    if not ("*" in names or {*CLOUDS, "kubernetes"} <= names):
        errors.append(InputError(file, _DISABLE_DEFAULTS, "default providers are not disabled",
                                 f"add `{_DISABLE_DEFAULTS}: [\"*\"]` so every resource uses the region's "
                                 "explicit providers and none falls back to ambient credentials"))
    if errors:
        raise InvalidInput(errors)
    secret_keys = tuple(sorted(k for k, v in config.items() if holds_secret(v)))
    return config, secret_keys


def is_secure(value: Any) -> bool:
    """A Pulumi secret as the CLI writes it into a stack file: `{secure: <ciphertext>}`."""
    return isinstance(value, dict) and set(value) == {"secure"}


def holds_secret(value: Any) -> bool:
    """True for a secret, or a structured value with a secret anywhere inside (`pulumi config set
    --secret --path`): Pulumi then treats the whole key as secret."""
    if is_secure(value):
        return True
    if isinstance(value, dict):
        return any(holds_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_secret(v) for v in value)
    return False
