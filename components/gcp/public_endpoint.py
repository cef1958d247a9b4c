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
from sovereign.domain.gateway import GATEWAY_NAME, GATEWAY_PORT
from sovereign.domain.topology import ClusterPlan
from sovereign.domain.workloads import GATEWAY_NAMESPACE

from ..dns.failover import PublicGateway, TlsCertificate

GATEWAY_CLASS = "gke-l7-regional-external-managed"
CERTIFICATE_OPTION = "networking.gke.io/cert-manager-certs"   # a listener's Certificate Manager certificates
API = "certificatemanager.googleapis.com"


def gke_tls_endpoint(name: str, plan: ClusterPlan, profile: CloudProfile, names: Sequence[str],
                     provider: pulumi.ProviderResource, k8s_opts: pulumi.ResourceOptions) -> PublicGateway:
    """`k8s_opts`: the cluster's Kubernetes provider, parent and deletion, as the other public endpoints take."""
    project, region = plan.cloud.project, plan.cloud.region.name
    # After the cluster, which waits for the project's APIs (Compute's for the address).
    on_gcp = pulumi.ResourceOptions(parent=k8s_opts.parent, provider=provider, depends_on=[k8s_opts.deleted_with])
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
    gateway = k8s.apiextensions.CustomResource(
        f"{name}-gateway-public", api_version="gateway.networking.k8s.io/v1", kind="Gateway",
        metadata={"name": "inference-gateway-public", "namespace": GATEWAY_NAMESPACE},
        spec={"gatewayClassName": GATEWAY_CLASS,
              "addresses": [{"type": "NamedAddress", "value": address.name}],
              "listeners": [{"name": "https", "protocol": "HTTPS", "port": 443,
                             "tls": {"mode": "Terminate", "options": {CERTIFICATE_OPTION: certificate.name}}}]},
        opts=k8s_opts)
    k8s.apiextensions.CustomResource(
        f"{name}-gateway-route", api_version="gateway.networking.k8s.io/v1", kind="HTTPRoute",
        metadata={"name": "inference-gateway-public", "namespace": GATEWAY_NAMESPACE},
        spec={"parentRefs": [{"name": "inference-gateway-public"}],
              "rules": [{"backendRefs": [{"name": GATEWAY_NAME, "port": GATEWAY_PORT}]}]},
        opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[gateway])))
    return PublicGateway(address.address, region, profile,
                         TlsCertificate(tuple(names), validation, certificate.name))


def _field(record, key: str) -> str:
    """A record's field, whether the SDK handed it over as its output type or as a plain mapping."""
    return record[key] if isinstance(record, dict) and key in record else getattr(record, key)
