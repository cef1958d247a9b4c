"""At least one serving provider remains in the stack — also in a drill that takes one cloud away.

A serving provider is a GPU cluster (`aws:eks/cluster:Cluster` or `gcp:container/cluster:Cluster`) with
- a GPU node pool attached to it: an EKS node group with an NVIDIA/GPU AMI, the GPU taint or the platform's GPU
  label, a Karpenter NodePool whose nodes carry the GPU taint or label, or a GKE node pool with guest
  accelerators, a GPU machine family (a2/a3/a4/g2/g4) or the GPU label — that can scale above zero nodes (a
  NodePool: an `nvidia.com/gpu` limit above zero, or none); attached = it depends on the cluster, or names it
  (clusterName / cluster); a NodePool, through its Kubernetes provider as a release is bound;
- a model release bound to it: a model-server workload (chart output or hand-written) or a helm release of the
  model-server chart / into sovereign-serving / under the program's `sovereign:k8s:ModelServing` component.
  Bound = its Kubernetes provider depends on the cluster; else that provider, the release or its parent is
  named after the cluster (the program names them `<region>-<cloud>` like the cluster); else the stack has a
  single cluster.
A stack validation sees resources with their outputs; a component's outputs hold none of its inputs, which is
why a release is recognised by its rendered workloads or its place in the graph as well as by its props.
"""

from __future__ import annotations

from typing import Iterator, Optional

from pulumi_policy import PolicyResource, StackValidationArgs

from sovereign.domain.topology import GPU_LABEL
from sovereign.domain.workloads import SERVING_NAMESPACE, SERVING_POD_LABELS

from .base import stack_policy
from .k8s import CHART_TYPES, GPU_TAINT_KEY, WORKLOAD_TYPES, pod_labels, pod_spec
from .props import Unknown, as_dict, as_list, dig, plain

EKS, GKE = "aws:eks/cluster:Cluster", "gcp:container/cluster:Cluster"
EKS_GROUP, GKE_POOL = "aws:eks/nodeGroup:NodeGroup", "gcp:container/nodePool:NodePool"
KARPENTER_POOL = "kubernetes:karpenter.sh/v1:NodePool"
MODEL_SERVING_COMPONENT = "sovereign:k8s:ModelServing"
_GPU_MACHINE_FAMILIES = ("a2-", "a3-", "a4-", "g2-", "g4-")


def _number(value: object, default: float) -> float:
    if isinstance(value, Unknown) or value is None:
        return default
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


def _is_gpu_pool(r: PolicyResource, props: dict) -> bool:
    if r.resource_type == KARPENTER_POOL:
        template = as_dict(dig(props, "spec", "template"))
        gpu = any(as_dict(t).get("key") == GPU_TAINT_KEY for t in as_list(dig(template, "spec", "taints"))) \
            or GPU_LABEL in as_dict(dig(template, "metadata", "labels"))
        return gpu and _number(dig(props, "spec", "limits", "nvidia.com/gpu"), 1) > 0
    if r.resource_type == EKS_GROUP:
        ami = props.get("amiType")
        gpu = (isinstance(ami, str) and ("NVIDIA" in ami or "GPU" in ami)) \
            or any(as_dict(t).get("key") == GPU_TAINT_KEY for t in as_list(props.get("taints"))) \
            or GPU_LABEL in as_dict(props.get("labels"))
        return gpu and _number(dig(props, "scalingConfig", "maxSize"), 1) > 0
    config = as_dict(props.get("nodeConfig"))
    machine = config.get("machineType")
    gpu = any(_number(as_dict(a).get("count"), 1) > 0 for a in as_list(config.get("guestAccelerators"))) \
        or (isinstance(machine, str) and machine.startswith(_GPU_MACHINE_FAMILIES)) \
        or GPU_LABEL in as_dict(config.get("labels"))
    autoscaling = as_dict(props.get("autoscaling"))
    if autoscaling:
        most = max(_number(autoscaling.get("totalMaxNodeCount"), 0), _number(autoscaling.get("maxNodeCount"), 0))
        if not autoscaling.get("totalMaxNodeCount") and not autoscaling.get("maxNodeCount"):
            most = 1  # autoscaling block without bounds: GKE's defaults, not a parked pool
    else:
        most = max(_number(props.get("nodeCount"), 0), _number(props.get("initialNodeCount"), 1))
    return gpu and most > 0


