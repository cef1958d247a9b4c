"""Shared fixtures: the catalog, the project policy, the real stacks' decisions and plans, scratch projects.

Helpers the test modules import live in tests/support/. Each expensive fixture computes only what a test
asks for: `plans["eu-central"]` plans that one stack, once per test process (pytest-xdist runs one process
per core, see pyproject.toml), and `decisions` takes the domain's decisions without running the program.
"""

from __future__ import annotations

import functools
import gc
import sys
from pathlib import Path

import kubernetes_validate.utils
import pytest
import yaml

from sovereign.catalog import load_catalog
from sovereign.domain.decisions import decide_region
from sovereign.domain.spec import parse_spec
from sovereign.domain.stackfile import display_name, read_stack_config
from sovereign.engine.run import plan_stack
from sovereign.project import load_project_policy
from tests.support.stacks import PROJECT_DIR

from tests.support.stacks import STACKS, PerStack, copy_project, policy_with_ban


# kubernetes-validate reads and parses its JSON schemas (1.4 MB of definitions per Kubernetes version) again on every
# validate() call, six of the suite's CPU seconds. They are package data and never change: parse each file once per
# process. Validation itself is untouched.
kubernetes_validate.utils.schema_contents = functools.cache(kubernetes_validate.utils.schema_contents)

UNGROUPED = pytest.StashKey[bool]()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Under `--dist loadgroup` pytest-xdist sends the tests of one xdist_group (tests/support/groups.py) to one
    worker by suffixing their node ids with `@<group>`. Should a pytest or pytest-xdist upgrade lose that suffix
    (pytest 9.2 does: pytest-dev/pytest-xdist#1386), each group would silently be spread over the workers and its
    shared setup run in every one of them: those tests fail instead (pytest_runtest_setup), saying why."""
    if not getattr(config.option, "loadgroup", False):  # set in xdist workers only
        return
    for item in items:
        if any(item.iter_markers("xdist_group")) and "@" not in item.nodeid.rpartition("]")[2]:
            item.stash[UNGROUPED] = True


_frozen_modules = 0


def pytest_runtest_teardown(item):
    """Once a test has loaded new modules (the provider SDKs, on the first plan of each cloud), freeze what is alive:
    their ~500,000 long-lived objects are never walked again by the collections every later plan triggers, as in
    the planning workers (sovereign/engine/parallel.py, settle_heap)."""
    global _frozen_modules
    if len(sys.modules) != _frozen_modules:
        gc.collect()
        gc.freeze()
        _frozen_modules = len(sys.modules)


def pytest_runtest_setup(item):
    if item.stash.get(UNGROUPED, False):
        pytest.fail("pytest-xdist did not keep this test's xdist_group on one worker (pytest-dev/pytest-xdist#1386): "
                    "keep pyproject.toml's pytest and pytest-xdist pins, or run without workers (-n0)", pytrace=False)


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


@pytest.fixture(scope="session")
def policy():
    return load_project_policy(PROJECT_DIR)


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


@pytest.fixture(scope="session")
def keyed_project(tmp_path_factory) -> Path:
    """The project with every stack keyed: the gateway's key and one per requested provider. Its plans, and under
    the test ban, are shared by the gateway's and the ban reaction's tests (one xdist group: LITELLM_PROBE)."""
    root = copy_project(tmp_path_factory.mktemp("keyed"))
    for stack in STACKS:
        path = root / "stacks" / f"Pulumi.{stack}.yaml"
        doc = yaml.safe_load(path.read_text())
        config = doc["config"]
        entries = ["gateway", *(r["provider"] for r in config.get("sovereign:managedApis", []))]
        config["sovereign:apiKeys"] = {e: {"secure": f"v1:{e}-ciphertext"} for e in entries}
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return root


@pytest.fixture(scope="session")
def keyed_plans(keyed_project):
    return PerStack(lambda stack: plan_stack(stack, project=keyed_project))


@pytest.fixture(scope="session")
def banned_plans(keyed_project, tmp_path_factory):
    path = policy_with_ban(keyed_project / "policy" / "sovereignty.yaml", tmp_path_factory.mktemp("ban"))
    return PerStack(lambda stack: plan_stack(stack, project=keyed_project, policy=path))


@pytest.fixture
def project_copy(tmp_path) -> Path:
    """A scratch copy of the project's program, stacks and policy, for tests that edit them."""
    return copy_project(tmp_path)
