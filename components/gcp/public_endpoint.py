"""GKE's public gateway endpoint with TLS: the Gateway API's regional external Application Load Balancer.

Regional, so TLS ends in the cluster's region (a global load balancer would decrypt at Google's edge, wherever
the client is). Its certificate is a Google-managed Certificate Manager certificate of the region for the
failover names, authorized by DNS records the stack writes into the zones that answer for them
(PER_PROJECT_RECORD: each project's record name differs, so regions sharing `api.<domain>` never collide). The
listener is 443 only; the route sends everything to the gateway's Service. The load balancer's address is a
regional static address of the stack's, which failover DNS points at. Its proxies run in the network's
proxy-only subnet (components/gcp/network.py). Backends are the gateway pods through container-native load
balancing: a pod joins only while ready, i.e. while a model server of the cluster serves.
"""

from __future__ import annotations

from typing import Sequence

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from sovereign.clouds import CloudProfile
from sovereign.domain.gateway import GATEWAY_NAME, GATEWAY_PORT, LIVENESS_PATH
from sovereign.domain.topology import ClusterPlan
from sovereign.domain.workloads import GATEWAY_NAMESPACE

from ..dns.failover import PublicGateway, TlsCertificate

GATEWAY_CLASS = "gke-l7-regional-external-managed"
PUBLIC_PATHS = ("/v1/", LIVENESS_PATH)
BACKEND_TIMEOUT_S = 3600   # the longest completion a client may wait for
DRAIN_S = 60
CERTIFICATE_OPTION = "networking.gke.io/cert-manager-certs"   # a listener's Certificate Manager certificates
API = "certificatemanager.googleapis.com"


def gke_tls_endpoint(name: str, plan: ClusterPlan, profile: CloudProfile, names: Sequence[str],
                     provider: pulumi.ProviderResource, cluster: pulumi.Resource,
                     k8s_opts: pulumi.ResourceOptions, sources: pulumi.Input[list[str]] | None = None) -> PublicGateway:
    """`k8s_opts`: the cluster's Kubernetes provider and parent. `sources`: the only client ranges admitted (a Cloud
    Armor policy on the backend); None: anyone. Not deleted with the cluster: the Gateway's
    finalizer holds its deletion until GKE has removed the load balancer, so the address and certificate it uses
    are free to go after it."""
    project, region = plan.cloud.project, plan.cloud.region.name
    # After the cluster, which waits for the project's APIs (Compute's for the address).
    on_gcp = pulumi.ResourceOptions(parent=k8s_opts.parent, provider=provider, depends_on=[cluster])
    api = gcp.projects.Service(f"{name}-certificatemanager", project=project, service=API,
                               disable_on_destroy=False, opts=on_gcp)  # other stacks share the project
    after_api = pulumi.ResourceOptions.merge(on_gcp, pulumi.ResourceOptions(depends_on=[api]))
    authorizations = [gcp.certificatemanager.DnsAuthorization(
        f"{name}-gateway-{i}", name=f"{name}-gateway-{i}", project=project, location=region, domain=host,
        type="PER_PROJECT_RECORD", opts=after_api) for i, host in enumerate(names)]
    certificate = gcp.certificatemanager.Certificate(
        f"{name}-gateway", name=f"{name}-gateway", project=project, location=region,
        managed={"domains": list(names), "dns_authorizations": [a.id for a in authorizations]}, opts=after_api)
    address = gcp.compute.Address(f"{name}-gateway", name=f"{name}-gateway", project=project, region=region,
                                  address_type="EXTERNAL", network_tier="PREMIUM", opts=on_gcp)
    validation = pulumi.Output.all(*[a.dns_resource_records for a in authorizations]).apply(
        lambda records: [{"domain": host, **{k: _field(r[0], f) for k, f in (("name", "name"), ("type", "type"),
                                                                             ("value", "data"))}}
                         for host, r in zip(names, records)])
    # TLS 1.2 and up, as on AWS (the load balancer's default profile would take TLS 1.0).
    ssl = gcp.compute.RegionSslPolicy(f"{name}-gateway", name=f"{name}-gateway", project=project, region=region,
                                      min_tls_version="TLS_1_2", profile="MODERN", opts=on_gcp)

    def custom(resource: str, kind: str, spec: dict, after: list[pulumi.Resource] | None = None) -> pulumi.Resource:
        group = "gateway.networking.k8s.io" if kind in ("Gateway", "HTTPRoute") else "networking.gke.io"
        return k8s.apiextensions.CustomResource(
            resource, api_version=f"{group}/v1", kind=kind,
            metadata={"name": "inference-gateway-public", "namespace": GATEWAY_NAMESPACE}, spec=spec,
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=after or [])))

    gateway = custom(f"{name}-gateway-public", "Gateway", {
        "gatewayClassName": GATEWAY_CLASS, "addresses": [{"type": "NamedAddress", "value": address.name}],
        "listeners": [{"name": "https", "protocol": "HTTPS", "port": 443,
                       "tls": {"mode": "Terminate", "options": {CERTIFICATE_OPTION: certificate.name}}}]})
    custom(f"{name}-gateway-tls", "GCPGatewayPolicy", {
        "default": {"sslPolicy": ssl.name}, "targetRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                                          "name": "inference-gateway-public"}}, [gateway])
    # The OpenAI API and the liveness the failover check reads: never LiteLLM's docs or management endpoints.
    custom(f"{name}-gateway-route", "HTTPRoute", {
        "parentRefs": [{"name": "inference-gateway-public"}],
        "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": path}} for path in PUBLIC_PATHS],
                   "backendRefs": [{"name": GATEWAY_NAME, "port": GATEWAY_PORT}]}]}, [gateway])
    service_ref = {"group": "", "kind": "Service", "name": GATEWAY_NAME}
    armor = source_policy(name, project, region, sources, on_gcp) if sources is not None else None
    # Completions stream for minutes: the backend service's 30 s default would cut them; drain as pods terminate.
    custom(f"{name}-gateway-backend", "GCPBackendPolicy", {
        "default": {"timeoutSec": BACKEND_TIMEOUT_S, "connectionDraining": {"drainingTimeoutSec": DRAIN_S},
                    **({"securityPolicy": armor.name} if armor else {})},
        "targetRef": service_ref})
    # The load balancer checks the process; which pods serve is their readiness (container-native endpoints).
    custom(f"{name}-gateway-health", "HealthCheckPolicy", {
        "default": {"config": {"type": "HTTP", "httpHealthCheck": {"requestPath": LIVENESS_PATH,
                                                                    "port": GATEWAY_PORT}}},
        "targetRef": service_ref})
    return PublicGateway(address.address, region, profile,
                         TlsCertificate(tuple(names), validation, certificate.name))


