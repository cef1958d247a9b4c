"""What a Kubernetes provider and what runs through it wait for."""

from __future__ import annotations

from typing import Iterator

from ...catalog import load_catalog
from ...domain.images import IMAGES
from ...domain.sizing import EVICTION_FREE, HOST_RESERVE, IMAGES_GIB, nodes_for
from .engine import Graph, rule
from .karpenter import NODE_POOL, node_class_of, requirement

K8S_PROVIDER = "pulumi:providers:kubernetes"
NODE_GROUP, GKE_POOL = "aws:eks/nodeGroup:NodeGroup", "gcp:container/nodePool:NodePool"
KARPENTER_POOL = NODE_POOL
GPU_POOLS = (NODE_GROUP, GKE_POOL, KARPENTER_POOL)


@rule("kubernetes-provider-waits-for-system-nodes-only",
      "AWS EKS CreateNodegroup: a group without instance capacity ends CREATE_FAILED "
      "(InsufficientInstanceCapacity) after the provider's wait; "
      "https://docs.aws.amazon.com/eks/latest/userguide/troubleshooting.html#worker-node-fail")
def provider_waits_for_system_nodes(graph: Graph, _decisions):
    """Everything in a cluster (CNI, fences, gateway) goes through its provider: a provider waiting on a GPU
    pool is blocked forever by one GPU type without capacity, though nothing but that pool's pods needs it."""
    for provider in graph.of_type(K8S_PROVIDER):
        gpu = [u for u in provider.options.get("dependsOn") or []
               if any(f"${t}::" in u or f"::{t}::" in u for t in GPU_POOLS) and not u.endswith("-system")]
        if gpu:
            yield (provider.urn, f"waits for {len(gpu)} GPU node pool(s)",
                   "make the cluster's Kubernetes provider depend on its system pool only")


CHART = "kubernetes:helm.sh/v4:Chart"
POOL_LABEL = "sovereign.ai/pool"


def _gib(quantity: str) -> float:
    units = {"Gi": 1.0, "Mi": 1 / 1024, "G": 1e9 / 2**30, "M": 1e6 / 2**30}
    for suffix, factor in units.items():
        if str(quantity).endswith(suffix):
            return float(str(quantity)[: -len(suffix)]) * factor
    return float(quantity) / 2**30


def _node(graph: Graph, pool) -> tuple[list[str], float | None]:
    """(machine types, boot disk GiB) of an EKS node group, a GKE node pool or a Karpenter NodePool (its instance
    types, the disk of its EC2NodeClass)."""
    if pool.type == NODE_GROUP:
        return list(pool.inputs.get("instanceTypes") or [])[:1], pool.inputs.get("diskSize")
    if pool.type == KARPENTER_POOL:
        types = requirement(pool, "node.kubernetes.io/instance-type")
        node_class = node_class_of(graph, pool)
        mappings = ((node_class.inputs.get("spec") or {}).get("blockDeviceMappings") or []) if node_class else []
        size = next((m.get("ebs", {}).get("volumeSize") for m in mappings), None)
        return list(types), _gib(size) if size else None
    config = pool.inputs.get("nodeConfig") or {}
    return [config.get("machineType", "")], config.get("diskSizeGb")


def _cloud(pool) -> str:
    return "gcp" if pool.type == GKE_POOL else "aws"


@rule("serving-replicas-fit-their-nodes",
      "Kubernetes, Resource Management for Pods and Containers / Node-pressure Eviction: a pod is scheduled "
      "only where its requests fit the node's allocatable (GPUs, CPU, memory, ephemeral storage), and emptyDirs "
      "on the node's disk are evicted under nodefs pressure (default nodefs.available < 10%); "
      "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/")
def replicas_fit_their_nodes(graph: Graph, _decisions):
    """Every model-server replica, packed as densely as its node's GPUs allow, must fit that node's CPU,
    memory (which holds its memory-backed /dev/shm) and disk (its weight cache and scratch emptyDirs, beside
    the images), or replicas stay Pending. Allocatable is taken as HOST_RESERVE of the machine (conservative:
    EKS and GKE reserve less on GPU-sized machines) and the disk less the eviction floor and images."""
    machines = {(m.cloud, m.name): m for gpu in load_catalog().gpus.values() for m in gpu.machine_types}
    pools = {p.name: p for p in graph.of_type(*GPU_POOLS)}
    for name, release, values in _placed(graph):
        pool = pools[name]
        machine_types, disk = _node(graph, pool)
        for machine_type in machine_types:
            yield from _fits(release, values, machines.get((_cloud(pool), machine_type)), machine_type, disk)


