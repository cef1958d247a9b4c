"""The project's real stacks by cloud, the fixtures folder, scratch copies of the project, the test ban."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from sovereign.domain.stackfile import list_stacks, read_stack_config

PROJECT_DIR = Path(__file__).resolve().parents[2]  # the checkout holding these tests
STACKS = list_stacks(PROJECT_DIR)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
POLICY_FILE = PROJECT_DIR / "policy" / "sovereignty.yaml"


def stacks_on(cloud: str) -> list[str]:
    """The stacks that declare `cloud`, read at collection time so tests parametrize without skips."""
    return [s for s in STACKS if cloud in (read_stack_config(PROJECT_DIR, s)[0].get("sovereign:clouds") or {})]


AWS_STACKS, GCP_STACKS = stacks_on("aws"), stacks_on("gcp")
TWO_CLOUD = [s for s in STACKS if s in AWS_STACKS and s in GCP_STACKS]


class PerStack(Mapping):
    """stack → `make(stack)`, computed on first use and kept: a test of one stack pays for that stack only."""

    def __init__(self, make: Callable[[str], Any], stacks: tuple[str, ...] = STACKS):
        self._make, self._stacks, self._done = make, tuple(stacks), {}

    def __getitem__(self, stack: str) -> Any:
        if stack not in self._stacks:
            raise KeyError(stack)
        if stack not in self._done:
            self._done[stack] = self._make(stack)
        return self._done[stack]

    def __iter__(self) -> Iterator[str]:
        return iter(self._stacks)

    def __len__(self) -> int:
        return len(self._stacks)


def copy_project(root: Path) -> Path:
    """A scratch copy of the project's program (with its components), stacks and policy under `root`, for
    tests that edit them."""
    root.mkdir(parents=True, exist_ok=True)
    for item in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(PROJECT_DIR / item, root / item)
    for folder in ("components", "stacks", "policy"):
        shutil.copytree(PROJECT_DIR / folder, root / folder)
    return root


# A test export ban: OpenAI closed for the EEA. It covers the stacks whose jurisdiction touches the EEA.
EEA_OPENAI_BAN = """bans:
  - id: ban-openai-eea
    providers: [openai]
    groups: [eea]
    reason: Export ban on US frontier-model APIs to the EEA (test).
    since: 2026-12-01
"""
# The stacks whose jurisdiction touches the EEA (the tests check this against the specs).
EEA_STACKS = ("eu-central", "it-south")


def policy_with_ban(policy_file: Path, out_dir: Path) -> Path:
    """A copy of `policy_file` with EEA_OPENAI_BAN added as its first ban."""
    policy = policy_file.read_text()
    assert policy.count("\nbans:\n") == 1
    path = out_dir / "sovereignty.yaml"
    path.write_text(policy.replace("\nbans:\n", "\n" + EEA_OPENAI_BAN, 1))
    return path