# Cloud Armor's basic IP match takes at most 10 ranges per rule (SRC_IPS_V1):
# https://cloud.google.com/armor/quotas#limits
RANGES_PER_RULE = 10
DEFAULT_RULE = 2147483647


def source_policy(name: str, project: str, region: str, sources: pulumi.Input[list[str]],
                  opts: pulumi.ResourceOptions) -> gcp.compute.RegionSecurityPolicy:
    """A regional Cloud Armor policy for the Gateway's backend: these ranges in, every other client refused (403)."""
    def rules(cidrs: list[str]) -> list[dict]:
        chunks = [cidrs[i:i + RANGES_PER_RULE] for i in range(0, len(cidrs), RANGES_PER_RULE)]
        return [{"action": "allow", "priority": 1000 + i, "description": "admitted clients and Route 53 health checkers",
                 "match": {"versioned_expr": "SRC_IPS_V1", "config": {"src_ip_ranges": chunk}}}
                for i, chunk in enumerate(chunks)] + [
            {"action": "deny(403)", "priority": DEFAULT_RULE, "description": "everyone else",
             "match": {"versioned_expr": "SRC_IPS_V1", "config": {"src_ip_ranges": ["*"]}}}]
    return gcp.compute.RegionSecurityPolicy(
        f"{name}-gateway-sources", name=f"{name}-gateway-sources", project=project, region=region,
        type="CLOUD_ARMOR", rules=pulumi.Output.from_input(sources).apply(rules), opts=opts)


def _field(record, key: str) -> str:
    """A record's field, whether the SDK handed it over as its output type or as a plain mapping."""
    return record[key] if isinstance(record, dict) and key in record else getattr(record, key)
