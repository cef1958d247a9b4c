"""GPU placement and serving resources, on every pod-bearing Kubernetes object of the stack.

gpu-workloads-request-and-tolerate-gpus — a GPU workload is a pod template that requests `nvidia.com/gpu`,
  selects GPU nodes (the platform's `sovereign.ai/gpu` / `sovereign.ai/pool` labels, GKE's accelerator label,
  NVIDIA GFD's) or is a model server (`app.kubernetes.io/name: model-server`). It must request GPUs in its
  limits (requests, if given, equal to limits: Kubernetes does not overcommit extended resources) and tolerate
  the GPU pools' taint `nvidia.com/gpu=present:NoSchedule`, or it never schedules onto the GPU nodes — or,
  without a GPU request, holds a GPU node it cannot use. A DaemonSet (a per-node agent such as the device
  plugin) may select GPU nodes without requesting GPUs, but must still tolerate the taint.
serving-containers-set-limits — every container (init containers included) of a workload in sovereign-serving or
  sovereign-gateway, or carrying the model-server / inference-gateway pod labels, sets CPU and memory limits:
  an unbounded container on a GPU node starves the model server next to it.
"""

from __future__ import annotations

from typing import Iterator

from sovereign.domain.workloads import SERVING_POD_LABELS

from .base import resource_policy
from .k8s import (
    DAEMONSET, GPU_RESOURCE, GPU_TAINT_EFFECT, GPU_TAINT_KEY, GPU_TAINT_VALUE, WORKLOAD_TYPES, containers,
    gpu_quantity, is_serving, pod_labels, pod_spec, targets_gpu_nodes, tolerates_gpu_taint,
)
from .props import as_dict


def _gpu(container: dict, field: str) -> float:
    return gpu_quantity(as_dict(as_dict(container.get("resources")).get(field)).get(GPU_RESOURCE, 0))


def _check_gpu(resource_type: str, props: dict, args) -> Iterator[str]:
    spec = pod_spec(resource_type, props)
    if spec is None:
        return
    labels = pod_labels(resource_type, props)
    model_server = all(labels.get(k) == v for k, v in SERVING_POD_LABELS.items())
    pods = list(containers(spec, ("initContainers", "containers")))
    requests_gpu = any(_gpu(c, "limits") > 0 or _gpu(c, "requests") > 0 for _, c in pods)
    if not (requests_gpu or targets_gpu_nodes(spec) or model_server):
        return
    what = f"{resource_type.rsplit(':', 1)[-1]} {args.name}"
    if not any(_gpu(c, "limits") > 0 for _, c in pods) and resource_type != DAEMONSET:
        reason = "is a model server" if model_server else "selects GPU nodes" if targets_gpu_nodes(spec) else \
            "requests GPUs"
        yield (f"{what} {reason} but no container sets resources.limits[\"{GPU_RESOURCE}\"]: it would hold a GPU "
               "node without a GPU, or run on none; set the GPU count in the limits (the chart's gpu.count)")
    for kind, container in pods:
        requested, limited = _gpu(container, "requests"), _gpu(container, "limits")
        if requested and requested != limited:
            yield (f"{what} {kind} {container.get('name')}: {GPU_RESOURCE} requests {requested:g} but limits "
                   f"{limited:g}; extended resources are set in limits (requests, if given, must be equal)")
    if not tolerates_gpu_taint(spec):
        yield (f"{what} runs on GPU nodes but does not tolerate their taint "
               f"{GPU_TAINT_KEY}={GPU_TAINT_VALUE}:{GPU_TAINT_EFFECT}; add the toleration "
               f"(key {GPU_TAINT_KEY}, operator Equal, value {GPU_TAINT_VALUE}, effect {GPU_TAINT_EFFECT})")


gpu_workloads = resource_policy(
    "gpu-workloads-request-and-tolerate-gpus",
    "GPU workloads request nvidia.com/gpu in their limits and tolerate the GPU node pools' taint.",
    WORKLOAD_TYPES, _check_gpu)


def _check_limits(resource_type: str, props: dict, args) -> Iterator[str]:
    spec = pod_spec(resource_type, props)
    if spec is None or not is_serving(resource_type, props):
        return
    for kind, container in containers(spec):
        limits = as_dict(as_dict(container.get("resources")).get("limits"))
        missing = [r for r in ("cpu", "memory") if limits.get(r) in (None, "", 0, "0")]
        if missing:
            yield (f"{resource_type.rsplit(':', 1)[-1]} {args.name} {kind} {container.get('name')} sets no "
                   f"{' or '.join(missing)} limit; serving containers share GPU nodes and must be bounded")


serving_limits = resource_policy(
    "serving-containers-set-limits",
    "Containers of the model servers and the gateway set CPU and memory limits.",
    WORKLOAD_TYPES, _check_limits)

POLICIES = [gpu_workloads, serving_limits]
