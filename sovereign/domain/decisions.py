"""Everything decided about a region before any resource exists: verdicts, sizing, cluster shapes.

The program, the offline engine, the CLI and (later) the policy pack all take these from here, so
each decision is made once.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog import Catalog
from .egress import EgressPlan, egress_plan
from .failover import FailoverPlan, drilled, failover_plan
from .policy import Policy
from .sizing import Fit, size_region
from .spec import CloudSpec, RegionSpec
from .topology import ClusterPlan, plan_clusters
from .verdict import Verdict, evaluate_region


@dataclass(frozen=True)
class RegionDecisions:
    spec: RegionSpec
    verdicts: tuple[Verdict, ...]
    fits: tuple[Fit, ...]
    clusters: tuple[ClusterPlan, ...]
    egress: EgressPlan
    failover: FailoverPlan
    stateful_clouds: tuple[CloudSpec, ...]   # every cloud of the stack, torn down or not: weights stay

    def cluster(self, cloud: str) -> ClusterPlan | None:
        return next((c for c in self.clusters if c.cloud.cloud == cloud), None)

    def fits_for(self, cloud: str) -> tuple[Fit, ...]:
        return tuple(f for f in self.fits if f.cloud == cloud)


def decide_region(spec: RegionSpec, policy: Policy, catalog: Catalog) -> RegionDecisions:
    """Raises InvalidInput (e.g. a model that fits no GPU the region offers, a drill below capacity)
    before anything is built. Under a drill, `spec` is the drilled spec: survivors only."""
    verdicts = evaluate_region(spec, policy, catalog)
    failover = failover_plan(spec, policy)
    serving = drilled(spec)  # a drill serves from the survivors at drill capacity
    fits = size_region(serving, catalog)
    return RegionDecisions(serving, verdicts, fits, plan_clusters(serving, fits),
                           egress_plan(verdicts, serving.clouds, policy.file), failover, spec.clouds)
