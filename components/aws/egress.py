"""`sovereign:aws:EgressFence`: the region's EgressPlan rendered on an EKS cluster and its VPC.

pod layer     — Cilium, the cluster's CNI (egress_cilium), enforces the shared NetworkPolicies (pod_fence: default deny,
                DNS, gateway → model servers) plus two CiliumNetworkPolicies: the gateway's pods may
                reach the allowed managed-API hosts on 443, the model servers the platform hosts (S3, STS).
network layer — Route 53 Resolver DNS Firewall (egress_dns) on the cluster's VPC, for every pod and node: BLOCK
                (NXDOMAIN) every denied provider's host, ALLOW the allowed hosts, BLOCK every other name; its
                evidence (evidence): VPC flow logs and resolver query logs; the S3 gateway endpoint's policy
                (egress_storage): the weight bucket and ECR's layers, no other bucket.
Hostnames come from the cluster's FenceHosts as they are; nothing is decided here.
"""

from __future__ import annotations

from typing import Optional

import pulumi

from sovereign.clouds import profile
from sovereign.domain.workloads import GATEWAY_NAMESPACE, GATEWAY_POD_LABELS, SERVING_NAMESPACE, SERVING_POD_LABELS
from ..egress_args import EgressFenceArgs, fence_hosts
from ..k8s.pod_fence import network_policies
from .egress_cilium import fqdn_policy
from .egress_dns import CATCH_ALL, dns_firewall
from .egress_storage import scoped_storage
from .evidence import vpc_evidence


class AwsEgressFence(pulumi.ComponentResource):
    def __init__(self, name: str, args: EgressFenceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:aws:EgressFence", name, None, opts)
        fence = args.fence
        in_cluster = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, deleted_with=args.cluster)
        in_namespaces = pulumi.ResourceOptions.merge(in_cluster, pulumi.ResourceOptions(
            depends_on=list(args.namespaces)))
        # Cilium (the cluster's CNI) enforces them and registers the CiliumNetworkPolicy CRD once its operator is up.
        after_cilium = pulumi.ResourceOptions.merge(in_namespaces, pulumi.ResourceOptions(
            depends_on=[args.enforcer] if args.enforcer else []))
        network_policies(name, profile(args.plan.cloud.cloud).elastic.scraper, after_cilium)
        gateway, allowed, denied = list(fence.gateway), list(fence.allowed), list(fence.denied)
        # No allowed host (a sovereign-only region): no FQDN policy, whose empty peer list would open 443 to
        # anywhere; the default deny keeps the gateway in.
        if gateway:
            fqdn_policy(f"{name}-gateway-fqdns", GATEWAY_NAMESPACE, "allow-managed-api-hosts", GATEWAY_POD_LABELS,
                        gateway, after_cilium)
        fqdn_policy(f"{name}-serving-fqdns", SERVING_NAMESPACE, "allow-platform-hosts", SERVING_POD_LABELS,
                    list(fence.serving), after_cilium)
        on_cloud = pulumi.ResourceOptions(parent=self, provider=args.provider)
        dns_firewall(name, allowed, denied, args.network_id, not args.released, on_cloud)
        if args.storage_endpoint is not None and args.weights_bucket is not None:
            scoped_storage(name, args.plan, args.storage_endpoint, args.weights_bucket, on_cloud)
        vpc_evidence(name, args.network_id, args.plan.log_retention_days, on_cloud)

        # The pod layer only allows (its default deny closes the rest); `*.x` is rendered `**.x` there.
        self.hosts = fence_hosts(fence, network={"denied": denied, "allowed": allowed, "catchAll": [CATCH_ALL]})
        self.register_outputs({"hosts": self.hosts})
