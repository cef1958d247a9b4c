"""Failover DNS as registered (components/dns/failover.py): health checks per cloud, a primary and a secondary
record for the regional name, and the global name routed by client country."""

from __future__ import annotations

import yaml

from sovereign.domain.stackfile import stack_file
from sovereign.engine.run import plan_stack
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


def test_a_pair_with_a_cloud_that_cannot_terminate_tls_serves_plain_http_on_both_and_says_why(plans):
    plan = plans["eu-central"]
    failover = plan.decisions.failover
    assert failover.tls_names == () and "GKE public endpoints cannot terminate TLS yet" in failover.plaintext_reason
    graph = Graph.of(plan)
    assert not graph.all("aws:acm/certificate:Certificate")
    ports = {r.name: [(p["name"], p["port"]) for p in r.inputs["spec"]["ports"]]
             for r in graph.all("kubernetes:core/v1:Service") if r.name.endswith("-gateway-public")}
    assert ports == {"eu-central-aws-gateway-public": [("http", 80)], "eu-central-gcp-gateway-public": [("http", 80)]}
    assert {(c.inputs["type"], c.inputs["port"]) for c in graph.all(T.ROUTE53_HEALTH_CHECK)} == {("HTTP", 80)}


def test_an_aws_region_serves_tls_only_with_an_issued_certificate_for_the_regional_and_global_names(project_copy):
    path = stack_file(project_copy, "eu-central")
    doc = yaml.safe_load(path.read_text())
    del doc["config"]["sovereign:clouds"]["gcp"]
    path.write_text(yaml.safe_dump(doc))
    plan = plan_stack("eu-central", project=project_copy)
    assert plan.ok, (plan.errors, plan.violations)
    graph = Graph.of(plan)
    names = ["eu-central.inference.example.eu", "api.inference.example.eu"]
    assert list(plan.decisions.failover.tls_names) == names
    [certificate] = graph.all("aws:acm/certificate:Certificate")
    assert (certificate.inputs["domainName"], certificate.inputs["subjectAlternativeNames"]) == (names[0], names[1:])
    assert certificate.inputs["validationMethod"] == "DNS"
    [issued] = graph.all("aws:acm/certificateValidation:CertificateValidation")
    # Each name's validation record in the zone answering for it: the regional zone, the global zone for api.
    zone = graph.one(T.ROUTE53_ZONE)
    records = {r.name: r for r in graph.all(T.ROUTE53_RECORD) if "-tls-" in r.name}
    assert len(records) == 2
    regional, global_ = (records[f"eu-central-aws-tls-{i}"] for i in (0, 1))
    assert zone.urn in regional.dependencies["zoneId"] and regional.inputs["name"].endswith(f".{names[0]}.")
    assert global_.inputs["zoneId"] == plan.spec.dr.global_zone_id and global_.inputs["allowOverwrite"] is True
    assert {r.inputs["type"] for r in records.values()} == {"CNAME"}
    [service] = [r for r in graph.all("kubernetes:core/v1:Service") if r.name.endswith("-gateway-public")]
    # Port 443 only: a TLS listener with the issued certificate.
    assert [(p["name"], p["port"]) for p in service.inputs["spec"]["ports"]] == [("https", 443)]
    annotations = service.inputs["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] == "https"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"].startswith("arn:aws:acm:eu-central-1:")
    assert issued.urn in service.dependencies["metadata"]
    [check] = graph.all(T.ROUTE53_HEALTH_CHECK)
    assert (check.inputs["type"], check.inputs["port"], check.inputs["enableSni"]) == ("HTTPS", 443, True)
