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


def test_the_report_for_machines():
    import json

    stack = TWO_CLOUD[0]
    result = run_cli("drill", "--stack", stack, "--down", "gcp", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and {c["name"] for c in report["checks"]} >= {"teardown-completes", "release-touches-only-scale"}
    [survivor] = report["capacity"]
    assert survivor["cloud"] == "aws" and survivor["replicas"]["during"] > survivor["replicas"]["before"]
    assert survivor["recoverySeconds"] == survivor["dnsFailoverSeconds"] + survivor["capacitySeconds"]
    assert any(d["kept"] and d["holds"] == "objects" for d in report["data"]) and report["dns"]


def test_every_drill_flag_says_what_it_does():
    result = run_cli("drill", "--help")
    options = [line.split()[0] for line in result.stdout.splitlines() if line.strip().startswith("--")]
    assert "--json" in options and "--markdown" in options and "--release-timeout" in options
    for line in result.stdout.split("options:")[1].split("\n  -")[1:]:
        assert len(line.split()) > 2, line   # a flag, its metavar or choices, and words
