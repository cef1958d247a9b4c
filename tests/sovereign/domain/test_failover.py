"""Failover and drills as decided (sovereign/domain/failover.py), from inline stack configs and policies: the
names and timings of failover DNS, who a region may serve under the policy's serving rules, and the capacity a
drill leaves on the survivors."""

from __future__ import annotations

import pytest

from sovereign.domain.errors import InvalidInput
from sovereign.domain.failover import drill_capacity, drilled, failover_plan
from sovereign.domain.spec import Replicas
from tests.support.domain import LLAMA, policy_of, region_spec

TWO_CLOUDS = {"aws": {"region": "eu-central-1"}, "gcp": {"region": "europe-west3", "project": "sovereign-test"}}
MISTRAL = "mistral-7b-instruct-v0.3"
ALLOW_ALL = """
rules: [{id: allow-all, effect: allow, providers: "*", countries: ["*"], reason: r}]
"""
CN_CLIENTS_STAY_HOME = ALLOW_ALL + """
serving:
  - {id: cn-clients-stay-home, clients: {countries: [CN]}, regions: {countries: [CN]}, reason: r}
"""


def test_failover_names_timings_and_targets_follow_the_spec():
    spec = region_spec(region="fra", clouds=TWO_CLOUDS,
                       dr={"domain": "inference.example.eu", "healthCheckIntervalSeconds": 30, "failureThreshold": 2,
                           "dnsTtlSeconds": 60, "serves": ["DE", "AT"], "globalZoneId": "Z0EXAMPLEEU0ZONE0ID"})
    plan = failover_plan(spec, policy_of(ALLOW_ALL))
    assert (plan.regional_name, plan.global_name) == ("fra.inference.example.eu", "api.inference.example.eu")
    assert plan.tls_names == (plan.regional_name, plan.global_name)  # both names on every gateway's certificate
    assert plan.targets == ("aws", "gcp") and plan.drill is None
    assert plan.serves == ("DE", "AT") and plan.default is False
    assert plan.worst_case_s == 30 * 2 + 60


def test_without_a_domain_there_are_no_names_and_the_region_serves_its_jurisdiction():
    plan = failover_plan(region_spec(clouds=TWO_CLOUDS), policy_of(ALLOW_ALL))
    assert plan.domain is plan.regional_name is plan.global_name is None
    assert plan.serves == ("DE",)
    assert plan.worst_case_s == 10 * 3 + 30  # Route 53's fastest interval, 3 failures, a 30 s TTL


def test_a_drill_takes_the_downed_cloud_out_of_the_targets():
    plan = failover_plan(region_spec(clouds=TWO_CLOUDS, drill="aws"), policy_of(ALLOW_ALL))
    assert plan.targets == ("gcp",) and plan.drill == "aws"


def test_serving_rules_refuse_clients_the_policy_keeps_elsewhere():
    us = {"aws": {"region": "us-east-1"}}
    with pytest.raises(InvalidInput) as caught:
        failover_plan(region_spec(clouds=us, dr={"serves": ["US", "CN"]}), policy_of(CN_CLIENTS_STAY_HOME))
    [error] = caught.value.errors
    assert error.key == "sovereign:dr.serves" and "CN clients may not be served from US" in error.problem
    assert "policy.yaml: cn-clients-stay-home" in error.problem
    # The same clients from a region inside the rule's regions, and other clients from the US, are fine.
    beijing = {"aws": {"region": "cn-north-1"}}
    assert failover_plan(region_spec(clouds=beijing, dr={"serves": ["CN"]}), policy_of(CN_CLIENTS_STAY_HOME))
    assert failover_plan(region_spec(clouds=us, dr={"serves": ["US", "CA"]}), policy_of(CN_CLIENTS_STAY_HOME))


def test_the_project_policy_keeps_clients_of_concern_home(policy):
    with pytest.raises(InvalidInput) as caught:
        failover_plan(region_spec(clouds={"aws": {"region": "us-east-1"}}, dr={"serves": ["US", "CN"]}), policy)
    [error] = caught.value.errors
    assert "CN clients may not be served from US" in error.problem and "of-concern-clients-stay-home" in error.problem


def test_a_drill_runs_each_model_at_its_drill_capacity_on_the_survivors():
    spec = region_spec(clouds=TWO_CLOUDS, drill="gcp", dr={"drillCapacity": {LLAMA: 3}},
                       models=[{"id": LLAMA, "replicas": {"min": 1, "max": 2}},
                               {"id": MISTRAL, "replicas": {"min": 3, "max": 4}}])
    survivors = drilled(spec)
    assert [c.cloud for c in survivors.clouds] == ["aws"]
    # Declared: 3 (max raised to hold it). Not declared: the normal floor of both clouds, 2 × 3, on one.
    assert {m.id: m.replicas for m in survivors.models} == {LLAMA: Replicas(3, 3), MISTRAL: Replicas(6, 6)}
    assert drill_capacity(spec, MISTRAL) == 6
    assert drilled(region_spec(clouds=TWO_CLOUDS)) == region_spec(clouds=TWO_CLOUDS)  # no drill: unchanged


def test_drill_below_the_capacity_floor_is_refused():
    starved = region_spec(clouds=TWO_CLOUDS, drill="gcp", dr={"minReplicas": 3, "drillCapacity": {LLAMA: 1}})
    with pytest.raises(InvalidInput) as caught:
        drilled(starved)
    [error] = caught.value.errors
    assert error.key == "sovereign:models[0]" and "below dr.minReplicas 3" in error.problem


def test_source_ranges_are_client_networks_of_a_region_with_public_endpoints():
    domain = {"domain": "inference.example.eu", "globalZoneId": "Z0123456789ABCDEFGHIJ"}
    plan = failover_plan(region_spec(dr={**domain, "sourceRanges": ["203.0.113.0/24"]}), policy_of(ALLOW_ALL))
    assert plan.source_ranges == ("203.0.113.0/24",)
    for ranges, key, words in ((["0.0.0.0/0"], "sovereign:dr.sourceRanges[0]", "admits every client"),
                               (["203.0.113.7/24"], "sovereign:dr.sourceRanges[0]", "not a CIDR block")):
        with pytest.raises(InvalidInput) as caught:
            region_spec(dr={**domain, "sourceRanges": ranges})
        [error] = caught.value.errors
        assert (error.key, words in error.problem) == (key, True)
    with pytest.raises(InvalidInput) as caught:
        region_spec(dr={"sourceRanges": ["203.0.113.0/24"]})
    assert [e.key for e in caught.value.errors] == ["sovereign:dr.sourceRanges"]
