"""What a drill asks of each surviving cluster: replicas, GPU nodes, GPUs and $/h before → during, and how long
until it serves at drill capacity.

Time to drill capacity = a new GPU node (profile.elastic.gpu_node_ready_s, a modelled figure) where the survivor
needs more nodes than it runs, then the slowest new replica's cold start (cold_start.py). Recovery = DNS detection
(interval × threshold) + TTL, after which the survivor answers every request with the replicas it already runs, + the
time to drill capacity, after which it answers them at the drill's capacity. The drill's release phase raises the
survivors and moves DNS in one update that does not wait for the new replicas (the model charts do not await), so
its clients see both parts; in a real outage the clock starts when someone raises the survivors (a drill's release,
or KEDA within the normal maximum).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .cold_start import cold_start
from .decisions import ClusterDecision, RegionDecisions


@dataclass(frozen=True)
class ClusterCapacity:
    cloud: str
    replicas: tuple[int, int]           # every model's minimum replicas summed: before, during
    nodes: tuple[int, int]              # GPU nodes at those minimums
    gpus: tuple[int, int]
    usd_per_hour: tuple[float, float]   # those GPU nodes at reference list prices
    node_s: int                         # a new GPU node, where one is needed (else 0)
    cold_start_s: float                 # the slowest model whose replicas rise (else 0)
    detection_s: int                    # DNS failover: interval × threshold + TTL

    @property
    def capacity_s(self) -> float:
        return self.node_s + self.cold_start_s

    @property
    def recovery_s(self) -> float:
        return self.detection_s + self.capacity_s

    def to_dict(self) -> dict[str, Any]:
        pair = lambda p: {"before": p[0], "during": p[1]}  # noqa: E731
        return {"cloud": self.cloud, "replicas": pair(self.replicas), "gpuNodes": pair(self.nodes),
                "gpus": pair(self.gpus), "usdPerHour": pair(self.usd_per_hour), "nodeSeconds": self.node_s,
                "coldStartSeconds": round(self.cold_start_s, 1), "capacitySeconds": round(self.capacity_s, 1),
                "dnsFailoverSeconds": self.detection_s, "recoverySeconds": round(self.recovery_s, 1)}


def capacity_changes(normal: RegionDecisions, drill: RegionDecisions) -> list[ClusterCapacity]:
    detection = drill.failover.worst_case_s if drill.failover.domain else 0
    changes = []
    for during in drill.clusters:
        before = normal.cluster(during.cloud)
        if before is None or during.released:
            continue
        (r0, n0, g0, c0), (r1, n1, g1, c1) = _totals(before), _totals(during)
        low = {s.model: s.replicas[0] for s in before.scaling}
        rising = [f for f in during.fits if next(s.replicas[0] for s in during.scaling if s.model == f.model)
                  > low.get(f.model, 0)]
        changes.append(ClusterCapacity(
            during.cloud, (r0, r1), (n0, n1), (g0, g1), (c0, c1),
            during.profile.elastic.gpu_node_ready_s if n1 > n0 else 0,
            max((cold_start(f).total_s for f in rising), default=0.0), detection))
    return changes


def _totals(cluster: ClusterDecision) -> tuple[int, int, int, float]:
    """(replicas, GPU nodes, GPUs, $/h) of the cluster at its models' minimum replicas."""
    price = {f.machine_type: f.usd_per_hour for f in cluster.fits}
    pools = cluster.plan.gpu_pools
    return (sum(s.replicas[0] for s in cluster.scaling), sum(p.min_nodes for p in pools),
            sum(p.min_nodes * p.gpus_per_node for p in pools),
            round(sum(p.min_nodes * price[p.machine_type] for p in pools), 2))
