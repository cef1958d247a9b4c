"""Cross-cloud failover DNS and DR drills, offline: every two-cloud stack survives losing each cloud,
single-cloud stacks refuse a drill, and the policy's serving rules bound who a region may serve."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from sovereign.domain.errors import InvalidInput
from sovereign.domain.failover import drilled, failover_plan
from sovereign.engine.drill import cloud_of, offline_drill

from tests.support.graph import Graph
from tests.support.stacks import AWS_STACKS, STACKS, TWO_CLOUD
from tests.support.tokens import T

SINGLE_CLOUD = [s for s in STACKS if s not in TWO_CLOUD]


@pytest.fixture(scope="module")
def drills(plans):
    return {(s, down): offline_drill(s, down, normal=plans[s]) for s in TWO_CLOUD for down in ("aws", "gcp")}


def test_there_are_two_cloud_and_single_cloud_stacks():
    assert len(TWO_CLOUD) >= 2 and SINGLE_CLOUD


@pytest.mark.parametrize("stack,down", [(s, d) for s in TWO_CLOUD for d in ("aws", "gcp")])
def test_offline_drill_passes_and_only_the_downed_cloud_goes(plans, drills, stack, down):
    report, drill = drills[(stack, down)]
    assert report is not None and report.ok, [c for c in report.checks if not c.ok]
    survivor = next(c for c in ("aws", "gcp") if c != down)
    assert not report.deleted.get(survivor) and report.deleted[down]
    # Everything of the downed cloud that serves is gone from the graph: cluster, pools, releases, fence, gateway.
    left = {r.type for r in drill.resources if cloud_of(r, plans[stack]) == down}
    assert left <= {f"pulumi:providers:{down}", f"sovereign:{down}:WeightCache", "aws:kms/key:Key",
                    "aws:s3/bucket:Bucket", "gcp:storage/bucket:Bucket"} | {
        t for t in left if t.startswith("aws:s3/") and down == "aws"}
    protected_before = {r.urn for r in plans[stack].resources if r.options.get("protect")}
    assert protected_before and protected_before <= {r.urn for r in drill.resources}
    records = [r for r in Graph(drill.resources).all(T.ROUTE53_RECORD) if r.inputs.get("failoverRoutingPolicies")]
    assert records and {r.inputs["setIdentifier"] for r in records} == {survivor}
    assert {r.name.rsplit("-", 1)[-1] for r in Graph(drill.resources).all(T.ROUTE53_HEALTH_CHECK)} == {survivor}


@pytest.mark.parametrize("stack", TWO_CLOUD)
def test_survivor_scales_to_drill_capacity(plans, drills, stack):
    spec = plans[stack].spec
    _, drill = drills[(stack, "aws")]
    for model in drill.spec.models:
        declared = spec.dr.drill_capacity.get(model.id)
        normal = next(m for m in spec.models if m.id == model.id)
        assert model.replicas.min == (declared if declared is not None else normal.replicas.min * 2)


@pytest.mark.parametrize("stack", SINGLE_CLOUD)
def test_single_cloud_drill_is_refused_with_a_clear_message(stack):
    result = subprocess.run([sys.executable, "-m", "sovereign", "drill", "--stack", stack, "--down",
                             "aws" if stack in AWS_STACKS else "gcp"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "sovereign:drill: tearing down" in result.stderr and "single-cloud region cannot be drilled" in result.stderr


def test_failover_records_health_checks_and_global_routing(plans):
    plan = plans["eu-central"]
    graph = Graph.of(plan)
    checks = {r.name: r for r in graph.all(T.ROUTE53_HEALTH_CHECK)}
    assert set(checks) == {"eu-central-aws", "eu-central-gcp"}
    for check in checks.values():
        assert (check.inputs["requestInterval"], check.inputs["failureThreshold"]) == (10, 3)
        assert check.inputs["resourcePath"] == "/health/liveliness"
    failover = {r.inputs["setIdentifier"]: r.inputs["failoverRoutingPolicies"][0]["type"]
                for r in graph.all(T.ROUTE53_RECORD) if r.inputs.get("failoverRoutingPolicies")}
    assert failover == {"aws": "PRIMARY", "gcp": "SECONDARY"}
    zone = graph.one(T.ROUTE53_ZONE)
    assert zone.inputs["name"] == "eu-central.inference.example.eu" and zone.options["protect"]
    countries = sorted(r.inputs["geolocationRoutingPolicies"][0]["country"] for r in graph.all(T.ROUTE53_RECORD)
                       if r.inputs.get("geolocationRoutingPolicies"))
    assert countries == sorted(plan.spec.dr.serves)
    assert plan.decisions.failover.worst_case_s == 60


def test_serving_rules_refuse_clients_the_policy_keeps_elsewhere(plans, policy):
    spec = plans["us-east"].spec
    eea_from_us = dataclasses.replace(spec, dr=dataclasses.replace(spec.dr, serves=("US", "CN")))
    with pytest.raises(InvalidInput) as caught:
        failover_plan(eea_from_us, policy)
    [error] = caught.value.errors
    assert error.key == "sovereign:dr.serves" and "CN clients may not be served from US" in error.problem
    assert "of-concern-clients-stay-home" in error.problem


def test_drill_below_the_capacity_floor_is_refused(plans):
    spec = plans["eu-central"].spec
    starved = dataclasses.replace(spec, drill="gcp", dr=dataclasses.replace(
        spec.dr, min_replicas=3, drill_capacity={"llama-3.1-8b-instruct": 1}))
    with pytest.raises(InvalidInput) as caught:
        drilled(starved)
    assert any("below dr.minReplicas 3" in e.problem for e in caught.value.errors)
