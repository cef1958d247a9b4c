"""What each model release on each cluster looks like: chart values derived from spec and sizing.

The values here are the ones that do not depend on cloud resources; the serving component adds the
weights bucket URI and the workload identity once those exist. Resource requests follow the sizing
decision so a node of the chosen machine type holds exactly `replicas_per_node` replicas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..catalog import Catalog
from .sizing import GPU_MEMORY_UTILIZATION, SCRATCH, Fit, cache_gib, pod_cpu, shm_gib
from ..clouds import profile
from .elastic import COOLDOWN_SECONDS, POLLING_SECONDS, QUEUE_TARGET, WAKE_TARGET, demand_query, queue_query
from .spec import CloudSpec, ModelSpec
from .workloads import SERVING_KEY_FIELD, SERVING_KEY_SECRET, SERVING_NAMESPACE
from .topology import GPU_LABEL, POOL_LABEL, ClusterPlan, GpuPool
from .weights import STREAM, STREAMER_BUFFER_GIB, STREAMER_CONCURRENCY, load_mode

CHART_PATH = "charts/model-server"       # relative to the project root, where `pulumi up` runs
WEIGHTS_PREFIX = "models"                 # <bucket>/models/<model id>/ holds one model's files


@dataclass(frozen=True)
class Release:
    """One chart release: a model served on one cluster."""
    name: str                 # Helm release name (DNS label, ≤ 53 characters)
    model: str
    cloud: str
    values: dict[str, Any]    # static values; weights.uri and identity are added by the component

    @property
    def weights_path(self) -> str:
        return f"{WEIGHTS_PREFIX}/{self.model}"


def release_name(model_id: str) -> str:
    """Helm release names must be DNS labels of at most 53 characters."""
    return re.sub(r"[^a-z0-9-]", "-", model_id.lower()).strip("-")[:53].rstrip("-")


def releases(plan: ClusterPlan, models: tuple[ModelSpec, ...], fits: tuple[Fit, ...],
             catalog: Catalog) -> tuple[Release, ...]:
    by_model = {f.model: f for f in fits if f.cloud == plan.cloud.cloud}
    pools = {m: p for p in plan.gpu_pools for m in p.models}
    return tuple(Release(release_name(m.id), m.id, plan.cloud.cloud,
                         chart_values(m, by_model[m.id], pools[m.id], plan.cloud, catalog))
                 for m in models)


def rollout(model: ModelSpec, pool: GpuPool) -> dict[str, Any]:
    """How an update replaces the model's replicas. A model that scales gets a surge replica: the node autoscaler
    adds its node if none is spare, up to the pool's ceiling, which counts it. A fixed one stays within the pool's
    minimum nodes: a surge replica where the pool has a GPU spare for every model at once; else one replica at a time
    while the others serve; a single replica is replaced in place (Recreate: down while the new one loads)."""
    if pool.surge_room or model.replicas.max > model.replicas.min:
        return {"type": "RollingUpdate", "maxSurge": 1, "maxUnavailable": 0}
    if model.replicas.min >= 2:
        return {"type": "RollingUpdate", "maxSurge": 0, "maxUnavailable": 1}
    return {"type": "Recreate"}


def chart_values(model: ModelSpec, fit: Fit, pool: GpuPool, cloud: CloudSpec, catalog: Catalog) -> dict[str, Any]:
    tp = fit.tensor_parallel
    cpu, memory = pod_cpu(fit, catalog), fit.host_memory_gib
    return {
        "model": {"name": model.id, "source": model.model.hf_repo},
        "gpu": {"count": tp},
        "vllm": {"tensorParallelSize": tp, "maxModelLen": model.context_length,
                 "maxNumSeqs": model.max_concurrency, "gpuMemoryUtilization": GPU_MEMORY_UTILIZATION,
                 # Tool calls, as the managed models it stands in for take them (catalog: the model's format).
                 "toolCallParser": model.model.tool_call_parser or ""},
        "replicaCount": model.replicas.min,
        "strategy": rollout(model, pool),
        "resources": {"requests": {"cpu": str(cpu), "memory": f"{memory}Gi"},
                      "limits": {"cpu": str(cpu + 1), "memory": f"{memory}Gi"}},
        # Memory-backed: counted in the memory above, which holds it (sizing.shm_gib).
        "shm": {"sizeLimit": f"{shm_gib(tp)}Gi"},
        # vLLM answers /v1 only with this key, which the gateway alone holds besides the pods.
        "apiKey": {"secretName": SERVING_KEY_SECRET, "key": SERVING_KEY_FIELD},
        "weights": weights_values(fit),
        "scratch": {name: f"{size}Gi" for name, size in SCRATCH.items()},
        # The pool label pins the model to the node pool sizing chose; the GPU label documents why.
        "nodeSelector": {GPU_LABEL: fit.gpu, POOL_LABEL: pool.name},
        **elastic_values(model, cloud),
    }


def elastic_values(model: ModelSpec, cloud: CloudSpec) -> dict[str, Any]:
    """The scrape object of the cloud's metrics pipeline, always; the queue-depth scaler where max > min
    (elastic.py), reading that pipeline's Prometheus API as the cloud requires."""
    elastic = profile(cloud.cloud).elastic
    low, high = model.replicas.min, model.replicas.max
    values: dict[str, Any] = {"metrics": {elastic.scrape: {"enabled": True}},
                              "autoscaling": {"enabled": high > low}}
    if high > low:
        values["autoscaling"] |= {
            "kind": "keda", "minReplicas": low, "maxReplicas": high, "targetQueueDepth": QUEUE_TARGET,
            "keda": {"prometheusAddress": elastic.query_address.format(project=cloud.project),
                     "query": queue_query(SERVING_NAMESPACE, model.id), "podIdentity": elastic.keda_identity,
                     "pollingInterval": POLLING_SECONDS, "cooldownPeriod": COOLDOWN_SECONDS,
                     # At zero replicas no queue exists: the gateway's requests for the model wake it.
                     **({"activationQuery": demand_query(model.id), "activationTarget": WAKE_TARGET}
                        if low == 0 else {})}}
    return values


def weights_values(fit: Fit) -> dict[str, Any]:
    """How the replica reads its weights: streamed from the bucket (its buffer counted in the pod's memory by
    sizing), or copied into a local cache of `cache_gib`."""
    mode = load_mode(fit.cloud)
    if mode == STREAM:
        return {"load": mode, "stream": {"concurrency": STREAMER_CONCURRENCY, "bufferGiB": STREAMER_BUFFER_GIB}}
    return {"load": mode, "cache": {"size": f"{cache_gib(fit)}Gi"}}

