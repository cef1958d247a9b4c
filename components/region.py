"""The region component: one stack's whole footprint, one explicit provider and cluster per cloud."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from sovereign.catalog import Catalog
from sovereign.domain.decisions import RegionDecisions
from sovereign.domain.gateway import GATEWAY_PORT, gateway_config
from sovereign.domain.topology import cloud_labels
from sovereign.domain.serving import releases
from .aws.cluster import AwsGpuCluster
from .aws.egress import AwsEgressFence
from .aws.provider import aws_provider
from .aws.weights import AwsWeightCache, AwsWeightReader
from .cluster_args import GpuClusterArgs
from .egress_args import EgressFenceArgs
from .dns.failover import FailoverDns, FailoverDnsArgs
from .k8s.public_endpoint import gateway_load_balancer
from .k8s.gateway import InferenceGateway, InferenceGatewayArgs
from .gcp.cluster import GcpGpuCluster
from .gcp.egress import GcpEgressFence
from .gcp.provider import gcp_provider
from .gcp.weights import GcpWeightCache, GcpWeightReader
from .k8s.namespaces import namespaces
from .k8s.serving import ModelServing, ModelServingArgs
from .weights_args import WeightCacheArgs, WeightReaderArgs


@dataclass(frozen=True)
class _Cloud:
    provider: object
    cluster: type
    fence: type
    cache: type
    reader: type


_CLOUD = {"aws": _Cloud(aws_provider, AwsGpuCluster, AwsEgressFence, AwsWeightCache, AwsWeightReader),
          "gcp": _Cloud(gcp_provider, GcpGpuCluster, GcpEgressFence, GcpWeightCache, GcpWeightReader)}


@dataclass(frozen=True)
class RegionArgs:
    decisions: RegionDecisions
    catalog: Catalog
    # `sovereign:apiKeys` as a secret Output (provider → key), for the gateways' Secrets; None without keys.
    api_keys: Optional[pulumi.Output] = None


class Region(pulumi.ComponentResource):
    """`sovereign:index:Region` — composes the region's per-cloud footprint on explicit providers."""

    def __init__(self, name: str, args: RegionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:index:Region", name, None, opts)
        decided = args.decisions
        self.providers: dict[str, pulumi.ProviderResource] = {}
        self.clusters: dict[str, pulumi.ComponentResource] = {}
        self.fences: dict[str, pulumi.ComponentResource] = {}
        self.caches: dict[str, pulumi.ComponentResource] = {}
        self.serving: dict[str, ModelServing] = {}
        self.gateways: dict[str, InferenceGateway] = {}
        public: dict[str, pulumi.Output] = {}
        spec = decided.spec
        # Stateful and cluster-independent: every cloud's weights survive a drill that tears it down.
        for cloud_spec in decided.stateful_clouds:
            cloud, kinds, labels = cloud_spec.cloud, _CLOUD[cloud_spec.cloud], cloud_labels(spec, cloud_spec)
            provider = self.providers[cloud] = kinds.provider(f"{spec.name}-{cloud}", cloud_spec, labels, self)
            self.caches[cloud] = kinds.cache(f"{spec.name}-{cloud}", WeightCacheArgs(
                cloud=cloud_spec, labels=labels, provider=provider), pulumi.ResourceOptions(parent=self,
                                                                                             providers=[provider]))
        for plan in decided.clusters:
            cloud, kinds = plan.cloud.cloud, _CLOUD[plan.cloud.cloud]
            provider, cache = self.providers[cloud], self.caches[cloud]
            on_cloud = pulumi.ResourceOptions(parent=self, providers=[provider])
            cluster = self.clusters[cloud] = kinds.cluster(plan.name, GpuClusterArgs(plan=plan, provider=provider),
                                                           on_cloud)
            spaces = namespaces(plan.name, pulumi.ResourceOptions(
                parent=self, provider=cluster.k8s_provider, deleted_with=cluster.cluster))
            fence = self.fences[cloud] = kinds.fence(
                plan.name, EgressFenceArgs(egress=decided.egress, plan=plan, provider=provider,
                                           k8s_provider=cluster.k8s_provider, network_id=cluster.network_id,
                                           cluster=cluster.cluster, namespaces=list(spaces.values())),
                pulumi.ResourceOptions(parent=self))
            models = releases(plan, decided.spec.models, decided.fits, args.catalog)
            reader = kinds.reader(plan.name, WeightReaderArgs(
                plan=plan, provider=provider, cache=cache, cluster=cluster,
                service_accounts=tuple(r.name for r in models)), on_cloud)
            self.serving[cloud] = ModelServing(plan.name, ModelServingArgs(
                releases=models, k8s_provider=cluster.k8s_provider, cluster=cluster.cluster,
                weights_uri=cache.uri, service_account_values=reader.service_account_values,
                weights_values=reader.weights_values),
                # Pods started before the fence's enforcer (Cilium) would run unfenced until restarted.
                pulumi.ResourceOptions(parent=self, depends_on=[*spaces.values(), fence]))
            # The region's one endpoint per cluster: open weights here, managed APIs where the verdicts allow.
            self.gateways[cloud] = InferenceGateway(plan.name, InferenceGatewayArgs(
                config=gateway_config(decided, plan, args.catalog), k8s_provider=cluster.k8s_provider,
                cluster=cluster.cluster, api_keys=args.api_keys),
                pulumi.ResourceOptions(parent=self, depends_on=[*spaces.values(), fence]))
            if decided.failover.domain:
                public[cloud] = gateway_load_balancer(plan.name, cloud, GATEWAY_PORT, pulumi.ResourceOptions(
                    parent=self, provider=cluster.k8s_provider, deleted_with=cluster.cluster,
                    depends_on=list(spaces.values())))
        if decided.failover.domain:
            # Route 53 is global; its own explicit provider keeps DNS independent of any one region.
            dns = aws.Provider(f"{spec.name}-dns", region="us-east-1", opts=pulumi.ResourceOptions(parent=self))
            self.failover = FailoverDns(spec.name, FailoverDnsArgs(
                plan=decided.failover, gateways=public, global_zone_id=spec.dr.global_zone_id, provider=dns),
                pulumi.ResourceOptions(parent=self))
        self.register_outputs({
            "clouds": {p.cloud.cloud: p.cloud.region.name for p in decided.clusters},
            "reachableProviders": [v.provider for v in decided.verdicts if v.reachable],
        })
