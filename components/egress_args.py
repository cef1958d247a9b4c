"""Inputs of the egress-fence components. AWS and GCP take the same Args.

Each fence renders its cluster's FenceHosts (decided once in the domain layer) at two layers:
  pod layer     — default-deny egress in the serving and gateway namespaces, DNS and the in-cluster
                  traffic the workloads need, the platform hosts for the serving pods' weight prefetch,
                  and the allowed managed-API hosts on 443 for the gateway's pods only, through the FQDN
                  policy kind the cloud enforces;
  network layer — for every pod and node of the VPC / VPC network, first match wins: every denied host
                  blocked, the allowed hosts (verdicts', platform and node hosts) let through, the rest blocked.
Outputs (same names on both clouds):
  hosts   dict[str, dict[str, list[str]]]  as rendered, lists in the order the layer evaluates them:
          pod     → {"allowed": the gateway's hosts, "serving": the model servers' hosts, "denied": []}
          network → {"denied": [...], "allowed": [...], "catchAll": ["*"]}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi

from sovereign.domain.decisions import FenceHosts
from sovereign.domain.topology import ClusterPlan


@dataclass(frozen=True)
class EgressFenceArgs:
    fence: FenceHosts
    plan: ClusterPlan
    provider: pulumi.ProviderResource       # the cloud's explicit provider
    k8s_provider: pulumi.ProviderResource   # the cluster's kubernetes provider
    network_id: pulumi.Input[str]           # VPC id / VPC network self link
    cluster: pulumi.Resource                # pod-layer objects are deleted with it
    namespaces: Sequence[pulumi.Resource]   # the fenced namespaces; policies are created after them
    # The cluster's policy enforcer, which also registers the policy kinds it reads (Cilium's CRDs): policies
    # are created after it. None where the dataplane enforces from the start.
    enforcer: pulumi.Resource | None = None
    # A drill's downed cluster in its release phase: no protection that would refuse the teardown's deletes.
    released: bool = False
    # The stack's weight bucket and the cluster's storage endpoint: the object store lets the network reach that
    # bucket (and what the cloud's own images need), no other. No endpoint: the cloud offers no such scope.
    weights_bucket: pulumi.Input[str] | None = None
    storage_endpoint: pulumi.Input[str] | None = None


def fence_hosts(fence: FenceHosts, network: dict[str, list[str]]) -> dict[str, dict[str, list[str]]]:
    """The `hosts` output: the pod layer only allows (its default deny closes the rest), the network layer as rendered."""
    return {"pod": {"allowed": list(fence.gateway), "serving": list(fence.serving), "denied": []}, "network": network}
