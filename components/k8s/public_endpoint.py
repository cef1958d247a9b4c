"""The gateway's public endpoint per cluster: a cloud load balancer whose name or address feeds failover DNS."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from sovereign.clouds import CloudProfile
from sovereign.domain.gateway import GATEWAY_PORT
from sovereign.domain.workloads import GATEWAY_NAMESPACE, GATEWAY_POD_LABELS

from ..dns.failover import HTTP, PublicGateway


def gateway_load_balancer(name: str, cloud: CloudProfile, region: str, opts: pulumi.ResourceOptions) -> PublicGateway:
    """A public L4 load balancer in front of a cluster's gateway pods; its name or address feeds DNS."""
    service = k8s.core.v1.Service(
        f"{name}-gateway-public",
        metadata={"name": "inference-gateway-public", "namespace": GATEWAY_NAMESPACE,
                  "annotations": dict(cloud.lb_annotations)},
        spec={"type": "LoadBalancer", "selector": dict(GATEWAY_POD_LABELS), "externalTrafficPolicy": "Local",
              "ports": [{"name": "http", "port": HTTP, "targetPort": GATEWAY_PORT, "protocol": "TCP"}]},
        opts=opts)
    return PublicGateway(service.status.apply(lambda status: getattr(status.load_balancer.ingress[0],
                                                                     cloud.lb_status_field)), region, cloud)
