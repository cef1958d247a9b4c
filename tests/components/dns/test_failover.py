"""Failover DNS as registered (components/dns/failover.py): health checks per cloud, a primary and a secondary
record for the regional name, and the global name routed by client country."""

from __future__ import annotations

from tests.support.graph import Graph
from tests.support.schemas import schema_errors
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


def test_both_clouds_serve_tls_only_with_certificates_for_the_regional_and_global_names(plans):
    plan = plans["eu-central"]
    graph = Graph.of(plan)
    names = ["eu-central.inference.example.eu", "api.inference.example.eu"]
    assert list(plan.decisions.failover.tls_names) == names
    zone = graph.one(T.ROUTE53_ZONE)
    records = {r.name: r for r in graph.all(T.ROUTE53_RECORD) if "-tls-" in r.name}
    assert len(records) == 4  # each name's proof of control, per cloud, in the zone answering for it
    for cloud in ("aws", "gcp"):
        regional, global_ = (records[f"eu-central-{cloud}-tls-{i}"] for i in (0, 1))
        assert zone.urn in regional.dependencies["zoneId"] and regional.inputs["name"].endswith(f".{names[0]}.")
        assert global_.inputs["zoneId"] == plan.spec.dr.global_zone_id and global_.inputs["name"].endswith(f".{names[1]}.")
        assert {regional.inputs["type"], global_.inputs["type"]} == {"CNAME"}
    # AWS: an NLB TLS listener on 443 with the ACM certificate once issued.
    [certificate] = graph.all("aws:acm/certificate:Certificate")
    assert (certificate.inputs["domainName"], certificate.inputs["subjectAlternativeNames"]) == (names[0], names[1:])
    [issued] = graph.all("aws:acm/certificateValidation:CertificateValidation")
    [service] = [r for r in graph.all("kubernetes:core/v1:Service") if r.name == "eu-central-aws-gateway-public"]
    assert [(p["name"], p["port"]) for p in service.inputs["spec"]["ports"]] == [("https", 443)]
    assert issued.urn in service.dependencies["metadata"]
    assert service.inputs["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] == "https"
    # GKE: a Gateway on the regional external Application Load Balancer (TLS ends in the region), 443 only, with
    # a Certificate Manager certificate of the region and a static address, routing to the gateway's Service.
    region = plan.decisions.cluster("gcp").plan.cloud.region.name
    [managed] = graph.all("gcp:certificatemanager/certificate:Certificate")
    assert managed.inputs["location"] == region and managed.inputs["managed"]["domains"] == names
    authorizations = graph.all("gcp:certificatemanager/dnsAuthorization:DnsAuthorization")
    assert sorted(a.inputs["domain"] for a in authorizations) == sorted(names)
    assert {(a.inputs["location"], a.inputs["type"]) for a in authorizations} == {(region, "PER_PROJECT_RECORD")}
    [gateway] = graph.all("kubernetes:gateway.networking.k8s.io/v1:Gateway")
    [route] = graph.all("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    [listener] = gateway.inputs["spec"]["listeners"]
    assert gateway.inputs["spec"]["gatewayClassName"] == "gke-l7-regional-external-managed"
    assert (listener["protocol"], listener["port"], listener["tls"]["mode"]) == ("HTTPS", 443, "Terminate")
    assert listener["tls"]["options"]["networking.gke.io/cert-manager-certs"] == managed.inputs["name"]
    [address] = graph.all("gcp:compute/address:Address")
    assert gateway.inputs["spec"]["addresses"] == [{"type": "NamedAddress", "value": address.inputs["name"]}]
    # Only the OpenAI API and the liveness path are public: never LiteLLM's docs or management endpoints.
    [rule] = route.inputs["spec"]["rules"]
    assert rule["backendRefs"] == [{"name": "inference-gateway", "port": 4000}]
    assert [m["path"]["value"] for m in rule["matches"]] == ["/v1/", "/health/liveliness"]
    assert route.inputs["spec"]["parentRefs"] == [{"name": gateway.inputs["metadata"]["name"]}]
    policies = {r.inputs["kind"]: r.inputs["spec"] for r in graph.all(
        "kubernetes:networking.gke.io/v1:GCPBackendPolicy", "kubernetes:networking.gke.io/v1:HealthCheckPolicy",
        "kubernetes:networking.gke.io/v1:GCPGatewayPolicy")}
    assert policies["GCPBackendPolicy"]["default"]["timeoutSec"] >= 600  # streams outlive the 30 s default
    assert policies["HealthCheckPolicy"]["default"]["config"]["httpHealthCheck"]["requestPath"] == "/health/liveliness"
    [ssl] = graph.all("gcp:compute/regionSslPolicy:RegionSslPolicy")
    assert ssl.inputs["minTlsVersion"] == "TLS_1_2" and policies["GCPGatewayPolicy"]["default"]["sslPolicy"] == \
        ssl.inputs["name"]
    for doc in (gateway, route, *graph.all("kubernetes:networking.gke.io/v1:GCPBackendPolicy",
                                            "kubernetes:networking.gke.io/v1:HealthCheckPolicy",
                                            "kubernetes:networking.gke.io/v1:GCPGatewayPolicy")):
        assert schema_errors({k: doc.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")}) == []
        # Deleted before the cluster, not with it: the cloud's load balancer goes before its certificate.
        assert "deletedWith" not in doc.options
    assert not [r for r in graph.all("kubernetes:core/v1:Service") if r.name == "eu-central-gcp-gateway-public"]
    # Route 53 checks both over HTTPS with SNI; the address by the regional name.
    checks = {r.name: r.inputs for r in graph.all(T.ROUTE53_HEALTH_CHECK)}
    assert {(c["type"], c["port"], c["enableSni"]) for c in checks.values()} == {("HTTPS", 443, True)}
    assert checks["eu-central-gcp"]["fqdn"] == names[0]
