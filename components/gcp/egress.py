"""`sovereign:gcp:EgressFence` — the region's EgressPlan rendered on GKE and on the cluster's VPC network.

Pod layer: pod_fence's default deny, DNS and gateway → model server NetworkPolicies; an
FQDNNetworkPolicy for the gateway's pods (the allowed managed-API hosts) and one for the model servers
(the GCP platform hosts), plus the GKE metadata server for the model servers' Workload Identity.
Network layer: see egress_network — an allowlist for every pod and node of the network; its alarm on denials: evidence. Hosts come from the cluster's FenceHosts unchanged; `hosts` reports them as rendered.
"""

from __future__ import annotations

from typing import Optional

import pulumi

from sovereign.clouds import profile
from sovereign.domain.workloads import GATEWAY_NAMESPACE, GATEWAY_POD_LABELS, SERVING_NAMESPACE, SERVING_POD_LABELS
from ..egress_args import EgressFenceArgs, fence_hosts
from ..k8s.pod_fence import network_policies
from .egress_network import network_layer
from .egress_pod import fqdn_policy, metadata_server_policy
from .evidence import fence_alert


class GcpEgressFence(pulumi.ComponentResource):
    def __init__(self, name: str, args: EgressFenceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:gcp:EgressFence", name, None, opts)
        fence = args.fence
        in_cluster = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, deleted_with=args.cluster,
                                            depends_on=list(args.namespaces))
        # GKE installs the FQDNNetworkPolicy CRD once the cluster's flag is on: wait for that update too.
        fqdn = pulumi.ResourceOptions.merge(in_cluster, pulumi.ResourceOptions(depends_on=[args.cluster]))

        network_policies(name, profile(args.plan.cloud.cloud).elastic.scraper, in_cluster)
        metadata_server_policy(f"{name}-{SERVING_NAMESPACE}-metadata-server", SERVING_NAMESPACE, SERVING_POD_LABELS,
                               in_cluster)
        if fence.gateway_identity:  # Vertex as the gateway's own identity (Workload Identity)
            metadata_server_policy(f"{name}-{GATEWAY_NAMESPACE}-metadata-server", GATEWAY_NAMESPACE,
                                   GATEWAY_POD_LABELS, in_cluster)
        gateway_hosts, platform_hosts = list(fence.gateway), list(fence.serving)
        if gateway_hosts:  # the CRD needs at least one match; with none, the default deny is the answer
            fqdn_policy(f"{name}-gateway-fqdn", GATEWAY_NAMESPACE, "allow-managed-apis", GATEWAY_POD_LABELS,
                        gateway_hosts, fqdn)
        fqdn_policy(f"{name}-serving-fqdn", SERVING_NAMESPACE, "allow-platform-hosts", SERVING_POD_LABELS,
                    platform_hosts, fqdn)
        # After the cluster, which waits for the project's APIs: on a fresh project the Compute API is not
        # enabled before it (reality rule gcp-resources-wait-for-their-api).
        on_cloud = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[args.cluster])
        network = network_layer(name, args.plan, fence, args.network_id, on_cloud)
        fence_alert(name, args.plan, args.network_id, on_cloud)

        self.hosts = fence_hosts(fence, network)
        self.register_outputs({"hosts": self.hosts})
