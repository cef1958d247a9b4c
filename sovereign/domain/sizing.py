"""GPU-fit sizing: how many GPUs one replica of a model needs, on which machine type, per cloud region.

The memory budget, per GPU of a replica with tensor-parallel size TP:

    weights / TP  +  KV cache / min(TP, kv_heads)  +  runtime overhead   ≤   utilisation × GPU memory

* weights   = parameters × bytes per parameter at the serving dtype (bf16: 2 bytes; gpt-oss ships
              its MoE experts in MXFP4, counted at 4.25 bits per parameter);
* KV cache  = 2 (K and V) × layers × kv_heads × head_dim × 2 bytes (bf16 cache) per token, for
              context_length tokens × max_concurrency sequences. Sliding-window layers are counted
              at full context, which over-reserves for Gemma 2 and gpt-oss — deliberately conservative.
              KV heads shard across TP ranks only up to kv_heads; beyond that vLLM replicates them.
* overhead  = RUNTIME_OVERHEAD_GIB per GPU for the CUDA context, activations, CUDA graphs and NCCL;
* utilisation = GPU_MEMORY_UTILIZATION, passed to vLLM as --gpu-memory-utilization.

The host must hold its replicas too: each needs its weight shard, its /dev/shm and HOST_MEMORY_OVERHEAD_GIB of RAM
(Python, CUDA host buffers, the page cache weights load through) within HOST_RESERVE of the
machine's memory, where the catalog knows it.

TP must be a power of two within one node (1, 2, 4, 8) that divides the model's attention heads.
For each GPU type the region offers, the smallest fitting TP is taken; among the machine types that
carry at least TP of that GPU, the cheapest per replica wins (a node with N GPUs holds N // TP
replicas). Prices are catalog list prices in one reference region per cloud: an ordering within a
cloud, not a bill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..catalog import Catalog, MachineType, Model
from ..clouds import profile
from .errors import InputError, InvalidInput
from .spec import CloudSpec, ModelSpec, RegionSpec

GPU_MEMORY_UTILIZATION = 0.90
RUNTIME_OVERHEAD_GIB = 2.0
KV_CACHE_BYTES_PER_VALUE = 2
TP_SIZES = (1, 2, 4, 8)
BYTES_PER_PARAM = {"bfloat16": 2.0, "mxfp4-moe": 4.25 / 8}
GIB = 2**30
HOST_RESERVE = 0.85              # share of a node's vCPU/RAM left to pods after kubelet and system daemons
HOST_MEMORY_OVERHEAD_GIB = 8
# The node disk: images (vLLM with CUDA runs to ~20 GiB extracted; the system's and the gateway's besides),
# the kubelet's eviction floor (nodefs.available < 10% by default on EKS and GKE), never below 200 GiB.
IMAGES_GIB = 60
EVICTION_FREE = 0.10
MIN_NODE_DISK_GIB = 200
CACHE_HEADROOM = 1.2                      # local weight cache: checkpoint plus tokenizer files and slack
SCRATCH = {"home": 10, "tmp": 4}          # GiB: $HOME (torch.compile, Triton, vLLM caches) and /tmp emptyDirs


def shm_gib(tensor_parallel: int) -> int:
    """/dev/shm per replica: NCCL exchanges tensors through it between TP ranks; one rank needs little.
    It is memory-backed, so it counts against the pod's memory (request and limit alike)."""
    return 4 if tensor_parallel == 1 else 4 * tensor_parallel


@dataclass(frozen=True)
class Fit:
    """The sizing decision for one model on one cloud of a region."""
    model: str
    cloud: str
    region: str
    gpu: str
    machine_type: str
    gpus_per_node: int
    tensor_parallel: int            # = GPUs per replica
    replicas_per_node: int
    usd_per_hour: float             # per node, reference-region list price
    weights_gib: float              # per replica
    kv_cache_gib: float             # per replica
    need_per_gpu_gib: float
    budget_per_gpu_gib: float       # utilisation × GPU memory
    host_memory_gib: int            # RAM one replica requests on its node

    @property
    def headroom_gib(self) -> float:
        return self.budget_per_gpu_gib - self.need_per_gpu_gib

    @property
    def usd_per_replica_hour(self) -> float:
        return self.usd_per_hour / self.replicas_per_node

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "cloud": self.cloud, "region": self.region, "gpu": self.gpu,
                "machineType": self.machine_type, "gpusPerNode": self.gpus_per_node,
                "tensorParallel": self.tensor_parallel, "replicasPerNode": self.replicas_per_node,
                "usdPerHour": self.usd_per_hour, "usdPerReplicaHour": round(self.usd_per_replica_hour, 4),
                "weightsGiB": round(self.weights_gib, 2), "kvCacheGiB": round(self.kv_cache_gib, 2),
                "needPerGpuGiB": round(self.need_per_gpu_gib, 2),
                "budgetPerGpuGiB": round(self.budget_per_gpu_gib, 2),
                "headroomGiB": round(self.headroom_gib, 2), "hostMemoryGiB": self.host_memory_gib,
                "gpuMemoryUtilization": GPU_MEMORY_UTILIZATION}


def weights_bytes(model: Model) -> float:
    return model.params_total_b * 1e9 * BYTES_PER_PARAM[model.native_dtype]


def kv_bytes_per_token(model: Model) -> int:
    return 2 * model.num_hidden_layers * model.num_key_value_heads * model.head_dim * KV_CACHE_BYTES_PER_VALUE


