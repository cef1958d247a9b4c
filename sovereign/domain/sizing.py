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

The host must hold its replicas too: each needs what its weights pass through on the way to the GPUs (streamed:
one streamer buffer per rank; copied: its weight shard in the page cache), its /dev/shm and
HOST_MEMORY_OVERHEAD_GIB of RAM (Python, CUDA host buffers) within HOST_RESERVE of the machine's memory, where the
catalog knows it.

TP must be a power of two within one node (1, 2, 4, 8) that divides the model's attention heads.
For each GPU type the region offers, the smallest fitting TP is taken. A model alone is placed where the
nodes its own replicas need cost least (at minimum replicas, then at maximum; ties to the smaller
machine): a 2-replica model never pays for an 8-GPU node it leaves idle. Then the models placed on one
GPU type share one pool: its machine type is chosen again for all of them together, and the pool's node
count is what every replica needs under any placement (`nodes_for`). Each replica requests at most its
GPU share of a node's CPU, memory and disk, so any mix that fits by GPUs fits the host too. Prices are
catalog list prices in one reference region per cloud: an ordering within a cloud, not a bill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Iterable

from ..catalog import Catalog, MachineType, Model
from ..clouds import profile
from .errors import InputError, InvalidInput
from .spec import CloudSpec, ModelSpec, RegionSpec
from .weights import STREAM, STREAMER_BUFFER_GIB, load_mode

GPU_MEMORY_UTILIZATION = 0.90
RUNTIME_OVERHEAD_GIB = 2.0
KV_CACHE_BYTES_PER_VALUE = 2
TP_SIZES = (1, 2, 4, 8)
BYTES_PER_PARAM = {"bfloat16": 2.0, "mxfp4-moe": 4.25 / 8}
GIB = 2**30
HOST_RESERVE = 0.85              # share of a node's vCPU/RAM left to pods after kubelet and system daemons
HOST_MEMORY_OVERHEAD_GIB = 8
CPU_PER_GPU = 2                  # cores per GPU rank: tokenizer, scheduler and NCCL threads
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
                "declares none", "list the GPU ids the account is offered there (offeredGpus), or add the region's "
                "offerings with their source to sovereign/catalog/data/offerings.yaml"))
            continue
        alone = []
        for index, model in enumerate(spec.models):
            fit = size_model(model, cloud, catalog)
            if isinstance(fit, InputError):
                errors.append(InputError(spec.file, f"sovereign:models[{index}]", fit.problem, fit.fix))
            else:
                alone.append(fit)
        fits.extend(share_pools(alone, spec, cloud, catalog))
    if errors:
        raise InvalidInput(errors)
    return tuple(fits)


