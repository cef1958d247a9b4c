"""Shared fixtures: the catalog, the project policy, the real stacks' decisions and plans, scratch projects.

Helpers the test modules import live in tests/support/. Each expensive fixture computes only what a test
asks for: `plans["eu-central"]` plans that one stack, once per test process (pytest-xdist runs one process
per core, see pyproject.toml), and `decisions` takes the domain's decisions without running the program.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from sovereign.catalog import load_catalog
from sovereign.domain.decisions import decide_region
from sovereign.domain.spec import parse_spec
from sovereign.domain.stackfile import display_name, read_stack_config
from sovereign.engine.run import plan_stack
from sovereign.project import PROJECT_DIR, load_project_policy

from tests.support.stacks import STACKS, copy_project


class PerStack(Mapping):
    """stack → `make(stack)`, computed on first use and kept: a test of one stack pays for that stack only."""

    def __init__(self, make: Callable[[str], Any], stacks: tuple[str, ...] = STACKS):
        self._make, self._stacks, self._done = make, stacks, {}

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


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


@pytest.fixture(scope="session")
def policy():
    return load_project_policy()


@pytest.fixture(scope="session")
def plans():
    """Every stack in stacks/, planned under mocks when a test first asks for it, then shared."""
    return PerStack(plan_stack)


@pytest.fixture(scope="session")
def decisions(catalog, policy):
    """Every real stack's RegionDecisions (spec, verdicts, sizing, clusters) as the program takes them, from
    the stack file and the project policy alone: no program run, for tests of the domain's decisions."""
    def decide(stack: str):
        config, _ = read_stack_config(PROJECT_DIR, stack)
        return decide_region(parse_spec(config, stack, display_name(stack), catalog), policy, catalog)
    return PerStack(decide)


@pytest.fixture
def project_copy(tmp_path) -> Path:
    """A scratch copy of the project's program, stacks and policy, for tests that edit them."""
    return copy_project(tmp_path)