def _fits(release, values: dict, machine, machine_type: str, disk: float | None):
    """Replicas of `release` packed on a node of `machine` fit its CPU, memory and disk."""
    gpus = _gpus(values)
    if machine is None or not gpus:
        return
    per_node = machine.gpu_count // gpus
    requests = (values.get("resources") or {}).get("requests") or {}
    if per_node < 1:
        yield release.urn, f"needs {gpus} GPUs; a {machine_type} node has {machine.gpu_count}", \
            "size the model onto a machine type with enough GPUs"
        return
    if machine.memory_mib and per_node * _gib(requests.get("memory", "0")) > machine.memory_mib / 1024 * HOST_RESERVE:
        yield (release.urn, f"{per_node} replica(s) × {requests.get('memory')} exceed {machine_type}'s allocatable "
               "memory", "request less memory per replica or place fewer replicas per node")
    if machine.vcpu and per_node * float(requests.get("cpu", 0)) > machine.vcpu * HOST_RESERVE:
        yield (release.urn, f"{per_node} replica(s) × {requests.get('cpu')} CPU exceed {machine_type}'s allocatable "
               "CPU", "request fewer cores per replica")
    local = _gib((values.get("weights") or {}).get("cache", {}).get("size", "0")) + sum(
        _gib(v) for v in (values.get("scratch") or {}).values())
    if disk and per_node * local > disk * (1 - EVICTION_FREE) - IMAGES_GIB:
        yield (release.urn, f"{per_node} replica(s) × {local:.0f} GiB of local cache and scratch exceed the "
               f"{disk} GiB node disk (less {IMAGES_GIB} GiB of images and the eviction floor)",
               "size the pool's boot disk from its replicas' caches (the plan's pool disk)")


def _placed(graph: Graph) -> Iterator[tuple[str, object, dict]]:
    """Each model-server release on a GPU pool of the graph: (the pool's resource name, the release, its values)."""
    pools = {p.name for p in graph.of_type(*GPU_POOLS)}
    for release in graph.of_type(CHART):
        values = release.inputs.get("values") or {}
        label = (values.get("nodeSelector") or {}).get(POOL_LABEL)
        cluster = graph.by_urn.get(release.provider)
        if cluster and label and f"{cluster.name}-{label}" in pools:
            yield f"{cluster.name}-{label}", release, values


# The NVIDIA driver branch a GPU node boots with, by what selects it. EKS: the EKS-optimised AL2023 AMIs, whose
# NVIDIA variant Karpenter picks for GPU instance types, build the 580 branch for every Kubernetes version they ship
# (awslabs/amazon-eks-ami templates/al2023/variables-default.json nvidia_driver_major_version "580", 2026-07; 570
# only for 1.28; "The EKS-optimized accelerated AMIs currently include NVIDIA driver version 580",
# https://docs.aws.amazon.com/eks/latest/userguide/ml-eks-optimized-ami.html). GKE: the COS driver labelled LATEST
# is the R580 branch from GKE 1.31 while DEFAULT stays R535 there (https://cloud.google.com/kubernetes-engine/docs/
# how-to/gpus#map-gke-cos-gpu, as transcribed 2026-10; rapidsai/deployment#656: DEFAULT gave 535 and CUDA 13
# failed, fixed by LATEST). A pinned AMI or a manually installed driver is not known here.
EKS_AMI_DRIVERS = {"al2023@latest": 580}
GKE_DRIVERS = {"LATEST": 580, "DEFAULT": 535}


def _node_driver(graph: Graph, pool) -> tuple[int | None, str]:
    """(driver branch, what selected it) of a GPU pool's nodes; None where the selection is not a known one."""
    if pool.type == GKE_POOL:
        accelerators = (pool.inputs.get("nodeConfig") or {}).get("guestAccelerators") or [{}]
        version = (accelerators[0].get("gpuDriverInstallationConfig") or {}).get("gpuDriverVersion")
        return GKE_DRIVERS.get(version), f"gpuDriverVersion {version}"
    node_class = node_class_of(graph, pool) if pool.type == KARPENTER_POOL else None
    terms = ((node_class.inputs.get("spec") or {}).get("amiSelectorTerms") or []) if node_class else []
    aliases = {t.get("alias") for t in terms}
    known = {EKS_AMI_DRIVERS.get(a) for a in aliases}
    return (known.pop() if len(known) == 1 else None), f"AMI {', '.join(sorted(map(str, aliases))) or 'unknown'}"


@rule("gpu-nodes-run-the-driver-their-image-needs",
      "NVIDIA CUDA Toolkit release notes, table 3: CUDA 13.0 needs driver >= 580.65.06 and a CUDA application "
      "fails to initialise on an older driver (https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/); the "
      "driver each node selection installs: EKS_AMI_DRIVERS / GKE_DRIVERS above, with their sources")
