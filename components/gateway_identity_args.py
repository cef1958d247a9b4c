"""Inputs of the gateway-identity components: the gateway's own cloud identity, for the managed APIs the cloud's
profile routes through it instead of a key (Vertex on GKE). Output (every cloud that has one):
  annotations  dict[str, Input[str]]  what the gateway's Kubernetes service account carries to act as it
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from sovereign.domain.topology import ClusterPlan

from .contracts import GpuCluster


@dataclass(frozen=True)
class GatewayIdentityArgs:
    plan: ClusterPlan
    providers: tuple[str, ...]            # the managed APIs the gateway reaches as this identity
    provider: pulumi.ProviderResource     # the cloud's explicit provider
    cluster: GpuCluster                   # its workload-identity pool must exist first
