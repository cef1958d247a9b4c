"""What Karpenter and EKS enforce on the GPU nodes Karpenter launches (components/aws/karpenter.py)."""

from __future__ import annotations

import json

from .aws import graph_dependencies
from .engine import Graph, rule

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"
ROLE = "aws:iam/role:Role"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def node_class_of(graph: Graph, pool):
    name = ((pool.inputs.get("spec") or {}).get("template", {}).get("spec", {}).get("nodeClassRef") or {}).get("name")
    return next((c for c in graph.of_type(NODE_CLASS) if c.provider == pool.provider
                 and (c.inputs.get("metadata") or {}).get("name") == name), None)


def node_role(graph: Graph, node_class):
    """The IAM role a node class's nodes launch with, through the instance profile the stack made."""
    profile = next((graph.by_urn[u] for u in node_class.dependencies.get("spec", [])
                    if u in graph.by_urn and graph.by_urn[u].type == INSTANCE_PROFILE), None)
    return graph.linked(profile, "role", ROLE) if profile else None


def requirement(pool, key: str) -> list[str]:
    spec = (pool.inputs.get("spec") or {}).get("template", {}).get("spec", {})
    return next((r.get("values") or [] for r in spec.get("requirements") or [] if r.get("key") == key), [])


@rule("karpenter-nodes-join-through-an-access-entry",
      "Amazon EKS User Guide, access entries: nodes outside managed node groups join a cluster in API authentication "
      "mode only through an access entry of type EC2_LINUX for their role, while EKS creates that entry itself for "
      "a managed node group's role (CreateAccessEntry then fails, 409); "
      "https://docs.aws.amazon.com/eks/latest/userguide/creating-access-entries.html; Karpenter, migrating from "
      "aws-auth: https://karpenter.sh/docs/upgrading/v1-migration/")
def nodes_join(graph: Graph, _decisions):
    """Without the entry Karpenter's nodes boot and never register: every GPU replica stays Pending while instances
    run and bill. With a managed group's role the entry is refused."""
    entries = {u: e for e in graph.of_type(ACCESS_ENTRY) if e.inputs.get("type") == "EC2_LINUX"
               for u in e.dependencies.get("principalArn", [])}
    group_roles = {u for g in graph.of_type(NODE_GROUP) for u in g.dependencies.get("nodeRoleArn", [])}
    for node_class in graph.of_type(NODE_CLASS):
        role = node_role(graph, node_class)
        if role is None:
            continue
        if role.urn not in entries:
            yield (node_class.urn, "its nodes' role has no EC2_LINUX access entry: they never join the cluster",
                   "create an access entry of type EC2_LINUX for the role")
        elif role.urn in group_roles:
            yield (entries[role.urn].urn, "an EC2_LINUX entry for a managed node group's role, which EKS creates "
                   "itself: 409", "give Karpenter's nodes a role of their own")


@rule("karpenter-reserved-pool-selects-its-reservation",
      "Karpenter, NodeClasses: capacity reservations are used only as spec.capacityReservationSelectorTerms select "
      "them, and a NodePool allowing only the reserved capacity type launches nothing without one "
      "(https://karpenter.sh/docs/concepts/nodeclasses/#speccapacityreservationselectorterms; "
      "https://karpenter.sh/docs/concepts/nodepools/#capacity-type)")
def reserved_selects(graph: Graph, _decisions):
    """A pool bought as a reservation or Capacity Block, whose node class names none: no node ever launches; one
    that also allows on-demand quietly pays on-demand beside an idle reservation."""
    for pool in graph.of_type(NODE_POOL):
        capacity = set(requirement(pool, "karpenter.sh/capacity-type"))
        node_class = node_class_of(graph, pool)
        selects = bool(node_class and (node_class.inputs.get("spec") or {}).get("capacityReservationSelectorTerms"))
        if capacity == {"reserved"} and not selects:
            yield (pool.urn, "allows only reserved capacity and its node class selects no reservation",
                   "name the reservation in the EC2NodeClass's capacityReservationSelectorTerms")
        elif selects and capacity != {"reserved"}:
            yield (pool.urn, f"selects a reservation but launches {', '.join(sorted(capacity - {'reserved'}))} "
                   "capacity too", "allow only the reserved capacity type")


@rule("karpenter-controller-may-launch-with-the-node-role",
      "Karpenter getting started (cloudformation.yaml, AllowPassingInstanceRole): RunInstances with an instance "
      "profile needs iam:PassRole on its role; "
      "https://karpenter.sh/docs/getting-started/getting-started-with-karpenter/")
def controller_passes_role(graph: Graph, _decisions):
    """Without iam:PassRole on the nodes' role every launch fails with UnauthorizedOperation."""
    granted = {}
    for policy in graph.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy.inputs.get("policy") or "{}").get("Statement", []):
            actions = statement.get("Action")
            if statement.get("Effect") == "Allow" and "iam:PassRole" in (actions if isinstance(actions, list)
                                                                          else [actions]):
                granted.setdefault(policy.urn, set()).update(graph_dependencies(policy))
    passed = set().union(*granted.values()) if granted else set()
    for node_class in graph.of_type(NODE_CLASS):
        role = node_role(graph, node_class)
        if role is not None and role.urn not in passed:
            yield (node_class.urn, "no role policy lets Karpenter pass its nodes' role", "allow iam:PassRole on it")