def nodes_run_the_driver(graph: Graph, _decisions):
    """A model server placed on nodes whose driver is older than its image's CUDA crash-loops on every replica:
    the region's sovereign core never serves. The image's need is images.yaml's min_driver."""
    needs = {(i.repository, i.tag): i.min_driver for i in IMAGES.values() if i.min_driver}
    pools = {p.name: p for p in graph.of_type(*GPU_POOLS)}
    for name, release, values in _placed(graph):
        image = values.get("image") or {}
        need = next((n for (repository, tag), n in needs.items()
                     if str(image.get("repository", "")).endswith(repository) and image.get("tag") == tag), None)
        if need is None:
            continue
        driver, selected = _node_driver(graph, pools[name])
        if driver is None or driver < need:
            found = f"driver {driver}" if driver else "a driver this plan cannot tell"
            yield (release.urn, f"its image needs NVIDIA driver >= {need}; pool {name}'s nodes ({selected}) run "
                   f"{found}", "select nodes with a new enough driver (EKS: AMI alias al2023@latest; GKE: "
                   "gpuDriverVersion LATEST)")


def _gpus(values: dict) -> int:
    return int((values.get("gpu") or {}).get("count") or 0)


def _machine(graph: Graph, pool):
    """The catalog's machine of the pool's (first) machine type, or None."""
    machine_types, _ = _node(graph, pool)
    machines = {(m.cloud, m.name): m for gpu in load_catalog().gpus.values() for m in gpu.machine_types}
    return machines.get((_cloud(pool), machine_types[0])) if machine_types else None


def _fixed_nodes(pool) -> int | None:
    """The nodes a pool that never grows has: an EKS group's or a GKE pool's size where its minimum is its maximum;
    None where a node autoscaler adds nodes for pending replicas (a Karpenter NodePool, a pool with room)."""
    if pool.type == NODE_GROUP:
        scaling = pool.inputs.get("scalingConfig") or {}
        low, high = scaling.get("minSize"), scaling.get("maxSize")
    elif pool.type == GKE_POOL:
        scaling = pool.inputs.get("autoscaling") or {}
        low, high = scaling.get("totalMinNodeCount"), scaling.get("totalMaxNodeCount")
    else:
        return None
    return low if low is not None and low == high else None


@rule("serving-pool-holds-every-replica-and-its-surge",
      "Kubernetes: a pod requesting nvidia.com/gpu stays Pending until one node has that many free "
      "(https://kubernetes.io/docs/tasks/manage-gpus/scheduling-gpus/), and a RollingUpdate with maxSurge 1 creates "
      "the new replica before removing an old one "
      "(https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#max-surge)")
def pool_holds_its_replicas(graph: Graph, _decisions):
    """Together the models on a GPU pool that never grows need its nodes to hold every replica in whatever order the
    scheduler places them, and during a rolling update the surge replica of each model besides (nothing adds a
    node for it). A pool with a node autoscaler gets the surge's node from it (up to its ceiling: the next rule)."""
    pools = {p.name: p for p in graph.of_type(*GPU_POOLS)}
    demand: dict[str, list[int]] = {}
    for name, _, values in _placed(graph):
        gpus = _gpus(values)
        strategy = values.get("strategy") or {}
        surge = strategy.get("type") == "RollingUpdate" and int(strategy.get("maxSurge") or 0) > 0
        demand.setdefault(name, []).extend([gpus] * (int(values.get("replicaCount") or 0) + surge))
    for name, pods in demand.items():
        pool = pools[name]
        machine, have = _machine(graph, pool), _fixed_nodes(pool)
        if machine is None or have is None:
            continue
        need = nodes_for(pods, machine.gpu_count)
        if need > have:
            yield (pool.urn, f"{have} node(s) of {machine.gpu_count} GPU(s) cannot hold {len(pods)} replica pod(s) "
                   f"needing {sum(pods)} GPUs in any placement (with rolling-update surges): {need} can",
                   f"raise the pool's minimum to {need}, or roll the models one replica at a time (maxSurge 0) or "
                   "by Recreate")


HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
# The chart whose release installs each API group's CRDs (GKE's monitoring.googleapis.com comes with the cluster).
CRD_INSTALLERS = {"keda.sh": "keda", "monitoring.coreos.com": "kube-prometheus-stack",
                  "karpenter.sh": "karpenter-crd", "karpenter.k8s.aws": "karpenter-crd"}
# What a model-server release renders of those groups, by the value that turns it on.
CHART_GROUPS = ((("autoscaling", "enabled"), "keda.sh"), (("metrics", "serviceMonitor", "enabled"), "monitoring.coreos.com"))


def _value(values: dict, path: tuple[str, ...]):
    for key in path:
        values = values.get(key) if isinstance(values, dict) else None
    return values


