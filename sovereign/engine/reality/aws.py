"""What EKS enforces on node groups and cluster access."""

from __future__ import annotations

from .engine import Graph, rule

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
CLUSTER = "aws:eks/cluster:Cluster"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
# What would own a node group's desired size if the program ignored it: nothing of the kind is installed.
AUTOSCALERS = ("cluster-autoscaler", "karpenter")


@rule("eks-node-group-desired-size-tracked",
      "AWS EKS API Reference, NodegroupScalingConfig: desiredSize must be >= minSize; UpdateNodegroupConfig "
      "rejects a minSize above the current desired size (\"Minimum capacity 2 can't be greater than desired "
      "size 1\"); https://docs.aws.amazon.com/eks/latest/APIReference/API_NodegroupScalingConfig.html")
def desired_size_tracked(graph: Graph, _decisions):
    """A desired size the program ignores stays where the first `pulumi up` put it: a later minimum above it
    (a drill raising the survivor's floor) is refused by EKS. Only an autoscaler may own it."""
    autoscaled = any(name in r.urn for r in graph.resources for name in AUTOSCALERS)
    for group in graph.of_type(NODE_GROUP):
        scaling = group.inputs.get("scalingConfig") or {}
        low, high, desired = (scaling.get(k) for k in ("minSize", "maxSize", "desiredSize"))
        ignored = any(path.startswith("scalingConfig") for path in group.options.get("ignoreChanges") or [])
        if desired is None or not (low <= desired <= high):
            yield group.urn, f"desiredSize {desired} outside [{low}, {high}]", "set desiredSize within min and max"
        elif ignored and not autoscaled:
            yield (group.urn, "scalingConfig.desiredSize is ignored but no autoscaler owns it",
                   "track desiredSize (= the plan's minimum) until an autoscaler is installed")


@rule("eks-access-entry-not-the-bootstrapped-creator",
      "AWS EKS User Guide, access entries: with bootstrapClusterCreatorAdminPermissions the creator already "
      "has an access entry, and CreateAccessEntry for the same principal fails with ResourceInUseException "
      "(409); https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAccessEntry.html")
def access_entry_vs_bootstrap(graph: Graph, _decisions):
    """An explicit admin entry beside the bootstrapped creator breaks as soon as the deployer is that admin."""
    entries = list(graph.of_type(ACCESS_ENTRY))
    for cluster in graph.of_type(CLUSTER):
        bootstrap = (cluster.inputs.get("accessConfig") or {}).get("bootstrapClusterCreatorAdminPermissions")
        clashing = [e for e in entries if cluster.urn in graph_dependencies(e)]
        if bootstrap and clashing:
            yield (cluster.urn, "bootstraps the creator as admin and also creates an admin access entry",
                   "manage admins explicitly: bootstrapClusterCreatorAdminPermissions false, the admin role's "
                   "access entry, and the deployer reaching the cluster through that role")


def graph_dependencies(resource) -> set[str]:
    """Every URN a resource's inputs came from, and its explicit dependsOn."""
    return {u for urns in resource.dependencies.values() for u in urns} | set(resource.options.get("dependsOn") or [])
