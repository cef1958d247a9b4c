"""Cluster API endpoints are not public without explicit CIDRs.

EKS: the API endpoint is public unless `vpcConfig.endpointPublicAccess` is false (AWS's default is true, with
`publicAccessCidrs` 0.0.0.0/0). A public endpoint needs publicAccessCidrs, none of them open to everyone.
GKE: the control plane has a public endpoint unless `privateClusterConfig.enablePrivateEndpoint` is true or
`controlPlaneEndpointsConfig.ipEndpointsConfig` turns the public IP endpoint off. A public endpoint needs
`masterAuthorizedNetworksConfig.cidrBlocks`, none open to everyone, and no `gcpPublicCidrsAccessEnabled`
(which admits every Google Cloud address).
"Open to everyone" is a CIDR shorter than /8 (IPv4) or /16 (IPv6): 0.0.0.0/0, ::/0 and their halves.
"""

from __future__ import annotations

import ipaddress
from typing import Iterator

from .base import resource_policy
from .props import as_dict, as_list, dig, known

EKS, GKE = "aws:eks/cluster:Cluster", "gcp:container/cluster:Cluster"


def _too_wide(cidr: object) -> bool:
    try:
        network = ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        return True  # not a CIDR at all: cannot be shown to be narrow
    return network.prefixlen < (8 if network.version == 4 else 16)


def _check(resource_type: str, props: dict, args) -> Iterator[str]:
    if resource_type == EKS:
        vpc = as_dict(props.get("vpcConfig"))
        if known(vpc.get("endpointPublicAccess")) is False:
            return
        cidrs = as_list(known(vpc.get("publicAccessCidrs")))
        if not cidrs:
            yield (f"EKS cluster {args.name}: the API endpoint is public (endpointPublicAccess is not false) and "
                   "publicAccessCidrs is empty, which AWS reads as 0.0.0.0/0. Set endpointPublicAccess false, "
                   "or list the operators' CIDRs (sovereign:clouds.aws.apiAccessCidrs)")
        for cidr in cidrs:
            if _too_wide(known(cidr)):
                yield f"EKS cluster {args.name}: publicAccessCidrs {cidr} opens the API endpoint to everyone"
        return
    private = dig(props, "privateClusterConfig", "enablePrivateEndpoint")
    ip_endpoints = as_dict(dig(props, "controlPlaneEndpointsConfig", "ipEndpointsConfig"))
    if known(private) is True or ip_endpoints.get("enabled") is False \
            or ip_endpoints.get("enablePublicEndpoint") is False:
        return
    networks = as_dict(props.get("masterAuthorizedNetworksConfig"))
    blocks = as_list(known(networks.get("cidrBlocks"))) if networks else []
    if not networks or not blocks:
        yield (f"GKE cluster {args.name}: the control plane has a public endpoint and no master authorized "
               "networks, so any address may reach it. Set privateClusterConfig.enablePrivateEndpoint, or list "
               "the operators' CIDRs (sovereign:clouds.gcp.apiAccessCidrs)")
    for block in blocks:
        cidr = known(as_dict(block).get("cidrBlock"))
        if _too_wide(cidr):
            yield f"GKE cluster {args.name}: master authorized network {cidr} opens the endpoint to everyone"
    if networks.get("gcpPublicCidrsAccessEnabled") is True:
        yield f"GKE cluster {args.name}: gcpPublicCidrsAccessEnabled admits every Google Cloud public address"


cluster_endpoints = resource_policy(
    "cluster-endpoints-not-public",
    "EKS and GKE API endpoints are private, or public only for explicit, narrow CIDRs.",
    (EKS, GKE), _check)

POLICIES = [cluster_endpoints]
