"""The region component: one stack's whole footprint, one explicit provider and cluster per cloud."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from ..domain.decisions import RegionDecisions
from .aws.cluster import AwsGpuCluster
from .cluster_args import GpuClusterArgs
from .gcp.cluster import GcpGpuCluster
from .providers import aws_provider, gcp_provider

_CLUSTERS = {"aws": (aws_provider, AwsGpuCluster), "gcp": (gcp_provider, GcpGpuCluster)}


@dataclass(frozen=True)
class RegionArgs:
    decisions: RegionDecisions


class Region(pulumi.ComponentResource):
    """`sovereign:index:Region` — composes the region's per-cloud footprint on explicit providers."""

    def __init__(self, name: str, args: RegionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:index:Region", name, None, opts)
        decided = args.decisions
        self.providers: dict[str, pulumi.ProviderResource] = {}
        self.clusters: dict[str, pulumi.ComponentResource] = {}
        for plan in decided.clusters:
            cloud = plan.cloud.cloud
            make_provider, cluster_type = _CLUSTERS[cloud]
            self.providers[cloud] = make_provider(f"{plan.name}", plan.cloud, dict(plan.labels), self)
            self.clusters[cloud] = cluster_type(
                plan.name, GpuClusterArgs(plan=plan, provider=self.providers[cloud]),
                opts=pulumi.ResourceOptions(parent=self, providers=[self.providers[cloud]]))
        self.register_outputs({
            "clouds": {p.cloud.cloud: p.cloud.region.name for p in decided.clusters},
            "reachableProviders": [v.provider for v in decided.verdicts if v.reachable],
        })
