"""The benchmark's bare-mocks baselines replay exactly what a plan registered: every resource, every
recorded input taken by its SDK class, so the ratio the benchmark prints compares like with like."""

from __future__ import annotations

import importlib.util

import pytest

from sovereign.engine.snapshot import snapshot
from tests.support.stacks import PROJECT_DIR

from tests.support.stacks import AWS_STACKS, GCP_STACKS


def _baseline():
    spec = importlib.util.spec_from_file_location("plan_baseline", PROJECT_DIR / "benchmarks" / "baseline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("mode", ["sdk", "raw"])
@pytest.mark.parametrize("stack", sorted({AWS_STACKS[0], GCP_STACKS[0]}))
def test_the_baseline_registers_every_resource_of_the_plan(plans, stack, mode):
    resources = snapshot(plans[stack])["resources"]
    assert any(r["dependencies"] for r in resources)  # the wiring the sdk baseline replays is recorded
    registered, dropped = _baseline().run_stack(mode, stack, resources)
    assert registered == len(resources)
    assert dropped == []