def need_per_gpu_gib(model: Model, context: int, concurrency: int, tp: int) -> float:
    kv = kv_bytes_per_token(model) * context * concurrency
    return (weights_bytes(model) / tp + kv / min(tp, model.num_key_value_heads)) / GIB + RUNTIME_OVERHEAD_GIB


def size_region(spec: RegionSpec, catalog: Catalog) -> tuple[Fit, ...]:
    """One Fit per (cloud, model); raises InvalidInput naming every model that fits nothing."""
    fits, errors = [], []
    for cloud in spec.clouds:
        if cloud.gpus_offered(catalog) is None:
            errors.append(InputError(
                spec.file, f"sovereign:clouds.{cloud.cloud}.offeredGpus",
                f"the catalog has no verified GPU offerings for {cloud.cloud} {cloud.region.name}, and the stack "
                "declares none", f"list the GPU ids the account is offered there (offeredGpus), or add the region's "
                "offerings with their source to sovereign/catalog/data/offerings.yaml"))
            continue
        for index, model in enumerate(spec.models):
            fit = size_model(model, cloud, catalog)
            if isinstance(fit, InputError):
                errors.append(InputError(spec.file, f"sovereign:models[{index}]", fit.problem, fit.fix))
            else:
                fits.append(fit)
    if errors:
        raise InvalidInput(errors)
    return tuple(fits)


def size_model(spec: ModelSpec, cloud: CloudSpec, catalog: Catalog) -> Fit | InputError:
    model = spec.model
    candidates = _candidates(spec, cloud, catalog)
    best: Fit | None = None
    for machine in candidates:
        budget = catalog.gpus[machine.gpu].memory_mib * 2**20 * GPU_MEMORY_UTILIZATION / GIB
        for tp in TP_SIZES:
            if tp > machine.gpu_count or model.num_attention_heads % tp:
                continue
            need = need_per_gpu_gib(model, spec.context_length, spec.max_concurrency, tp)
            per_node = machine.gpu_count // tp
            host = math.ceil(weights_bytes(model) / GIB / tp) + HOST_MEMORY_OVERHEAD_GIB + shm_gib(tp)
            if need > budget or (machine.memory_mib and per_node * host > machine.memory_mib / 1024 * HOST_RESERVE):
                continue
            fit = Fit(spec.id, cloud.cloud, cloud.region.name, machine.gpu, machine.name, machine.gpu_count, tp,
                      per_node, machine.usd_per_hour, weights_bytes(model) / GIB,
                      kv_bytes_per_token(model) * spec.context_length * spec.max_concurrency / GIB, need, budget,
                      host)
            if best is None or _cost_key(fit) < _cost_key(best):
                best = fit
            break  # the smallest fitting TP on this machine type
    if best is not None:
        return best
    return _no_fit(spec, cloud, catalog, candidates)


def _cost_key(fit: Fit) -> tuple:
    return (fit.usd_per_replica_hour, fit.tensor_parallel, fit.machine_type)


def _candidates(spec: ModelSpec, cloud: CloudSpec, catalog: Catalog) -> tuple[MachineType, ...]:
    offered = cloud.gpus_offered(catalog) or frozenset()
    return tuple(m for m in catalog.machine_types(cloud.cloud)
                 if m.usd_per_hour is not None
                 # A GKE pool cannot request a GPU without its accelerator type.
                 and (m.gke_accelerator or not profile(cloud.cloud).catalog.accelerator_type)
                 and m.gpu in offered
                 and (not spec.gpus or m.gpu in spec.gpus))


def _no_fit(spec: ModelSpec, cloud: CloudSpec, catalog: Catalog, candidates) -> InputError:
    where = f"{cloud.cloud} {cloud.region.name}"
    fix = ("lower contextLength or maxConcurrency, choose a smaller model, allow more GPU types (`gpus:`), "
           "or serve it from a region that offers larger GPUs")
    if not candidates:
        return InputError("", "", f"{spec.id}: no priced GPU machine type is offered in {where}"
                          + (f" among {', '.join(spec.gpus)}" if spec.gpus else ""), fix)
    largest = max(candidates, key=lambda m: (catalog.gpus[m.gpu].memory_mib * m.gpu_count, m.name))
    tp = max(t for t in TP_SIZES if t <= largest.gpu_count and spec.model.num_attention_heads % t == 0)
    need = need_per_gpu_gib(spec.model, spec.context_length, spec.max_concurrency, tp)
    budget = catalog.gpus[largest.gpu].memory_mib * 2**20 * GPU_MEMORY_UTILIZATION / GIB
    return InputError("", "", (
        f"{spec.id} fits no GPU offered in {where}: largest option tried is {largest.name} "
        f"({largest.gpu_count} × {largest.gpu}) at TP {tp}, needing {math.ceil(need)} GiB per GPU for "
        f"{spec.context_length} tokens × {spec.max_concurrency} sequences where {budget:.0f} GiB is usable"), fix)


def cache_gib(fit: Fit) -> int:
    """The replica's local weight cache, an emptyDir on the node's disk."""
    return math.ceil(fit.weights_gib * CACHE_HEADROOM)


def node_disk_gib(fits: list[Fit]) -> int:
    """The boot disk a GPU node of these fits needs: its fullest packing of one model's replicas (caches and
    scratch) and the images, within the share the kubelet leaves before evicting (nodefs.available < 10%)."""
    pods = max(f.replicas_per_node * (cache_gib(f) + sum(SCRATCH.values())) for f in fits)
    return max(MIN_NODE_DISK_GIB, math.ceil((pods + IMAGES_GIB) / (1 - EVICTION_FREE)))
