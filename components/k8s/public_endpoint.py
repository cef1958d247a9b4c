"""The gateway's public endpoint per cluster: a cloud load balancer whose name or address feeds failover DNS."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from sovereign.domain.workloads import GATEWAY_NAMESPACE, GATEWAY_POD_LABELS

from ..dns.failover import HTTP, LB_ANNOTATIONS, RECORD_TYPE


def gateway_load_balancer(name: str, cloud: str, target_port: int, opts: pulumi.ResourceOptions) -> pulumi.Output:
    """A public L4 load balancer in front of a cluster's gateway pods; its name or address feeds DNS."""
    service = k8s.core.v1.Service(
        f"{name}-gateway-public",
        metadata={"name": "inference-gateway-public", "namespace": GATEWAY_NAMESPACE,
                  "annotations": LB_ANNOTATIONS[cloud]},
        spec={"type": "LoadBalancer", "selector": dict(GATEWAY_POD_LABELS), "externalTrafficPolicy": "Local",
              "ports": [{"name": "http", "port": HTTP, "targetPort": target_port, "protocol": "TCP"}]},
        opts=opts)
    field = "hostname" if RECORD_TYPE[cloud] == "CNAME" else "ip"
    return service.status.apply(lambda status: getattr(status.load_balancer.ingress[0], field))
