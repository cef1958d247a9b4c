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


def test_the_aws_gateway_serves_tls_only_with_an_issued_certificate_for_the_regional_and_global_names(plans):
    plan = plans["eu-central"]
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
    services = {r.name: r for r in graph.all("kubernetes:core/v1:Service") if r.name.endswith("-gateway-public")}
    aws, gcp = services["eu-central-aws-gateway-public"], services["eu-central-gcp-gateway-public"]
    # AWS: port 443 only, a TLS listener with the issued certificate; GKE: plain HTTP until its TLS is built.
    assert [(p["name"], p["port"]) for p in aws.inputs["spec"]["ports"]] == [("https", 443)]
    annotations = aws.inputs["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] == "https"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"].startswith("arn:aws:acm:eu-central-1:")
    assert issued.urn in aws.dependencies["metadata"]
    assert [(p["name"], p["port"]) for p in gcp.inputs["spec"]["ports"]] == [("http", 80)]
    checks = {r.name: r.inputs for r in graph.all(T.ROUTE53_HEALTH_CHECK)}
    assert (checks["eu-central-aws"]["type"], checks["eu-central-aws"]["port"], checks["eu-central-aws"]["enableSni"]) \
        == ("HTTPS", 443, True)
    assert (checks["eu-central-gcp"]["type"], checks["eu-central-gcp"]["port"]) == ("HTTP", 80)
