"""The gateway's public endpoint as a Service of type LoadBalancer whose TLS listener (the cloud profile's
annotations: an NLB TLS listener with the ACM certificate on EKS) is its only port; its name feeds failover DNS.
GKE's public endpoint is a Gateway instead (components/gcp/public_endpoint.py): its L4 load balancer cannot
terminate TLS."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from sovereign.clouds import CloudProfile
from sovereign.domain.failover import HTTPS_PORT
from sovereign.domain.gateway import GATEWAY_PORT
from sovereign.domain.workloads import GATEWAY_NAMESPACE, GATEWAY_POD_LABELS

from ..dns.failover import PublicGateway, TlsCertificate


def gateway_load_balancer(name: str, cloud: CloudProfile, region: str, certificate: TlsCertificate,
                          opts: pulumi.ResourceOptions, sources: pulumi.Input[list[str]] | None = None) -> PublicGateway:
    """`sources`: the only client ranges admitted — loadBalancerSourceRanges, which the cloud provider turns into the
    nodes' security group rules (the NLB keeps client addresses: externalTrafficPolicy Local); None: anyone."""
    annotations: dict[str, pulumi.Input[str]] = {**dict(cloud.lb_annotations), **{
        k: pulumi.Output.from_input(certificate.issued_arn).apply(lambda arn, v=v: v.format(certificate=arn))
        for k, v in cloud.lb_tls_annotations}}
    service = k8s.core.v1.Service(
        f"{name}-gateway-public",
        metadata={"name": "inference-gateway-public", "namespace": GATEWAY_NAMESPACE, "annotations": annotations},
        spec={"type": "LoadBalancer", "selector": dict(GATEWAY_POD_LABELS), "externalTrafficPolicy": "Local",
              "ports": [{"name": "https", "port": HTTPS_PORT, "targetPort": GATEWAY_PORT, "protocol": "TCP"}],
              **({"loadBalancerSourceRanges": sources} if sources is not None else {})},
        opts=opts)
    return PublicGateway(service.status.apply(lambda status: getattr(status.load_balancer.ingress[0],
                                                                     cloud.lb_status_field)), region, cloud,
                         certificate)
