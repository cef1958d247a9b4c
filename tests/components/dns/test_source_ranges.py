"""`dr.sourceRanges`: the public endpoints admit the listed clients and Route 53's health checkers, nobody else —
as the NLB Service's source ranges on EKS, as a Cloud Armor policy on the Gateway's backend on GKE."""

from __future__ import annotations

import yaml

from sovereign.domain.stackfile import stack_file
from sovereign.engine.run import plan_stack
from tests.support.graph import Graph
from tests.support.tokens import T

CLIENTS = ["203.0.113.0/24", "198.51.100.0/24"]   # with the checkers, what a security group's 60 rules admit
CHECKERS = [f"198.18.{i}.0/26" for i in range(25)]   # the offline answer of aws.get_ip_ranges (mocks_aws)


def test_only_the_listed_clients_and_the_health_checkers_reach_the_endpoints(project_copy):
    path = stack_file(project_copy, "eu-central")
    doc = yaml.safe_load(path.read_text())
    doc["config"]["sovereign:dr"]["sourceRanges"] = CLIENTS
    path.write_text(yaml.safe_dump(doc))
    plan = plan_stack("eu-central", project=project_copy)
    assert plan.ok, (plan.errors, plan.violations)
    graph = Graph.of(plan)
    expected = sorted({*CLIENTS, *CHECKERS})
    [service] = [s for s in graph.all(T.SERVICE) if s.name.endswith("-gateway-public")]
    assert service.inputs["spec"]["loadBalancerSourceRanges"] == expected
    [policy] = graph.all("gcp:compute/regionSecurityPolicy:RegionSecurityPolicy")
    allowed = [r for r in policy.inputs["rules"] if r["action"] == "allow"]
    assert sorted(c for r in allowed for c in r["match"]["config"]["srcIpRanges"]) == expected
    assert all(len(r["match"]["config"]["srcIpRanges"]) <= 10 for r in allowed)
    assert policy.inputs["rules"][-1] == {"action": "deny(403)", "priority": 2147483647, "description": "everyone else",
                                          "match": {"versionedExpr": "SRC_IPS_V1", "config": {"srcIpRanges": ["*"]}}}
    [backend] = [p for p in graph.all("kubernetes:networking.gke.io/v1:GCPBackendPolicy")]
    assert backend.inputs["spec"]["default"]["securityPolicy"] == policy.inputs["name"]


def test_without_source_ranges_anyone_may_connect(plans):
    graph = Graph.of(plans["eu-central"])
    [service] = [s for s in graph.all(T.SERVICE) if s.name.endswith("-gateway-public")]
    assert "loadBalancerSourceRanges" not in service.inputs["spec"]
    assert graph.all("gcp:compute/regionSecurityPolicy:RegionSecurityPolicy") == []
