"""Elastic serving: each model's replicas follow its queue, each GPU pool's nodes follow the pods.

Decided here once per cluster, from the spec's `replicas: {min, max}`, the sizing and the cloud's profile:

* **Pods.** Where max > min, KEDA scales the model's Deployment on vLLM's queue: the waiting requests
  (`vllm:num_requests_waiting`, summed over the model's replicas) divided by QUEUE_TARGET per replica. The
  metric comes from the cloud's pipeline (profile.elastic): kube-prometheus-stack scraping a ServiceMonitor on
  EKS, Managed Service for Prometheus scraping a PodMonitoring on GKE. Where max = min, the Deployment runs min.
* **Nodes.** A pending replica gets a node from the cloud's node autoscaler (Karpenter on EKS, the cluster
  autoscaler on GKE), of the machine type sizing chose or (where the profile allows several per pool) one of the
  other machine types of the same GPU that hold every replica of the pool as the chosen one does: Karpenter
  launches the cheapest of them that has capacity, so the sized type while it has, the others when it has none.
* **Cold start** of a new replica is modelled (cold_start.py): image pull, weights streamed, engine start.
* **Cost and nodes** per model are those of its replicas alone at min and max (sizing.nodes_for); models
  sharing a pool share nodes, so the pool's total (the `capacity`/`cost` lines) can be lower than their sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..catalog import Catalog
from ..clouds import profile
from .cold_start import ColdStart, cold_start
from .sizing import Fit, nodes_for
from .spec import ModelSpec
from .topology import ClusterPlan

QUEUE_METRIC = "vllm:num_requests_waiting"
# Waiting requests per replica the scaler aims at. Each replica already runs up to maxNumSeqs sequences at
# once; a few waiting means the batch is full, so a new replica (minutes away: a node, then a cold start) is
# started before the queue's wait grows past what a client tolerates.
QUEUE_TARGET = 4
POLLING_SECONDS = 15
# Scale-down waits this long with the queue empty: a replica's cold start costs minutes of GPU time.
COOLDOWN_SECONDS = 300


# What wakes a model scaled to zero (there is no vLLM queue without a replica): the requests the gateway sends its
# model server, success or failure, whichever name the client asked for (the model, an alias, a managed model it
# falls back from) — LiteLLM's Prometheus callback's deployment counter (the gateway config turns it on), labelled
# with the open-weight deployment's provider and model (as the real proxy answers, tests/components/k8s).
DEMAND_METRIC = "litellm_deployment_total_requests_total"


def demand_labels(model: str) -> str:
    return f'api_provider="hosted_vllm",litellm_model_name="{model}"'


# The demand trigger only wakes a model: requests per second per replica so high that the queue alone decides how
# many replicas run once one does (KEDA scales to the larger of its triggers).
WAKE_TARGET = 1000


def demand_query(model: str) -> str:
    """The activation query: the gateway's requests for the model over the last two minutes, per second, plus the
    series first seen in them — rate() drops a counter's first sample, and each new client (its address and agent are
    labels) starts a new series, so a lone first request would otherwise wake nothing."""
    series = f"{DEMAND_METRIC}{{{demand_labels(model)}}}"
    return f"(sum(rate({series}[2m])) or vector(0)) + (count({series} unless {series} offset 2m) or vector(0))"


def queue_query(namespace: str, model: str) -> str:
    """The scaler's PromQL: the model's waiting requests over all its replicas in the namespace."""
    return f'sum({QUEUE_METRIC}{{namespace="{namespace}",model_name="{model}"}})'


@dataclass(frozen=True)
class ModelScaling:
    """How one model scales on one cluster."""
    model: str
    cloud: str
    pool: str
    machine_types: tuple[str, ...]   # the node autoscaler's order: the sized type first, then its fallbacks
    replicas: tuple[int, int]        # min, max
    nodes: tuple[int, int]           # nodes its replicas alone need at min and max
    usd_per_hour: tuple[float, float]
    scaler: str | None               # "KEDA" where max > min; None: fixed at min
    pipeline: str                    # what produces the metric
    node_autoscaler: str
    cold_start: ColdStart            # a new replica on a node that has never run it, modelled

    @property
    def elastic(self) -> bool:
        return self.scaler is not None

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "cloud": self.cloud, "pool": self.pool, "machineTypes": list(self.machine_types),
                "minReplicas": self.replicas[0], "maxReplicas": self.replicas[1], "minNodes": self.nodes[0],
                "maxNodes": self.nodes[1], "usdPerHourMin": self.usd_per_hour[0],
                "usdPerHourMax": self.usd_per_hour[1], "scaler": self.scaler,
                "metric": QUEUE_METRIC if self.scaler else None, "targetPerReplica": QUEUE_TARGET if self.scaler else None,
                "pipeline": self.pipeline, "nodeAutoscaler": self.node_autoscaler,
                "coldStart": self.cold_start.to_dict()}


def scaling(plan: ClusterPlan, models: tuple[ModelSpec, ...], fits: tuple[Fit, ...],
            catalog: Catalog) -> tuple[ModelScaling, ...]:
    elastic = profile(plan.cloud.cloud).elastic
    by_model = {f.model: f for f in fits if f.cloud == plan.cloud.cloud}
    pools = {m: p for p in plan.gpu_pools for m in p.models}
    result = []
    for model in models:
        fit, pool = by_model[model.id], pools[model.id]
        low, high = model.replicas.min, model.replicas.max
        nodes = (nodes_for([fit.tensor_parallel] * low, fit.gpus_per_node),
                 nodes_for([fit.tensor_parallel] * high, fit.gpus_per_node))
        result.append(ModelScaling(
            model.id, plan.cloud.cloud, pool.name, pool.machine_types, (low, high), nodes,
            (round(nodes[0] * fit.usd_per_hour, 2), round(nodes[1] * fit.usd_per_hour, 2)),
            "KEDA" if high > low else None, elastic.metrics_pipeline, elastic.node_autoscaler, cold_start(fit)))
    return tuple(result)
