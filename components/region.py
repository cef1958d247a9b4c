"""The region component: one stack's whole footprint, one explicit provider and cluster per cloud.

Everything comes decided (sovereign.domain.decisions); this component only composes each cloud's
components from its kit and wires their outputs into one another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from sovereign.domain.decisions import RegionDecisions
from sovereign.clouds import CloudProfile
from sovereign.domain.spec import CloudSpec
from sovereign.domain.topology import ClusterPlan

from .aws.certificate import aws_tls_endpoint
from .aws.cluster import AwsGpuCluster
from .aws.egress import AwsEgressFence
from .aws.image_store import AwsImageStore, ImageStoreArgs
from .aws.provider import aws_provider
from .aws.weights import AwsWeightCache, AwsWeightReader
from .cluster_args import GpuClusterArgs
from .contracts import EgressFence, GatewayIdentity, GpuCluster, WeightCache, WeightReader
from .dns.failover import FailoverDns, FailoverDnsArgs, PublicGateway
from .egress_args import EgressFenceArgs
from .gcp.cluster import GcpGpuCluster
from .gateway_identity_args import GatewayIdentityArgs
from .gcp.egress import GcpEgressFence
from .gcp.gateway_identity import GcpGatewayIdentity
from .gcp.public_endpoint import gke_tls_endpoint
from .gcp.scaler_identity import keda_identity
from .gcp.provider import gcp_provider
from .gcp.weights import GcpWeightCache, GcpWeightReader
from .k8s.alerts import ServingAlerts, ServingAlertsArgs
from .k8s.elastic_platform import ElasticPlatform, ElasticPlatformArgs
from .k8s.gateway import InferenceGateway, InferenceGatewayArgs
from .k8s.namespaces import namespaces
from .k8s.serving import ModelServing, ModelServingArgs
from .k8s.serving_key import ServingKey, ServingKeyArgs
from .weights_args import WeightCacheArgs, WeightReaderArgs

Opts = Optional[pulumi.ResourceOptions]


@dataclass(frozen=True)
class CloudKit:
    """One cloud's component constructors, as the region uses them."""
    provider: Callable[[str, CloudSpec, dict[str, str], pulumi.Resource], pulumi.ProviderResource]
    cluster: Callable[[str, GpuClusterArgs, Opts], GpuCluster]
    fence: Callable[[str, EgressFenceArgs, Opts], EgressFence]
    cache: Callable[[str, WeightCacheArgs, Opts], WeightCache]
    reader: Callable[[str, WeightReaderArgs, Opts], WeightReader]
    # The gateway's own workload identity, where the cloud's profile routes managed APIs through one.
    gateway_identity: Optional[Callable[[str, GatewayIdentityArgs, Opts], GatewayIdentity]] = None
    # KEDA's cloud identity, as the KEDA chart's values, where the profile's Prometheus API needs one:
    # (name, project, cluster, provider, parent).
    scaler_identity: Optional[Callable[[str, str, pulumi.Resource, pulumi.ProviderResource, pulumi.Resource],
                                       dict]] = None
    # The public gateway endpoint: TLS only, for these names.
    tls_endpoint: Optional[Callable[[str, ClusterPlan, CloudProfile, Sequence[str], pulumi.ProviderResource,
                                     pulumi.Resource, Opts, Optional[pulumi.Input[list[str]]]], PublicGateway]] = None
    # The image repositories the stack fills itself, where its mirrors do not pull through (AWS China, or by choice).
    image_store: Optional[Callable[[str, ImageStoreArgs, Opts], pulumi.ComponentResource]] = None


KITS: Mapping[str, CloudKit] = {
    "aws": CloudKit(aws_provider, AwsGpuCluster, AwsEgressFence, AwsWeightCache, AwsWeightReader,
                    tls_endpoint=aws_tls_endpoint, image_store=AwsImageStore),
    "gcp": CloudKit(gcp_provider, GcpGpuCluster, GcpEgressFence, GcpWeightCache, GcpWeightReader,
                    GcpGatewayIdentity, keda_identity, gke_tls_endpoint),
}