def nodes_for(pods: Iterable[int], gpus_per_node: int) -> int:
    """Nodes of C = `gpus_per_node` GPUs that hold pods needing these GPU counts (powers of two up to C) in any
    order and on any node the scheduler picks (its default scoring spreads pods, the worst case here).

    A pod of t GPUs finds no node only when every node has fewer than t free. A node holding only pods of t GPUs
    or more is then full (their sizes are multiples of t); one holding a smaller pod of s GPUs has used more
    than C − t in multiples of s, so at most t − s is free there. At most one such node per smaller pod, so the
    others (D − t of all D GPUs) cannot block N nodes when D − t < N·C − (the min(N, k) largest of the k smaller
    pods' t − s). The count is the least N of at least D / C for which that holds for every t."""
    sizes = sorted(pods)
    total = sum(sizes)
    nodes = -(-total // gpus_per_node)

    def blocked(n: int) -> bool:
        for t in set(sizes):
            gaps = sorted((t - u for u in sizes if u < t), reverse=True)
            if total - t >= n * gpus_per_node - sum(gaps[:n]):
                return True
        return False
    while blocked(nodes):
        nodes += 1
    return nodes


def pods(fits: Iterable[Fit], replicas: dict[str, Any], bound: str) -> list[int]:
    """The GPU count of every replica of these fits at their `min` or `max` replicas."""
    return [f.tensor_parallel for f in fits for _ in range(getattr(replicas[f.model], bound))]


def share_pools(fits: list[Fit], spec: RegionSpec, cloud: CloudSpec, catalog: Catalog) -> list[Fit]:
    """The models placed on one GPU type share one pool where that costs less: the machine type carrying them
    all whose nodes cost least at minimum replicas (then maximum; ties to the smaller machine), unless the
    machines they were sized onto alone (models on one machine type sharing its pool) cost less still."""
    replicas = {m.id: m.replicas for m in spec.models}
    result = []
    for gpu in sorted({f.gpu for f in fits}):
        members = [f for f in fits if f.gpu == gpu]
        best, best_key = members, _pools_cost(members, replicas)
        for machine in _candidates(None, cloud, catalog):
            if machine.gpu != gpu or not all(_holds(machine, f) for f in members):
                continue
            shared = [replace(f, machine_type=machine.name, gpus_per_node=machine.gpu_count,
                              replicas_per_node=machine.gpu_count // f.tensor_parallel,
                              usd_per_hour=machine.usd_per_hour) for f in members]
            key = _pools_cost(shared, replicas)
            if key < best_key:
                best, best_key = shared, key
        result.extend(best)
    order = {f.model: i for i, f in enumerate(fits)}
    return sorted(result, key=lambda f: order[f.model])


def _pools_cost(fits: list[Fit], replicas: dict[str, Any]) -> tuple:
    """USD per hour of the pools these fits make (one per machine type) at minimum then maximum replicas, then
    the largest machine's price (ties go to smaller machines)."""
    machines = {f.machine_type: f for f in fits}
    low = high = 0.0
    for machine, fit in machines.items():
        members = [f for f in fits if f.machine_type == machine]
        low += nodes_for(pods(members, replicas, "min"), fit.gpus_per_node) * fit.usd_per_hour
        high += nodes_for(pods(members, replicas, "max"), fit.gpus_per_node) * fit.usd_per_hour
    return round(low, 6), round(high, 6), max(f.usd_per_hour for f in fits)


def _holds(machine: MachineType, fit: Fit) -> bool:
    """A node of `machine` gives a replica of `fit` its GPUs and its share of the host's memory."""
    if machine.gpu_count < fit.tensor_parallel:
        return False
    per_node = machine.gpu_count // fit.tensor_parallel
    return not machine.memory_mib or per_node * fit.host_memory_gib <= machine.memory_mib / 1024 * HOST_RESERVE


def size_model(spec: ModelSpec, cloud: CloudSpec, catalog: Catalog) -> Fit | InputError:
    """The model alone: the smallest fitting TP per machine type, the machine whose nodes for the model's own
    replicas cost least."""
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
            host = load_memory_gib(model, tp, cloud.cloud) + HOST_MEMORY_OVERHEAD_GIB + shm_gib(tp)
            if need > budget or (machine.memory_mib and per_node * host > machine.memory_mib / 1024 * HOST_RESERVE):
                continue
            fit = Fit(spec.id, cloud.cloud, cloud.region.name, machine.gpu, machine.name, machine.gpu_count, tp,
                      per_node, machine.usd_per_hour, weights_bytes(model) / GIB,
                      kv_bytes_per_token(model) * spec.context_length * spec.max_concurrency / GIB, need, budget,
                      host)
            if best is None or _cost_key(fit, spec) < _cost_key(best, spec):
                best = fit
            break  # the smallest fitting TP on this machine type
    if best is not None:
        return best
    return _no_fit(spec, cloud, catalog, candidates)


def _cost_key(fit: Fit, spec: ModelSpec) -> tuple:
    """The model's own nodes at minimum then maximum replicas, then the smaller machine."""
    low = math.ceil(spec.replicas.min / fit.replicas_per_node) * fit.usd_per_hour
    high = math.ceil(spec.replicas.max / fit.replicas_per_node) * fit.usd_per_hour
    return (round(low, 6), round(high, 6), fit.usd_per_hour, fit.tensor_parallel, fit.machine_type)


def _candidates(spec: ModelSpec | None, cloud: CloudSpec, catalog: Catalog) -> tuple[MachineType, ...]:
    """Priced machine types of the GPUs offered in the cloud region (those `spec` allows, when given)."""
    offered = cloud.gpus_offered(catalog) or frozenset()
    return tuple(m for m in catalog.machine_types(cloud.cloud)
                 if m.usd_per_hour is not None
                 # A GKE pool cannot request a GPU without its accelerator type.
                 and (m.gke_accelerator or not profile(cloud.cloud).catalog.accelerator_type)
                 and m.gpu in offered
                 and (spec is None or not spec.gpus or m.gpu in spec.gpus))


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


def load_memory_gib(model: Model, tp: int, cloud: str) -> int:
    """Host RAM one replica's weights pass through while loading: a streamer buffer per rank when streamed, else
    the replica's weight shard read through the page cache."""
    if load_mode(cloud) == STREAM:
        return tp * STREAMER_BUFFER_GIB
    return math.ceil(weights_bytes(model) / GIB / tp)


def cache_gib(fit: Fit) -> int:
    """The replica's local weight cache, an emptyDir on the node's disk; none when the weights are streamed."""
    return 0 if load_mode(fit.cloud) == STREAM else math.ceil(fit.weights_gib * CACHE_HEADROOM)


def local_disk_gib(fit: Fit) -> int:
    """What one replica keeps on its node's disk: its weight cache and scratch emptyDirs."""
    return cache_gib(fit) + sum(SCRATCH.values())


def node_disk_gib(fits: list[Fit]) -> int:
    """The boot disk a GPU node of these fits needs: every GPU taken by the replicas with the most local disk per
    GPU (any mix of the pool's models uses no more), and the images, within the share the kubelet leaves before
    evicting (nodefs.available < 10%)."""
    local = max(f.gpus_per_node * local_disk_gib(f) / f.tensor_parallel for f in fits)
    return max(MIN_NODE_DISK_GIB, math.ceil((local + IMAGES_GIB) / (1 - EVICTION_FREE)))


def pod_cpu(fit: Fit, catalog: Catalog) -> int:
    """Cores per replica: two per GPU rank plus two, within the node's share when the catalog knows it."""
    machine = next(m for m in catalog.machine_types(fit.cloud) if m.name == fit.machine_type)
    cpu = CPU_PER_GPU * fit.tensor_parallel + 2
    if machine.vcpu:
        cpu = max(1, min(cpu, math.floor(machine.vcpu * HOST_RESERVE / fit.replicas_per_node) - 1))
    return cpu


def fallback_machines(cloud: CloudSpec, members: list[Fit], catalog: Catalog) -> tuple[str, ...]:
    """Machine types a pool's nodes may also be, in the order to try them when the sized one (the members'
    `machine_type`) has no capacity: the same GPU in the same count per node (the same replicas per node, so the
    same boot disk), enough vCPU and memory for every member's replicas as the sized type holds them, priced,
    cheapest first. Empty where the cloud's pools take one machine type (profile.elastic.machine_fallback)."""
    if not profile(cloud.cloud).elastic.machine_fallback:
        return ()
    sized = members[0]

    def holds(machine: MachineType) -> bool:
        return all(machine.vcpu and machine.memory_mib
                   and machine.vcpu * HOST_RESERVE >= pod_cpu(f, catalog) * f.replicas_per_node
                   and machine.memory_mib / 1024 * HOST_RESERVE >= f.host_memory_gib * f.replicas_per_node
                   for f in members)
    others = [m for m in _candidates(None, cloud, catalog)
              if m.gpu == sized.gpu and m.gpu_count == sized.gpus_per_node and m.name != sized.machine_type
              and holds(m)]
    return tuple(m.name for m in sorted(others, key=lambda m: (m.usd_per_hour, m.name)))
