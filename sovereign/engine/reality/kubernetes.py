"""What a Kubernetes provider and what runs through it wait for."""

from __future__ import annotations

from .engine import Graph, rule

K8S_PROVIDER = "pulumi:providers:kubernetes"
GPU_POOLS = ("aws:eks/nodeGroup:NodeGroup", "gcp:container/nodePool:NodePool")


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
