"""Kubernetes objects as the engine registers them: Pulumi type tokens, pod templates, containers.

A `kubernetes:helm.sh/v4:Chart` renders its chart on the client and registers every object as its own child
resource (`kubernetes:apps/v1:Deployment`, `kubernetes:core/v1:ConfigMap`, …) with the manifest as its
properties, so the workload policies see exactly what a hand-written `k8s.apps.v1.Deployment` would give them.
(A `kubernetes:helm.sh/v3:Release` installs server-side: its objects are not resources of the stack.)
"""

from __future__ import annotations

from typing import Any, Iterator

from sovereign.domain.topology import GPU_LABEL, GPU_TAINT, POOL_LABEL
from sovereign.domain.workloads import (
    GATEWAY_NAMESPACE, GATEWAY_POD_LABELS, SERVING_NAMESPACE, SERVING_POD_LABELS,
)

from .props import as_dict, as_list, dig

GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT_KEY, GPU_TAINT_VALUE, GPU_TAINT_EFFECT = GPU_TAINT
# Node labels that put a pod on GPU nodes: the platform's pools, GKE's accelerator label, NVIDIA GFD's label.
GPU_NODE_LABELS = (GPU_LABEL, POOL_LABEL, "cloud.google.com/gke-accelerator", "nvidia.com/gpu.present",
                   "nvidia.com/gpu.product")
FENCED_NAMESPACES = (SERVING_NAMESPACE, GATEWAY_NAMESPACE)
SERVING_LABELS = (SERVING_POD_LABELS, GATEWAY_POD_LABELS)

# Pulumi type token → where the pod spec sits in the object.
WORKLOAD_TYPES = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:core/v1:ReplicationController": ("spec", "template", "spec"),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
DAEMONSET = "kubernetes:apps/v1:DaemonSet"
CONFIGMAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
CHART_TYPES = ("kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Chart", "kubernetes:helm.sh/v3:Release")


def type_token(api_version: str, kind: str) -> str:
    """`apps/v1` + `Deployment` → `kubernetes:apps/v1:Deployment` (core group: `kubernetes:core/v1:…`)."""
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{kind}"


def pod_spec(resource_type: str, props: dict) -> dict | None:
    path = WORKLOAD_TYPES.get(resource_type)
    if path is None:
        return None
    spec = dig(props, *path)
    return spec if isinstance(spec, dict) else None


def pod_labels(resource_type: str, props: dict) -> dict:
    path = WORKLOAD_TYPES.get(resource_type)
    if path is None:
        return {}
    if path == ("spec",):
        return as_dict(dig(props, "metadata", "labels"))
    return as_dict(dig(props, *path[:-1], "metadata", "labels"))


def namespace(props: dict) -> str:
    value = dig(props, "metadata", "namespace")
    return value if isinstance(value, str) else ""


def containers(spec: dict, kinds: tuple[str, ...] = ("initContainers", "containers", "ephemeralContainers")
               ) -> Iterator[tuple[str, dict]]:
    for kind in kinds:
        for container in as_list(spec.get(kind)):
            if isinstance(container, dict):
                yield kind, container


def is_serving(resource_type: str, props: dict) -> bool:
    """A model server or gateway workload: in a fenced namespace, or carrying their pod labels."""
    labels = pod_labels(resource_type, props)
    return namespace(props) in FENCED_NAMESPACES or any(
        all(labels.get(k) == v for k, v in wanted.items()) for wanted in SERVING_LABELS)


def gpu_quantity(value: Any) -> float:
    try:
        return float(str(value))
    except ValueError:
        return 0.0


def tolerates_gpu_taint(spec: dict) -> bool:
    for tol in as_list(spec.get("tolerations")):
        if not isinstance(tol, dict):
            continue
        key, operator = tol.get("key") or "", tol.get("operator") or "Equal"
        effect = tol.get("effect") or ""
        if effect not in ("", GPU_TAINT_EFFECT):
            continue
        if operator == "Exists" and key in ("", GPU_TAINT_KEY):
            return True
        if operator == "Equal" and key == GPU_TAINT_KEY and tol.get("value") == GPU_TAINT_VALUE:
            return True
    return False


def targets_gpu_nodes(spec: dict) -> bool:
    if any(label in as_dict(spec.get("nodeSelector")) for label in GPU_NODE_LABELS):
        return True
    terms = dig(spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                "nodeSelectorTerms")
    for term in as_list(terms):
        for expr in as_list(dig(term, "matchExpressions")):
            if isinstance(expr, dict) and expr.get("key") in GPU_NODE_LABELS \
                    and expr.get("operator") in ("In", "Exists"):
                return True
    return False
