"""Everything decided about a region before any resource exists: verdicts, sizing, cluster shapes.

The program, the offline engine, the CLI and (later) the policy pack all take these from here, so
each decision is made once.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog import Catalog
from .egress import EgressPlan, egress_plan
from .policy import Policy
from .sizing import Fit, size_region
from .spec import RegionSpec
from .topology import ClusterPlan, plan_clusters
from .verdict import Verdict, evaluate_region


@dataclass(frozen=True)
class RegionDecisions:
    spec: RegionSpec
    verdicts: tuple[Verdict, ...]
    fits: tuple[Fit, ...]
    clusters: tuple[ClusterPlan, ...]
    egress: EgressPlan

    def cluster(self, cloud: str) -> ClusterPlan | None:
        return next((c for c in self.clusters if c.cloud.cloud == cloud), None)

    def fits_for(self, cloud: str) -> tuple[Fit, ...]:
        return tuple(f for f in self.fits if f.cloud == cloud)


def decide_region(spec: RegionSpec, policy: Policy, catalog: Catalog) -> RegionDecisions:
    """Raises InvalidInput (e.g. a model that fits no GPU the region offers) before anything is built."""
    fits = size_region(spec, catalog)
    verdicts = evaluate_region(spec, policy, catalog)
    return RegionDecisions(spec, verdicts, fits, plan_clusters(spec, fits),
                           egress_plan(verdicts, spec.clouds, policy.file))