@dataclass(frozen=True)
class RegionArgs:
    decisions: RegionDecisions
    # `sovereign:apiKeys` as a secret Output (provider → key), for the gateways' Secrets; None without keys.
    api_keys: Optional[pulumi.Output] = None


class Region(pulumi.ComponentResource):
    """`sovereign:index:Region` — composes the region's per-cloud footprint on explicit providers."""

    def __init__(self, name: str, args: RegionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:index:Region", name, None, opts)
        decided = args.decisions
        self.providers: dict[str, pulumi.ProviderResource] = {}
        self.clusters: dict[str, GpuCluster] = {}
        self.fences: dict[str, EgressFence] = {}
        self.caches: dict[str, WeightCache] = {}
        stored: dict[str, tuple[pulumi.Resource, ...]] = {}
        self.serving: dict[str, ModelServing] = {}
        self.gateways: dict[str, InferenceGateway] = {}
        public: dict[str, PublicGateway] = {}
        region = decided.spec.name
        # Explicit, as every provider of the stack (pulumi:disable-default-providers).
        random_provider = random.Provider(f"{region}-random", opts=pulumi.ResourceOptions(parent=self))
        # Stateful and cluster-independent: every cloud's weights survive a drill that tears it down.
        for stateful in decided.stateful:
            cloud, kit = stateful.cloud.cloud, KITS[stateful.cloud.cloud]
            provider = self.providers[cloud] = kit.provider(f"{region}-{cloud}", stateful.cloud,
                                                           dict(stateful.labels), self)
            self.caches[cloud] = kit.cache(f"{region}-{cloud}", WeightCacheArgs(
                cloud=stateful.cloud, labels=stateful.labels, provider=provider,
                log_retention_days=decided.spec.log_retention_days),
                pulumi.ResourceOptions(parent=self, providers=[provider]))
            if kit.image_store and any(not m.pulls_through for m in stateful.images.mirrors):
                store = kit.image_store(f"{region}-{cloud}", ImageStoreArgs(images=stateful.images, provider=provider),
                                        pulumi.ResourceOptions(parent=self))
                stored[cloud] = tuple(store.repositories)
        dns, sources = None, None
        if decided.failover.domain:
            # Route 53 is global; its own explicit provider keeps DNS independent of any one region.
            # Pinned to the stack's AWS account as the regional provider is (reality rule
            # route53-provider-pinned-to-the-account).
            account = next((c.cloud.account_id for c in decided.stateful if c.cloud.account_id), None)
            dns = aws.Provider(f"{region}-dns", region="us-east-1",
                               allowed_account_ids=[account] if account else None,
                               opts=pulumi.ResourceOptions(parent=self))
            if decided.failover.source_ranges:
                # Route 53's health checkers must reach the endpoints too: their ranges as AWS publishes them.
                checkers = aws.get_ip_ranges_output(
                    services=["route53_healthchecks"], opts=pulumi.InvokeOutputOptions(provider=dns)).cidr_blocks
                sources = checkers.apply(lambda found: sorted({*decided.failover.source_ranges, *found}))
        for decision in decided.clusters:
            plan, cloud, kit = decision.plan, decision.cloud, KITS[decision.cloud]
            provider, cache = self.providers[cloud], self.caches[cloud]
            on_cloud = pulumi.ResourceOptions(parent=self, providers=[provider])
            cluster = self.clusters[cloud] = kit.cluster(
                plan.name, GpuClusterArgs(plan=plan, provider=provider, images=decision.images,
                                          stored_images=stored.get(cloud, ()), released=decision.released), on_cloud)
            spaces = namespaces(plan.name, pulumi.ResourceOptions(
                parent=self, provider=cluster.k8s_provider, deleted_with=cluster.cluster))
            fence = self.fences[cloud] = kit.fence(
                plan.name, EgressFenceArgs(fence=decision.fence, plan=plan, provider=provider,
                                           k8s_provider=cluster.k8s_provider, network_id=cluster.network_id,
                                           cluster=cluster.cluster, namespaces=list(spaces.values()),
                                           enforcer=cluster.policy_enforcer, weights_bucket=cache.bucket_name,
                                           storage_endpoint=cluster.storage_endpoint, released=decision.released),
                pulumi.ResourceOptions(parent=self))
            reader = kit.reader(plan.name, WeightReaderArgs(
                plan=plan, provider=provider, cache=cache, cluster=cluster,
                service_accounts=tuple(r.name for r in decision.releases)), on_cloud)
            key = ServingKey(plan.name, ServingKeyArgs(
                random_provider=random_provider, k8s_provider=cluster.k8s_provider, cluster=cluster.cluster),
                pulumi.ResourceOptions(parent=self, depends_on=list(spaces.values())))
            # KEDA and, where the cloud has no managed collector, the metrics pipeline: the CRDs of the releases'
            # ScaledObjects and scrape objects, and of the alerting rules.
            elastic = ElasticPlatform(plan.name, ElasticPlatformArgs(
                elastic=decision.profile.elastic, images=decision.images, image_registry=cluster.image_registry,
                k8s_provider=cluster.k8s_provider, cluster=cluster.cluster,
                keda_identity=kit.scaler_identity(plan.name, plan.cloud.project, cluster.cluster, provider, self)
                if kit.scaler_identity else {}), pulumi.ResourceOptions(parent=self))
            self.serving[cloud] = ModelServing(plan.name, ModelServingArgs(
                releases=decision.releases, k8s_provider=cluster.k8s_provider, cluster=cluster.cluster,
                weights_uri=cache.uri, service_account_values=reader.service_account_values,
                weights_values=reader.weights_values, images=decision.images, image_registry=cluster.image_registry,
                # The fence's policies exist before any model server or gateway pod starts.
                after=(*spaces.values(), fence, key, *elastic.crds)), pulumi.ResourceOptions(parent=self))
            ServingAlerts(plan.name, ServingAlertsArgs(rules=decision.alerts, k8s_provider=cluster.k8s_provider,
                                                       cluster=cluster.cluster,
                                                       after=[*spaces.values(), *elastic.crds]),
                          pulumi.ResourceOptions(parent=self))
            annotations = {}
            if decision.gateway.identity:
                annotations = kit.gateway_identity(plan.name, GatewayIdentityArgs(
                    plan=plan, providers=decision.gateway.identity, provider=provider, cluster=cluster),
                    pulumi.ResourceOptions(parent=self)).annotations
            # The region's one endpoint per cluster: open weights here, managed APIs where the verdicts allow.
            self.gateways[cloud] = InferenceGateway(plan.name, InferenceGatewayArgs(
                config=decision.gateway, k8s_provider=cluster.k8s_provider,
                cluster=cluster.cluster, api_keys=args.api_keys,
                image=cluster.image_registry.apply(decision.images.refs["litellm"].reference),
                account_annotations=annotations, scrape=decision.profile.elastic.scrape,
                scraper_account=decision.profile.elastic.scraper_account,
                after=[*spaces.values(), *elastic.crds]),
                pulumi.ResourceOptions(parent=self, depends_on=[*spaces.values(), fence, key]))
            if decision.public:
                # Not deleted with the cluster: the load balancer the cloud made for it must go first, or the
                # certificate (and on GKE the address) it uses cannot be deleted.
                on_k8s = pulumi.ResourceOptions(parent=self, provider=cluster.k8s_provider,
                                                depends_on=list(spaces.values()))
                public[cloud] = kit.tls_endpoint(plan.name, plan, decision.profile, decided.failover.tls_names,
                                                 provider, cluster.cluster, on_k8s, sources)
        if decided.failover.domain:
            self.failover = FailoverDns(region, FailoverDnsArgs(
                plan=decided.failover, gateways=public, global_zone_id=decided.spec.dr.global_zone_id,
                provider=dns), pulumi.ResourceOptions(parent=self))
        self.register_outputs({
            "clouds": {c.cloud: c.plan.cloud.region.name for c in decided.clusters},
            "reachableProviders": [v.provider for v in decided.verdicts if v.reachable],
        })
