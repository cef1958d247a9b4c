"""Shared fixtures: the catalog, the project policy, and each real stack planned once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sovereign.catalog import load_catalog
from sovereign.domain.stackfile import list_stacks, read_stack_config
from sovereign.engine.run import plan_stack
from sovereign.project import load_project_policy

from .paths import PROJECT_DIR

STACKS = list_stacks(PROJECT_DIR)


def stacks_on(cloud: str) -> list[str]:
    """The stacks that declare `cloud`, read at collection time so tests parametrize without skips."""
    return [s for s in STACKS if cloud in (read_stack_config(PROJECT_DIR, s)[0].get("sovereign:clouds") or {})]


AWS_STACKS, GCP_STACKS = stacks_on("aws"), stacks_on("gcp")
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


@pytest.fixture(scope="session")
def policy():
    return load_project_policy(PROJECT_DIR)


@pytest.fixture(scope="session")
def plans():
    """Every stack in stacks/, planned once under mocks and shared by the tests that read graphs."""
    return {name: plan_stack(name) for name in STACKS}


@pytest.fixture
def project_copy(tmp_path):
    """A scratch copy of the project's program (with its components), stacks and policy, for tests that edit them."""
    for item in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(PROJECT_DIR / item, tmp_path / item)
    for folder in ("components", "stacks", "policy"):
        shutil.copytree(PROJECT_DIR / folder, tmp_path / folder)
    return tmp_path


# A test export ban: OpenAI closed for the EEA. It covers the stacks whose jurisdiction touches the EEA.
EEA_OPENAI_BAN = """bans:
  - id: ban-openai-eea
    providers: [openai]
    groups: [eea]
    reason: Export ban on US frontier-model APIs to the EEA (test).
    since: 2026-12-01
"""


def policy_with_ban(policy_file: Path, out_dir: Path) -> Path:
    """A copy of `policy_file` with EEA_OPENAI_BAN added as its first ban."""
    policy = policy_file.read_text()
    assert policy.count("\nbans:\n") == 1
    path = out_dir / "sovereignty.yaml"
    path.write_text(policy.replace("\nbans:\n", "\n" + EEA_OPENAI_BAN, 1))
    return path
