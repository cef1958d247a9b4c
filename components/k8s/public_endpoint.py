"""The gateway's public endpoint per cluster: a cloud load balancer whose name or address feeds failover DNS.

Where the cloud's profile terminates TLS at the load balancer (AWS: an NLB TLS listener with the ACM certificate),
the Service exposes that port only; a region whose failover pair includes a cloud that cannot terminate TLS yet
(GKE, until its Gateway API endpoint is built) serves plain HTTP on every cloud of the pair (FailoverPlan)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from sovereign.clouds import CloudProfile
from sovereign.domain.gateway import GATEWAY_PORT
from sovereign.domain.workloads import GATEWAY_NAMESPACE, GATEWAY_POD_LABELS

from ..dns.failover import PublicGateway, TlsCertificate


def gateway_load_balancer(name: str, cloud: CloudProfile, region: str, port: int,
                          certificate: TlsCertificate | None, opts: pulumi.ResourceOptions) -> PublicGateway:
    """`port`: the failover pair's one port (FailoverPlan.port); `certificate`: set where the pair serves TLS."""
    # A public L4 load balancer in front of a cluster's gateway pods; its name or address feeds DNS.
    annotations: dict[str, pulumi.Input[str]] = dict(cloud.lb_annotations)
    if certificate is not None:
        annotations |= {k: pulumi.Output.from_input(certificate.issued_arn).apply(lambda arn, v=v: v.format(
            certificate=arn)) for k, v in cloud.lb_tls_annotations}
    scheme = "https" if certificate is not None else "http"
    service = k8s.core.v1.Service(
        f"{name}-gateway-public",
        metadata={"name": "inference-gateway-public", "namespace": GATEWAY_NAMESPACE, "annotations": annotations},
        spec={"type": "LoadBalancer", "selector": dict(GATEWAY_POD_LABELS), "externalTrafficPolicy": "Local",
              "ports": [{"name": scheme, "port": port, "targetPort": GATEWAY_PORT, "protocol": "TCP"}]},
        opts=opts)
    return PublicGateway(service.status.apply(lambda status: getattr(status.load_balancer.ingress[0],
                                                                     cloud.lb_status_field)), region, cloud,
                         certificate)
