"""What Karpenter and EKS enforce on the GPU nodes Karpenter launches (components/aws/karpenter.py)."""

from __future__ import annotations

import json

from .aws import _list, graph_dependencies
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


@rule("karpenter-controller-may-launch-and-find-the-cluster",
      "Karpenter getting started (cloudformation.yaml: AllowPassingInstanceRole, AllowAPIServerEndpointDiscovery): "
      "RunInstances with an instance profile needs iam:PassRole on its role, and AL2023 node classes validate only "
      "once DescribeCluster gives the service CIDR (pkg/controllers/nodeclass/validation.go); "
      "https://karpenter.sh/docs/getting-started/getting-started-with-karpenter/")
def controller_permissions(graph: Graph, _decisions):
    """The controller's own role (the one its release's service account names) must pass the nodes' role and
    describe the cluster, or no node ever launches."""
    for release in graph.of_type("kubernetes:helm.sh/v3:Release"):
        if not str(release.inputs.get("chart", "")).endswith("/karpenter"):
            continue
        roles = {u for u in release.dependencies.get("values", []) if u in graph.by_urn and graph.by_urn[u].type == ROLE}
        statements = [(st, graph_dependencies(p)) for p in graph.of_type("aws:iam/rolePolicy:RolePolicy")
                      if roles & set(p.dependencies.get("role", []))
                      for st in json.loads(p.inputs.get("policy") or "{}").get("Statement", [])
                      if st.get("Effect") == "Allow"]

        def allows(action: str) -> list[set[str]]:
            return [deps for st, deps in statements if action in _list(st.get("Action"))]
        node_roles = {role.urn for c in graph.of_type(NODE_CLASS) if (role := node_role(graph, c)) is not None}
        if not any(node_roles <= deps for deps in allows("iam:PassRole")):
            yield release.urn, "its role may not pass the nodes' role: every launch is refused", \
                "allow iam:PassRole on the nodes' role"
        if not allows("eks:DescribeCluster"):
            yield release.urn, "its role may not describe the cluster: AL2023 node classes never validate", \
                "allow eks:DescribeCluster on the cluster"



@rule("karpenter-outlives-its-nodes-on-teardown",
      "Karpenter, NodeClasses: deleting an EC2NodeClass waits (its finalizer) until Karpenter has terminated every "
      "node launched from it, through the EC2 API (https://karpenter.sh/docs/concepts/nodeclasses/); Pulumi deletes "
      "a resource only after everything that depends on it (https://www.pulumi.com/docs/iac/concepts/resources/)")
def outlives_nodes(graph: Graph, _decisions):
    """A node class that does not depend on the private subnets' NAT routes and on the controller lets a teardown
    remove those first: Karpenter can no longer reach EC2, its instances stay in the subnets and the VPC's delete
    fails."""
    controllers = {r.urn for r in graph.of_type("kubernetes:helm.sh/v3:Release")
                   if str(r.inputs.get("chart", "")).endswith("/karpenter")}
    for node_class in graph.of_type(NODE_CLASS):
        upstream = graph.upstream(node_class)
        routes = [u for u in upstream if u in graph.by_urn and graph.by_urn[u].type == "aws:ec2/route:Route"
                  and graph.by_urn[u].inputs.get("natGatewayId")]
        if not routes or not controllers & upstream:
            yield (node_class.urn, "a teardown may remove Karpenter or its way out to EC2 before this node class's "
                   "nodes are terminated", "make it depend on the Karpenter release and the private subnets' NAT routes")
