"""Where the project's files are, and the policy file the program evaluates."""

from __future__ import annotations

import os
from pathlib import Path

from .catalog import load_catalog
from .domain.policy import Policy, load_policy

PROJECT_DIR = Path(__file__).resolve().parents[1]
PROJECT_NAME = "sovereign-inference"
POLICY_ENV = "SOVEREIGN_POLICY"
DEFAULT_POLICY = Path("policy") / "sovereignty.yaml"


def policy_path(project: Path = PROJECT_DIR) -> Path:
    """$SOVEREIGN_POLICY when set (tests and `sovereign plan --policy`), else policy/sovereignty.yaml."""
    return Path(os.environ.get(POLICY_ENV) or project / DEFAULT_POLICY)


def load_project_policy(path: Path | None = None, project: Path = PROJECT_DIR) -> Policy:
    path = Path(path or policy_path(project))
    shown = os.path.relpath(path, project) if path.resolve().is_relative_to(project) else str(path)
    return load_policy(path, load_catalog(), display=shown)