def _depends_on(r: PolicyResource, urn: str) -> bool:
    deps = list(r.dependencies or [])
    for values in (r.property_dependencies or {}).values():
        deps.extend(values)
    return any(d is not None and d.urn == urn for d in deps)


def _is_release(r: PolicyResource, props: dict, parents: dict[str, PolicyResource]) -> bool:
    if r.resource_type in WORKLOAD_TYPES:
        labels = pod_labels(r.resource_type, props)
        return pod_spec(r.resource_type, props) is not None \
            and all(labels.get(k) == v for k, v in SERVING_POD_LABELS.items())
    if r.resource_type in CHART_TYPES:
        chart = props.get("chart")
        if (isinstance(chart, str) and chart.rstrip("/").endswith("model-server")) \
                or props.get("namespace") == SERVING_NAMESPACE:
            return True
        parent = parents.get(r.urn)
        return parent is not None and parent.resource_type == MODEL_SERVING_COMPONENT
    return False


def _check(args: StackValidationArgs) -> Iterator[tuple[str, Optional[str]]]:
    resources = [r for r in args.resources if r is not None]
    by_urn = {r.urn: r for r in resources}
    props = {r.urn: plain(r.props) for r in resources}
    parents = {r.urn: r.parent for r in resources if r.parent is not None}
    children: dict[str, list[PolicyResource]] = {}
    for r in resources:
        if r.parent is not None:
            children.setdefault(r.parent.urn, []).append(r)
    clusters = [r for r in resources if r.resource_type in (EKS, GKE)]

    def attached(pool: PolicyResource, cluster: PolicyResource) -> bool:
        if pool.resource_type == KARPENTER_POOL:
            return cluster.resource_type == EKS and bound(pool, cluster)
        if pool.resource_type != (EKS_GROUP if cluster.resource_type == EKS else GKE_POOL):
            return False
        named = props[pool.urn].get("clusterName" if cluster.resource_type == EKS else "cluster")
        return _depends_on(pool, cluster.urn) or (
            isinstance(named, str) and named in (props[cluster.urn].get("name"), cluster.name))

    def providers_of(r: PolicyResource) -> list:
        own = [r.provider] if r.provider is not None else []
        return own or [c.provider for c in children.get(r.urn, []) if c.provider is not None]

    def bound(release: PolicyResource, cluster: PolicyResource) -> bool:
        names = {cluster.name, props[cluster.urn].get("name")}
        for provider in providers_of(release):
            resource = by_urn.get(provider.urn)
            if resource is not None and _depends_on(resource, cluster.urn):
                return True
            if provider.name in names:
                return True
        parent = parents.get(release.urn)
        for name in (release.name, parent.name if parent is not None else None):
            if isinstance(name, str) and any(isinstance(n, str) and (name == n or name.startswith(n + "-"))
                                             for n in names):
                return True
        return len(clusters) == 1

    findings = []
    for cluster in clusters:
        pools = [p for p in resources if attached(p, cluster) and _is_gpu_pool(p, props[p.urn])]
        releases = [r for r in resources if _is_release(r, props[r.urn], parents) and bound(r, cluster)]
        if pools and releases:
            return
        missing = [what for what, ok in (("GPU node pool that can scale above zero", pools),
                                         ("model release", releases)) if not ok]
        findings.append(f"{cluster.resource_type.split(':')[0].upper()} cluster {cluster.name} has no "
                        f"{' and no '.join(missing)}")
    detail = "; ".join(findings) if findings else "the stack has no EKS or GKE cluster"
    yield (f"No serving provider remains: {detail}. A region (and every drill of it) must keep at least one "
           "cloud's GPU cluster with a GPU node pool and model releases, or its sovereign core serves nothing."), None


serving_remains = stack_policy(
    "serving-provider-remains",
    "At least one GPU cluster with a GPU node pool and model releases remains in the stack.",
    _check)

POLICIES = [serving_remains]