def _groups(resource) -> set[str]:
    """The custom API groups a resource creates objects of: its own type's, or what a chart or release renders."""
    if resource.type == CHART:
        values = resource.inputs.get("values") or {}
        return {group for path, group in CHART_GROUPS if _value(values, path)}
    if resource.type == HELM_RELEASE:
        # A third-party chart's own ServiceMonitor (dcgm-exporter's), unless it is the chart installing the CRD.
        chart = str(resource.inputs.get("chart", "")).rsplit("/", 1)[-1]
        wants = _value(resource.inputs.get("values") or {}, ("serviceMonitor", "enabled"))
        return {"monitoring.coreos.com"} if wants and chart != CRD_INSTALLERS["monitoring.coreos.com"] else set()
    if resource.type.startswith("kubernetes:"):
        group = resource.type.split(":")[1].rsplit("/", 1)[0]
        return {group} if group in CRD_INSTALLERS else set()
    return set()


@rule("custom-resources-after-their-crds",
      "Kubernetes, CustomResourceDefinitions: objects of a kind are served only once its CRD is established; before "
      "that the API server answers 404 and the client 'no matches for kind'; "
      "https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/")
def after_their_crds(graph: Graph, _decisions):
    """A ScaledObject, ServiceMonitor, PrometheusRule or Karpenter NodePool registered beside the release that
    installs its CRD (not after it) fails on the first `pulumi up` of a new cluster: nothing orders the two."""
    # By chart name, whether from a repository or an OCI reference (oci://…/karpenter-crd).
    installers = {r.urn: str(r.inputs.get("chart", "")).rsplit("/", 1)[-1] for r in graph.of_type(HELM_RELEASE)}
    for resource in graph.resources:
        groups = _groups(resource)
        if not groups:
            continue
        waits_for = {installers[u] for u in graph.upstream(resource) if u in installers}
        for group in sorted(groups):
            if CRD_INSTALLERS[group] not in waits_for:
                yield (resource.urn, f"creates {group} objects without waiting for the {CRD_INSTALLERS[group]} "
                       "release that installs their CRDs", f"make it depend on the {CRD_INSTALLERS[group]} release")


def _max_gpus(pool) -> int | None:
    """The GPUs a Karpenter NodePool may grow to: its `nvidia.com/gpu` limit."""
    if pool.type == KARPENTER_POOL:
        limit = ((pool.inputs.get("spec") or {}).get("limits") or {}).get("nvidia.com/gpu")
        return int(limit) if limit is not None else None
    return None


def _max_nodes(pool) -> int | None:
    """The nodes an EKS group or a GKE pool may grow to."""
    if pool.type == NODE_GROUP:
        return (pool.inputs.get("scalingConfig") or {}).get("maxSize")
    if pool.type == GKE_POOL:
        return (pool.inputs.get("autoscaling") or {}).get("totalMaxNodeCount")
    return None


@rule("serving-pool-grows-to-the-max-replicas",
      "Karpenter NodePools: once a NodePool's limits are reached it launches no more nodes "
      "(https://karpenter.sh/docs/concepts/nodepools/#speclimits); GKE cluster autoscaler: a pool never grows past "
      "its maximum node count (https://cloud.google.com/kubernetes-engine/docs/concepts/cluster-autoscaler)")
def pool_grows_to_max(graph: Graph, _decisions):
    """A model's scaler may raise it to its maximum replicas, and an update then adds its surge replica: the node
    autoscaler must be allowed the nodes those (with every other model's on the pool at its maximum) need, or the
    extra replicas stay Pending and the rollout stalls."""
    pools = {p.name: p for p in graph.of_type(*GPU_POOLS)}
    demand: dict[str, list[int]] = {}
    for name, _, values in _placed(graph):
        gpus = _gpus(values)
        scaling = values.get("autoscaling") or {}
        replicas = int(scaling.get("maxReplicas") if scaling.get("enabled") else values.get("replicaCount") or 0)
        strategy = values.get("strategy") or {}
        surge = strategy.get("type") == "RollingUpdate" and int(strategy.get("maxSurge") or 0) > 0
        demand.setdefault(name, []).extend([gpus] * (replicas + surge))
    for name, pods in demand.items():
        pool = pools[name]
        machine = _machine(graph, pool)
        if machine is None:
            continue
        need = nodes_for(pods, machine.gpu_count)
        nodes = _max_nodes(pool)
        gpus = _max_gpus(pool)
        if nodes is not None and nodes < need:
            yield (pool.urn, f"grows to {nodes} node(s); its models' maximum replicas and surges need {need}",
                   f"raise the pool's maximum to {need}")
        elif gpus is not None and gpus < need * machine.gpu_count:
            yield (pool.urn, f"limited to {gpus} GPUs; its models' maximum replicas and surges need {need} node(s) of "
                   f"{machine.gpu_count}", f"raise the NodePool's nvidia.com/gpu limit to {need * machine.gpu_count}")
