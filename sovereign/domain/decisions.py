"""Everything decided about a region before any resource exists, one decision per cluster.

The program, the offline engine, the CLI and the policy pack take these from here, so each decision is
made once; the components only translate them into resources (they import no catalog and decide nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

from ..catalog import Catalog
from ..clouds import CloudProfile, profile
from .alerts import AlertRules, alert_rules
from .egress import EgressPlan, egress_plan
from .elastic import ModelScaling, scaling
from .failover import FailoverPlan, drilled, failover_plan
from .gateway import GatewayConfig, gateway_config
from .images import ClusterImages, cluster_images
from .policy import Policy
from .serving import Release, releases
from .sizing import Fit, size_region
from .spec import CloudSpec, RegionSpec
from .topology import ClusterPlan, cloud_labels, plan_clusters
from .verdict import Verdict, evaluate_region


@dataclass(frozen=True)
class FenceHosts:
    """The hosts every layer of one cluster's egress fence renders, as the region's EgressPlan decided them.

    Pod layer:     `gateway` — what the gateway's pods may reach on 443 (the reachable verdicts' hosts);
                   `serving` — what the model servers may reach (their cloud's platform hosts).
    Network layer, for every pod and node, first match wins: `denied` — every name of every denied provider
                   (`*.x` = any name below x), blocked; `allowed` — the gateway's hosts, the platform hosts and
                   the cloud's node hosts, let through; everything else blocked.
    """
    gateway: tuple[str, ...]
    serving: tuple[str, ...]
    allowed: tuple[str, ...]
    denied: tuple[str, ...]
    gateway_identity: bool = False      # the gateway's pods act as a cloud identity (its token from the node)


@dataclass(frozen=True)
class ClusterDecision:
    """One cluster of the region (region × cloud): its shape, what it serves, routes and lets out."""
    plan: ClusterPlan
    profile: CloudProfile
    fits: tuple[Fit, ...]
    releases: tuple[Release, ...]       # one model-server chart release per model, values decided
    gateway: GatewayConfig
    fence: FenceHosts
    public: bool                        # the gateway gets a public load balancer for failover DNS
    images: ClusterImages               # its registry mirrors and where it pulls each image
    scaling: tuple[ModelScaling, ...]   # how each model's replicas and nodes follow its queue
    alerts: AlertRules                  # the serving alerts, as the kind its rule evaluator reads
    # A drill's downed cloud in the release phase: still running, but nothing a controller made outside Pulumi
    # (load balancers, Karpenter's nodes) and no protection that would refuse the teardown's deletes.
    released: bool = False

    @property
    def cloud(self) -> str:
        return self.plan.cloud.cloud


@dataclass(frozen=True)
class StatefulCloud:
    """A cloud's stateful resources (the weight cache; the image repositories a stack fills itself): kept even while
    a drill tears its cluster down."""
    cloud: CloudSpec
    labels: Mapping[str, str]
    images: ClusterImages       # the cloud's mirrors, as its cluster pulls through them


@dataclass(frozen=True)
class RegionDecisions:
    spec: RegionSpec
    verdicts: tuple[Verdict, ...]
    fits: tuple[Fit, ...]
    clusters: tuple[ClusterDecision, ...]   # the serving clusters (a drill: its survivors, and in its release phase
                                            # the downed cloud's cluster, released)
    egress: EgressPlan
    failover: FailoverPlan
    stateful: tuple[StatefulCloud, ...]     # every cloud of the stack, torn down or not: weights stay

    def cluster(self, cloud: str) -> ClusterDecision | None:
        return next((c for c in self.clusters if c.cloud == cloud), None)

    def fits_for(self, cloud: str) -> tuple[Fit, ...]:
        return tuple(f for f in self.fits if f.cloud == cloud)


def decide_region(spec: RegionSpec, policy: Policy, catalog: Catalog) -> RegionDecisions:
    """Raises InvalidInput (e.g. a model that fits no GPU the region offers, a drill below capacity)
    before anything is built. Under a drill the decisions are the drilled region's: survivors only."""
    verdicts = evaluate_region(spec, policy, catalog)
    failover = failover_plan(spec, policy)
    serving = drilled(spec)  # a drill serves from the survivors at drill capacity
    # In a drill's release phase the downed cloud is still there, as it normally runs, but released: no public
    # endpoint or Karpenter pools (what its controllers made outside Pulumi goes first), its protections lifted.
    released = replace(spec, clouds=tuple(c for c in spec.clouds if c.cloud == spec.drill), drill=None) \
        if spec.drill_phase == "release" else None
    built = serving.clouds + (released.clouds if released else ())
    # Machine types are the region's own (sized for its normal replicas): a drill adds nodes, never replaces pools.
    fits = tuple(f for f in size_region(spec, catalog) if f.cloud in {c.cloud for c in built})
    egress = egress_plan(verdicts, built, policy.file)
    # Where each cloud pulls its images: decided once, for its cluster and for the repositories that outlive it.
    images = {c.cloud: cluster_images(spec.name, c, profile(c.cloud)) for c in spec.clouds}

    def decide(region: RegionSpec, plan: ClusterPlan, release: bool) -> ClusterDecision:
        return ClusterDecision(
            plan=plan, profile=profile(plan.cloud.cloud), fits=tuple(f for f in fits if f.cloud == plan.cloud.cloud),
            releases=releases(plan, region.models, fits, catalog),
            gateway=(gateway := gateway_config(region, verdicts, plan, catalog)),
            fence=_fence(egress, plan.cloud.cloud, bool(gateway.identity)),
            public=failover.domain is not None and not release,
            images=images[plan.cloud.cloud],
            scaling=scaling(plan, region.models, fits, catalog),
            alerts=alert_rules(profile(plan.cloud.cloud).alert_rules), released=release)
    clusters = tuple(decide(serving, plan, False) for plan in plan_clusters(serving, fits, catalog))
    if released:
        clusters += tuple(decide(released, plan, True) for plan in plan_clusters(released, fits, catalog))
    return RegionDecisions(serving, verdicts, fits, clusters, egress, failover,
                           tuple(StatefulCloud(c, cloud_labels(spec, c), images[c.cloud]) for c in spec.clouds))


def _fence(egress: EgressPlan, cloud: str, gateway_identity: bool) -> FenceHosts:
    return FenceHosts(gateway=egress.allowed, serving=egress.platform[cloud], allowed=egress.network[cloud],
                      denied=egress.denied, gateway_identity=gateway_identity)
