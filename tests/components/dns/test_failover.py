"""Failover DNS as registered (components/dns/failover.py): health checks per cloud, a primary and a secondary
record for the regional name, and the global name routed by client country."""

from __future__ import annotations

from tests.support.graph import Graph
from tests.support.tokens import T


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
