"""`sovereign drill` as a user runs it: a single-cloud region refuses a drill with one clear message."""

from __future__ import annotations

import pytest

from tests.support.cli import run_cli
from tests.support.stacks import AWS_STACKS, STACKS, TWO_CLOUD

SINGLE_CLOUD = [s for s in STACKS if s not in TWO_CLOUD]


@pytest.mark.parametrize("stack", SINGLE_CLOUD)
def test_single_cloud_drill_is_refused_with_a_clear_message(stack):
    result = run_cli("drill", "--stack", stack, "--down", "aws" if stack in AWS_STACKS else "gcp")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "sovereign:drill: tearing down" in result.stderr and "single-cloud region cannot be drilled" in result.stderr
