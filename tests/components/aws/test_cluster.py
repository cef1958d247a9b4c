"""`sovereign:aws:GpuCluster` as the engine receives it: every assertion reads the registered resources'
inputs and options, for every stack that runs an AWS cluster."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pulumi
import pytest
import yaml

from components.aws import nodes
from sovereign.domain.stackfile import stack_file
from sovereign.domain.sizing import nodes_for, pods
from sovereign.domain.topology import GPU_TAINT
from sovereign.engine.graph import SECRET_MASK
from sovereign.engine.run import plan_stack
from tests.support.graph import Graph
from tests.support.stacks import AWS_STACKS
from tests.support.tokens import T

ARN = re.compile(r"\barn:([a-z-]+):")


def cluster_plan(graph: Graph):
    return graph.plan.decisions.cluster("aws").plan


def partition(graph: Graph) -> str:
    return cluster_plan(graph).cloud.region.partition


def role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def attached_policies(children: Graph, role: str) -> set[str]:
    return {a.inputs["policyArn"] for a in children.all(T.IAM_ROLE_POLICY_ATTACHMENT) if a.inputs["role"] == role}


def routed_subnets(children: Graph) -> dict[str, tuple[str, object]]:
    """Subnet URN → ("nat" | "igw", the NAT gateway or internet gateway its default route uses)."""
    default = {}
    for route in children.all(T.ROUTE):
        assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
        [table] = children.deps(route, T.ROUTE_TABLE)
        nats, igws = children.deps(route, T.NAT_GATEWAY), children.deps(route, T.INTERNET_GATEWAY)
        assert len(nats) + len(igws) == 1, route.urn
        default[table.urn] = ("nat", nats[0]) if nats else ("igw", igws[0])
    routed = {}
    for association in children.all(T.ROUTE_TABLE_ASSOCIATION):
        [subnet], [table] = children.deps(association, T.SUBNET), children.deps(association, T.ROUTE_TABLE)
        routed[subnet.urn] = default[table.urn]
    return routed


def private_subnets(children: Graph) -> list:
    return [children.urn(u) for u, (via, _) in routed_subnets(children).items() if via == "nat"]


def node_groups(children: Graph) -> dict[str, object]:
    return {g.inputs["nodeGroupName"]: g for g in children.all(T.EKS_NODE_GROUP)}


def aws_cluster(plan) -> Graph:
    """The children of the stack's AWS cluster component."""
    return Graph.of(plan).component(T.AWS_GPU_CLUSTER)


@pytest.fixture
def graph(plans, stack):
    return aws_cluster(plans[stack])


def test_there_are_aws_stacks_and_one_is_in_the_china_partition():
    assert len(AWS_STACKS) >= 3
    assert "cn-north" in AWS_STACKS


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_cluster_runs_the_planned_version_behind_a_private_endpoint(graph):
    cloud = cluster_plan(graph).cloud
    cluster = graph.one(T.EKS_CLUSTER)
    assert cluster.inputs["name"] == cluster_plan(graph).name
    assert cluster.inputs["version"] == cloud.kubernetes_version
    vpc = cluster.inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    if cloud.api_access_cidrs:
        assert vpc["endpointPublicAccess"] is True
        assert sorted(vpc["publicAccessCidrs"]) == sorted(cloud.api_access_cidrs)
    else:
        assert vpc["endpointPublicAccess"] is False
        assert "publicAccessCidrs" not in vpc
    # With an admin role the creator is not bootstrapped: admins are managed by access entries only.
    assert cluster.inputs["accessConfig"] == {"authenticationMode": "API",
                                              "bootstrapClusterCreatorAdminPermissions": not cloud.admin_role_arn}
    # Every control-plane log type, kept for the stack's retention.
    assert set(cluster.inputs["enabledClusterLogTypes"]) == {"api", "audit", "authenticator", "controllerManager",
                                                             "scheduler"}
    encryption = cluster.inputs["encryptionConfig"]
    assert encryption["resources"] == ["secrets"]
    assert encryption["provider"]["keyArn"].startswith(f"arn:{partition(graph)}:kms:{cloud.region.name}:")
    assert graph.one(T.KMS_KEY).inputs["enableKeyRotation"] is True


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_cluster_role_is_trusted_by_eks_and_holds_the_cluster_policy_of_its_partition(graph):
    cluster = graph.one(T.EKS_CLUSTER)
    role_arn = cluster.inputs["roleArn"]
    assert role_arn.startswith(f"arn:{partition(graph)}:iam::")
    assert f"arn:{partition(graph)}:iam::aws:policy/AmazonEKSClusterPolicy" in \
        attached_policies(graph, role_name(role_arn))
    [role] = graph.deps(cluster, T.IAM_ROLE)
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "eks.amazonaws.com"}
    # The cluster waits for its policy, so a destroy detaches it only after the cluster is gone.
    assert any(a.inputs["policyArn"].endswith("/AmazonEKSClusterPolicy")
               for a in graph.deps(cluster, T.IAM_ROLE_POLICY_ATTACHMENT))


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_subnets_follow_the_plan_across_zones_and_nodes_use_only_private_ones(graph):
    network = cluster_plan(graph).network
    subnets = graph.all(T.SUBNET)
    assert sorted(s.inputs["cidrBlock"] for s in subnets) == sorted(network.public_subnets + network.private_subnets)
    private = private_subnets(graph)
    zones = {s.inputs["availabilityZone"] for s in private}
    assert len(zones) == len(private) == cluster_plan(graph).zone_count >= 2
    assert {s.inputs["cidrBlock"] for s in private} == set(network.private_subnets)
    assert all(s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1" for s in private)
    assert all(s.inputs["tags"][f"kubernetes.io/cluster/{cluster_plan(graph).name}"] == "shared" for s in subnets)
    by_zone = {s.inputs["availabilityZone"]: s.urn for s in private}
    pools = {f"{cluster_plan(graph).name}-{p.name}": p for p in cluster_plan(graph).gpu_pools}
    for holder in [graph.one(T.EKS_CLUSTER), *graph.all(T.EKS_NODE_GROUP)]:
        ids = holder.inputs["vpcConfig"]["subnetIds"] if holder.type == T.EKS_CLUSTER else holder.inputs["subnetIds"]
        used = graph.deps(holder, T.SUBNET)
        assert len(used) == len(ids), holder.urn
        # A GPU group spans the private subnets of the zones offering its GPU (catalog); the rest, all of them.
        pool = pools.get(holder.name)
        assert {s.urn for s in used} == ({by_zone[z] for z in pool.zones} if pool else set(by_zone.values())), \
            holder.urn


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_each_zone_egresses_through_its_own_nat_gateway(graph):
    nats = graph.all(T.NAT_GATEWAY)
    assert len(nats) == cluster_plan(graph).zone_count
    routed = routed_subnets(graph)
    for nat in nats:
        [public] = graph.deps(nat, T.SUBNET)
        assert routed[public.urn][0] == "igw"
    for subnet in private_subnets(graph):
        _, nat = routed[subnet.urn]
        [nat_subnet] = graph.deps(nat, T.SUBNET)
        assert nat_subnet.inputs["availabilityZone"] == subnet.inputs["availabilityZone"]
    assert len({routed[s.urn][1].urn for s in private_subnets(graph)}) == len(nats)


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_oidc_provider_is_bound_to_the_cluster_issuer_and_trusted_by_the_ebs_csi_role(graph):
    region = cluster_plan(graph).cloud.region
    oidc = graph.one(T.IAM_OIDC_PROVIDER)
    assert graph.deps(oidc, T.EKS_CLUSTER) == [graph.one(T.EKS_CLUSTER)]
    issuer_host = re.escape(f"oidc.eks.{region.name}.{region.dns_suffix}")
    assert re.fullmatch(rf"https://{issuer_host}/id/[0-9A-F]{{32}}", oidc.inputs["url"])
    assert oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    [csi] = [a for a in graph.all(T.EKS_ADDON) if a.inputs["addonName"] == "aws-ebs-csi-driver"]
    [role] = graph.deps(csi, T.IAM_ROLE)
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    host = oidc.inputs["url"].removeprefix("https://")
    assert re.fullmatch(rf"arn:{partition(graph)}:iam::\d{{12}}:oidc-provider/{re.escape(host)}",
                        statement["Principal"]["Federated"])
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"]["StringEquals"] == {
        f"{host}:sub": "system:serviceaccount:kube-system:ebs-csi-controller-sa", f"{host}:aud": "sts.amazonaws.com"}
    assert f"arn:{partition(graph)}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy" in \
        attached_policies(graph, role_name(csi.inputs["serviceAccountRoleArn"]))


def node_pools(children: Graph) -> dict[str, tuple[object, object]]:
    """Karpenter's NodePools by name, each with its EC2NodeClass."""
    classes = {c.inputs["metadata"]["name"]: c for c in children.all(T.KARPENTER_NODE_CLASS)}
    return {p.inputs["metadata"]["name"]: (p, classes[p.inputs["spec"]["template"]["spec"]["nodeClassRef"]["name"]])
            for p in children.all(T.KARPENTER_NODE_POOL)}


NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly", "AmazonSSMManagedInstanceCore")
NOT_READY = {"key": "node.cilium.io/agent-not-ready", "value": "true", "effect": "NO_EXECUTE"}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_the_system_pool_is_a_node_group_that_tracks_its_planned_size(graph):
    plan = cluster_plan(graph)
    groups = node_groups(graph)
    assert set(groups) == {"system"}
    system = groups["system"].inputs
    # No CNI policy on the nodes: Cilium's operator manages the ENIs through a role of its own.
    assert {f"arn:{partition(graph)}:iam::aws:policy/{p}" for p in NODE_POLICIES} == \
        attached_policies(graph, role_name(system["nodeRoleArn"]))
    # Every node starts tainted until Cilium's agent runs on it.
    assert system["amiType"] == "AL2023_x86_64_STANDARD" and system["taints"] == [NOT_READY]
    assert system["instanceTypes"] == [plan.system_machine_type]
    low, high = plan.system_nodes
    assert system["scalingConfig"] == {"minSize": low, "maxSize": high, "desiredSize": low}
    assert system["version"] == plan.cloud.kubernetes_version
    assert "ignoreChanges" not in groups["system"].options  # the desired size is tracked: no autoscaler owns it
    assert system["updateConfig"] == {"maxUnavailable": 1}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_each_gpu_pool_is_a_karpenter_node_pool_of_the_sized_machine_types(graph):
    plan = cluster_plan(graph)
    pools = node_pools(graph)
    assert set(pools) == {p.name for p in plan.gpu_pools}
    by_zone = {s.inputs["availabilityZone"]: s.urn for s in private_subnets(graph)}
    key, value, effect = GPU_TAINT
    for pool in plan.gpu_pools:
        node_pool, node_class = pools[pool.name]
        template = node_pool.inputs["spec"]["template"]
        requirements = {r["key"]: r["values"] for r in template["spec"]["requirements"]}
        # The sized type first, then the fallbacks the sizing named, in its order.
        assert requirements["node.kubernetes.io/instance-type"] == list(pool.machine_types)
        assert requirements["karpenter.sh/capacity-type"] == ["spot" if pool.spot else "on-demand"]
        assert set(requirements["topology.kubernetes.io/zone"]) <= set(pool.zones)
        assert template["metadata"]["labels"] == dict(pool.labels)
        assert template["spec"]["taints"] == [{"key": key, "value": value, "effect": effect}]
        assert template["spec"]["startupTaints"] == [{"key": NOT_READY["key"], "value": "true", "effect": "NoExecute"}]
        # The pool never holds more GPUs than its maximum replicas and their rolling-update surges need.
        assert node_pool.inputs["spec"]["limits"] == {"nvidia.com/gpu": str(pool.ceiling_nodes * pool.gpus_per_node)}
        assert pool.max_nodes <= pool.ceiling_nodes
        assert node_pool.inputs["spec"]["disruption"]["budgets"] == [{"nodes": "1"}]
        spec = node_class.inputs["spec"]
        assert spec["amiSelectorTerms"] == [{"alias": "al2023@latest"}]
        # The private subnets of the zones it may launch in, and only those.
        subnets = {u for u in node_class.dependencies["spec"] if graph.urn(u).type == T.SUBNET}
        assert subnets == {by_zone[z] for z in requirements["topology.kubernetes.io/zone"]}
        assert len(spec["subnetSelectorTerms"]) == len(subnets)
        assert spec["blockDeviceMappings"] == [{"deviceName": "/dev/xvda", "ebs": {
            "volumeSize": f"{pool.disk_gib}Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True}}]
        assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1   # pods cannot borrow the node's role
        assert "capacityReservationSelectorTerms" not in spec


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_karpenter_nodes_join_with_a_role_of_their_own_and_outlive_no_teardown(graph):
    cluster = graph.one(T.EKS_CLUSTER)
    [entry] = [e for e in graph.all(T.EKS_ACCESS_ENTRY) if e.inputs["type"] == "EC2_LINUX"]
    [profile] = graph.all("aws:iam/instanceProfile:InstanceProfile")
    # The entry and the instance profile name one role.
    assert entry.dependencies["principalArn"] == profile.dependencies["role"]
    gpu_role = role_name(entry.inputs["principalArn"])
    assert gpu_role != role_name(node_groups(graph)["system"].inputs["nodeRoleArn"])   # EKS made the system's entry
    assert {f"arn:{partition(graph)}:iam::aws:policy/{p}" for p in NODE_POLICIES} <= attached_policies(graph, gpu_role)
    controller = graph.one(T.HELM_RELEASE, name=f"{cluster_plan(graph).name}-karpenter")
    crds = graph.one(T.HELM_RELEASE, name=f"{cluster_plan(graph).name}-karpenter-crd")
    assert (controller.inputs["chart"], crds.inputs["chart"]) == (
        "oci://public.ecr.aws/karpenter/karpenter", "oci://public.ecr.aws/karpenter/karpenter-crd")
    assert controller.inputs["version"] == crds.inputs["version"] and controller.inputs["skipCrds"] is True
    settings = controller.inputs["values"]["settings"]
    assert settings["clusterName"] == cluster.inputs["name"] and settings["isolatedVPC"] is True
    for node_pool, node_class in node_pools(graph).values():
        assert profile.urn in node_class.dependencies["spec"]
        # Deleted by Pulumi, not with the cluster: deleting the EC2NodeClass waits for Karpenter to terminate its
        # nodes, which would otherwise outlive the cluster in its subnets.
        for resource in (node_pool, node_class):
            assert "deletedWith" not in resource.options
        assert {crds.urn, controller.urn, entry.urn} <= set(node_pool.options["dependsOn"])


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_karpenter_acts_through_its_own_scoped_role_and_hears_interruptions(graph):
    plan = cluster_plan(graph)
    [queue] = graph.all("aws:sqs/queue:Queue")
    assert queue.inputs["name"] == plan.name and queue.inputs["sqsManagedSseEnabled"] is True
    rules = graph.all("aws:cloudwatch/eventRule:EventRule")
    targets = graph.all("aws:cloudwatch/eventTarget:EventTarget")
    assert len(rules) == len(targets) == 5
    assert {json.loads(r.inputs["eventPattern"])["detail-type"][0] for r in rules} >= {
        "EC2 Spot Instance Interruption Warning", "EC2 Capacity Reservation Instance Interruption Warning"}
    [policy] = [p for p in graph.all("aws:iam/rolePolicy:RolePolicy") if p.name == f"{plan.name}-karpenter"]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    region = plan.cloud.region.name
    # Launches and deletes only instances tagged for this cluster and a NodePool; reads only in its region.
    assert statements["AllowScopedDeletion"]["Condition"]["StringEquals"] == {
        f"aws:ResourceTag/kubernetes.io/cluster/{plan.name}": "owned"}
    assert statements["AllowRegionalReadActions"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": region}}
    assert not any(a.startswith("pricing:") for s in statements.values() for a in
                   ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    [role] = [r for r in graph.all(T.IAM_ROLE) if r.name == f"{plan.name}-karpenter"]
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert list(trust["Condition"]["StringEquals"].values())[0] == "system:serviceaccount:kube-system:karpenter"


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_gpu_node_limits_add_up_to_the_sizing_decision(graph):
    replicas = {m.id: m.replicas for m in graph.plan.spec.models}
    fits = graph.plan.decisions.fits_for("aws")
    # The models on one machine type share its pool: its limit holds all their replicas at max (sizing.nodes_for) and
    # a rolling-update surge replica of each model that scales.
    expected = {machine: nodes_for(pods(members, replicas, "max") + [
        f.tensor_parallel for f in members if replicas[f.model].max > replicas[f.model].min],
        members[0].gpus_per_node) * members[0].gpus_per_node
        for machine in {f.machine_type for f in fits} for members in [[f for f in fits if f.machine_type == machine]]}
    registered = {p.inputs["spec"]["template"]["spec"]["requirements"][0]["values"][0]:
                  int(p.inputs["spec"]["limits"]["nvidia.com/gpu"]) for p, _ in node_pools(graph).values()}
    assert expected and registered == expected


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_addons_are_managed_and_ordered_around_the_nodes(graph):
    addons = {a.inputs["addonName"]: a for a in graph.all(T.EKS_ADDON)}
    # No vpc-cni: Cilium is the CNI, and EKS installs no self-managed add-on beside these.
    assert set(addons) == {"coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver", "metrics-server"}
    assert graph.one(T.EKS_CLUSTER).inputs["bootstrapSelfManagedAddons"] is False
    assert all(a.inputs["resolveConflictsOnUpdate"] == "OVERWRITE" for a in addons.values())
    system = node_groups(graph)["system"]
    for name in ("coredns", "metrics-server", "aws-ebs-csi-driver"):
        assert graph.deps(addons[name], T.EKS_NODE_GROUP) == [system], name
    for group in graph.all(T.EKS_NODE_GROUP):
        assert {a.inputs["addonName"] for a in graph.deps(group, T.EKS_ADDON)} == {"kube-proxy", "eks-pod-identity-agent"}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_kubernetes_provider_has_a_secret_kubeconfig_and_carries_the_device_plugin(graph):
    provider = graph.one(T.K8S_PROVIDER, name=graph.plan.decisions.cluster("aws").plan.name)
    assert provider.inputs["kubeconfig"] == SECRET_MASK
    assert provider.inputs["deleteUnreachable"] == "true"
    assert provider.inputs["enableServerSideApply"] == "true"
    assert graph.deps(provider, T.EKS_CLUSTER) == [graph.one(T.EKS_CLUSTER)]
    # The system group only: a GPU pool without capacity must not block what every cluster needs.
    assert [u for u in provider.options["dependsOn"] if "nodeGroup" in u] == [
        g.urn for g in graph.all(T.EKS_NODE_GROUP) if g.name.endswith("-system")]
    plugin = graph.one(T.HELM_RELEASE, name_contains="nvidia-device-plugin")
    assert plugin.provider == provider.urn
    assert plugin.options["deletedWith"] == graph.one(T.EKS_CLUSTER).urn
    assert (plugin.inputs["chart"], plugin.inputs["namespace"]) == ("nvidia-device-plugin", "kube-system")
    assert plugin.inputs["repositoryOpts"]["repo"] == "https://nvidia.github.io/k8s-device-plugin"
    assert re.fullmatch(r"0\.17\.\d+", plugin.inputs["version"])
    key, _, effect = GPU_TAINT
    assert {"key": key, "operator": "Exists", "effect": effect} in plugin.inputs["values"]["tolerations"]
    [term] = plugin.inputs["values"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    [selector] = term["matchExpressions"]
    # Every GPU pool carries the label the plugin selects on, and no other pool does.
    for name, group in node_groups(graph).items():
        assert (selector["key"] in group.inputs.get("labels", {})) == (name != "system")


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_resource_names_this_regions_aws_or_kubernetes_provider(graph):
    aws_provider = graph.whole.one(T.AWS_PROVIDER, name=f"{graph.plan.spec.name}-aws")
    assert aws_provider.inputs["region"] == cluster_plan(graph).cloud.region.name
    # The main kubernetes provider, and the bootstrap one that installs only the CNI.
    k8s_providers = {p.urn for p in graph.all(T.K8S_PROVIDER)}
    assert len(k8s_providers) == 2
    custom = [r for r in graph if r.custom and not r.type.startswith("pulumi:providers:")]
    assert len(custom) > 40
    for r in custom:
        assert r.provider in k8s_providers if r.type.startswith("kubernetes:") else r.provider == aws_provider.urn, r.urn


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_arn_uses_the_partition_of_the_region(graph):
    arns = ARN.findall(json.dumps([r.inputs for r in graph]))
    assert len(arns) >= 10
    assert set(arns) == {partition(graph)}
    account = cluster_plan(graph).cloud.account_id
    if account:  # the provider is pinned to it, so every IAM ARN the cluster names is in that account
        assert graph.one(T.EKS_CLUSTER).inputs["roleArn"].split(":")[4] == account


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_admin_role_gets_a_cluster_admin_access_entry_only_when_set(graph):
    admin = cluster_plan(graph).cloud.admin_role_arn
    entries = [e for e in graph.all(T.EKS_ACCESS_ENTRY) if e.inputs["type"] == "STANDARD"]
    policies = graph.all(T.EKS_ACCESS_POLICY)
    if admin is None:
        assert entries == [] and policies == []
        return
    [entry], [policy] = entries, policies
    assert entry.inputs["principalArn"] == policy.inputs["principalArn"] == admin
    assert policy.inputs["policyArn"] == \
        f"arn:{partition(graph)}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert policy.inputs["accessScope"] == {"type": "cluster"}
    assert graph.deps(policy, T.EKS_ACCESS_ENTRY) == [entry]


def test_china_stack_registers_aws_cn_arns_and_service_principals(plans):
    graph = aws_cluster(plans["cn-north"])
    assert partition(graph) == "aws-cn"
    assert graph.one(T.EKS_CLUSTER).inputs["roleArn"].startswith("arn:aws-cn:iam::")
    assert "arn:aws-cn:iam::aws:policy/AmazonEKSClusterPolicy" in \
        attached_policies(graph, role_name(graph.one(T.EKS_CLUSTER).inputs["roleArn"]))
    node_role = node_groups(graph)["system"].inputs["nodeRoleArn"]
    [role] = graph.deps(node_groups(graph)["system"], T.IAM_ROLE)
    assert node_role.startswith("arn:aws-cn:iam::")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == \
        {"Service": "ec2.amazonaws.com.cn"}


@pytest.mark.parametrize("cidrs, admin", [
    ((), None),
    (("198.51.100.0/24", "203.0.113.16/28"), "arn:aws:iam::111122223333:role/platform-admin"),
])
def test_public_endpoint_and_admin_entry_follow_the_spec(project_copy, cidrs, admin):
    stack = AWS_STACKS[0]
    path = stack_file(project_copy, stack)
    doc = yaml.safe_load(path.read_text())
    aws = doc["config"]["sovereign:clouds"]["aws"]
    aws.pop("adminRoleArn", None)
    aws["apiAccessCidrs"] = list(cidrs)
    if admin:
        aws["adminRoleArn"] = admin
    path.write_text(yaml.safe_dump(doc))
    graph = aws_cluster(plan_stack(stack, project=project_copy))
    vpc = graph.one(T.EKS_CLUSTER).inputs["vpcConfig"]
    assert vpc["endpointPublicAccess"] is bool(cidrs)
    assert vpc.get("publicAccessCidrs", []) == list(cidrs)
    assert [e.inputs["principalArn"] for e in graph.all(T.EKS_ACCESS_ENTRY)
            if e.inputs["type"] == "STANDARD"] == ([admin] if admin else [])


def test_node_groups_skip_zones_that_do_not_offer_their_machine_type(monkeypatch):
    """EKS rejects a node group with a subnet in a zone lacking the instance type (GPU types often do)."""
    asked = {}

    def offerings(location_type, filters, opts):
        asked.update({f.name: f.values for f in filters}, location_type=location_type)
        return SimpleNamespace(locations=["us-east-1c", "us-east-1a", "us-east-1f"])

    monkeypatch.setattr(nodes.aws.ec2, "get_instance_type_offerings", offerings)
    zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert nodes.offered_zones("p5.48xlarge", zones, None) == ["us-east-1a", "us-east-1c"]
    assert asked == {"instance-type": ["p5.48xlarge"], "location": zones, "location_type": "availability-zone"}
    with pytest.raises(pulumi.RunError, match="p5.48xlarge is offered in none of the cluster's zones"):
        nodes.offered_zones("p5.48xlarge", ["us-east-1b"], None)


@pytest.mark.parametrize("block", [False, True])
def test_a_reserved_gpu_pool_launches_into_its_reservation(plans, project_copy, block):
    path = stack_file(project_copy, "us-east")
    doc = yaml.safe_load(path.read_text())
    [pool] = [p for p in plans["us-east"].decisions.cluster("aws").plan.gpu_pools if p.needs_reservation]
    doc["config"]["sovereign:clouds"]["aws"]["capacityReservations"] = [
        {"gpu": pool.gpu, "id": "cr-0123456789abcdef0", "zone": pool.zones[-1], "block": block}]
    path.write_text(yaml.safe_dump(doc))
    plan = plan_stack("us-east", project=project_copy)
    assert plan.ok, (plan.errors, plan.violations)
    graph = aws_cluster(plan)
    node_pool, node_class = node_pools(graph)[pool.name]
    requirements = {r["key"]: r["values"] for r in node_pool.inputs["spec"]["template"]["spec"]["requirements"]}
    # Karpenter launches reserved capacity (a reservation or a Capacity Block alike) of its one instance type, in
    # the reservation's zone only.
    assert requirements["karpenter.sh/capacity-type"] == ["reserved"]
    assert requirements["node.kubernetes.io/instance-type"] == [pool.machine_type]
    assert requirements["topology.kubernetes.io/zone"] == [pool.zones[-1]]
    assert node_class.inputs["spec"]["capacityReservationSelectorTerms"] == [{"id": "cr-0123456789abcdef0"}]
    assert node_class.inputs["spec"]["blockDeviceMappings"][0]["ebs"]["volumeSize"] == f"{pool.disk_gib}Gi"


@pytest.mark.parametrize("stack", [s for s in AWS_STACKS if s != "cn-north"])
def test_images_come_through_ecr_pull_through_caches_the_nodes_may_fill(graph):
    decision = graph.plan.decisions.cluster("aws")
    caches = graph.all("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
    assert {(c.inputs["ecrRepositoryPrefix"], c.inputs["upstreamRegistryUrl"], c.inputs.get("credentialArn"))
            for c in caches} == {(m.name, m.source, m.credential_arn) for m in decision.images.mirrors}
    assert {c.inputs["ecrRepositoryPrefix"].split("/")[0] for c in caches} == {graph.plan.spec.name}
    # The first pull of an image creates its repository as the node: the node role may, under these prefixes only.
    # Both node roles (the system group's, Karpenter's nodes') hold it, and nodes launch only once they do.
    pulls = [p for p in graph.all("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("-node-pull-through")]
    assert len(pulls) == 2
    region = cluster_plan(graph).cloud.region.name
    for pull in pulls:
        [statement] = json.loads(pull.inputs["policy"])["Statement"]
        assert sorted(statement["Action"]) == ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
        assert sorted(statement["Resource"]) == sorted(
            f"arn:{partition(graph)}:ecr:{region}:111122223333:repository/{m.name}/*" for m in decision.images.mirrors)
    launchers = [*graph.all(T.EKS_NODE_GROUP), *graph.all(T.KARPENTER_NODE_POOL)]
    assert all(any(p.urn in g.options["dependsOn"] for p in pulls) for g in launchers)
    # Cilium's images (the first any node pulls) through the Quay cache, by tag: a first pull by digest finds
    # nothing in a pull-through cache, and no node would ever get its network.
    values = graph.one(T.HELM_RELEASE, name_contains="cilium").inputs["values"]
    registry = f"111122223333.dkr.ecr.{region}.{cluster_plan(graph).cloud.region.dns_suffix}"
    quay = f"{registry}/{graph.plan.spec.name}/quay/cilium"
    assert (values["image"]["repository"], values["operator"]["image"]["repository"],
            values["envoy"]["image"]["repository"]) == (f"{quay}/cilium", f"{quay}/operator", f"{quay}/cilium-envoy")
    assert [values["image"]["useDigest"], values["operator"]["image"]["useDigest"],
            values["envoy"]["image"]["useDigest"]] == [False] * 3
    # Karpenter's controller through the ECR Public cache, its chart's digest emptied: by tag.
    karpenter = next(r for r in graph.all(T.HELM_RELEASE) if r.inputs.get("name") == "karpenter")
    assert karpenter.inputs["values"]["controller"]["image"] == {
        "repository": f"{registry}/{graph.plan.spec.name}/ecr-public/karpenter/controller", "digest": ""}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_kms_keys_carry_explicit_policies_and_the_weights_key_decrypts_only_through_regional_s3(graph):
    region = cluster_plan(graph).cloud.region
    root = f"arn:{partition(graph)}:iam::111122223333:root"
    keys = {k.name.rsplit("-", 1)[-1]: json.loads(k.inputs["policy"])["Statement"]
            for k in graph.whole.all("aws:kms/key:Key")}
    assert set(keys) == {"secrets", "weights"}
    for statements in keys.values():
        assert statements[0] == {"Sid": "AccountIamDecides", "Effect": "Allow", "Principal": {"AWS": root},
                                 "Action": "kms:*", "Resource": "*"}
    assert len(keys["secrets"]) == 1
    [deny] = keys["weights"][1:]
    assert deny["Effect"] == "Deny" and "kms:Decrypt" in deny["Action"]
    assert deny["Condition"]["StringNotEquals"] == {"kms:ViaService": f"s3.{region.name}.{region.dns_suffix}"}


def test_in_aws_china_the_mirrors_are_repositories_filled_beforehand_under_the_same_names(plans):
    graph = aws_cluster(plans["cn-north"])
    decision = graph.plan.decisions.cluster("aws")
    assert not graph.all("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
    assert {m.pulls_through for m in decision.images.mirrors} == {False}
    # Filled by copying each image whole (index and digest kept): pods there go by digest, the charts' too.
    assert {m.by_digest for m in decision.images.mirrors} == {True}
    cilium = graph.one(T.HELM_RELEASE, name_contains="cilium").inputs["values"]
    assert "useDigest" not in cilium["image"]
    assert decision.images.refs["vllm"].digest == decision.images.refs["vllm"].image.digest is not None
    # The repositories are the stack's ImageStore's, outside the cluster: what an operator copied in is kept by a
    # drill that tears the cluster down and by `pulumi destroy`, as the weights are.
    assert not graph.all("aws:ecr/repository:Repository")
    store = Graph.of(graph.plan).component(T.AWS_IMAGE_STORE)
    repositories = store.all("aws:ecr/repository:Repository")
    assert {r.inputs["name"] for r in repositories} == {
        f"{m.name}/{repository}" for m in decision.images.mirrors for repository in m.repositories}
    assert "cn-north/docker-hub/vllm/vllm-openai" in {r.inputs["name"] for r in repositories}
    assert all(r.inputs["imageTagMutability"] == "IMMUTABLE" and r.inputs["forceDelete"] is False
               and r.options["protect"] and r.options["retainOnDelete"] for r in repositories)
    # Declared by the cluster component before: aliased to it, so an existing stack keeps them. (The mocks' URNs
    # carry the root stack's type, which real URNs leave out.)
    old_parents = {a["spec"]["parentUrn"].split("::", 2)[2] for r in repositories for a in r.options["aliases"]}
    assert {p.removeprefix("pulumi:pulumi:Stack$") for p in old_parents} == {
        "sovereign:index:Region$sovereign:aws:GpuCluster::cn-north-aws"}
    # Whatever pulls through the cluster's registry waits for them (Cilium's images, the first any node pulls).
    cilium_release = graph.one(T.HELM_RELEASE, name_contains="cilium")
    assert {r.urn for r in repositories} <= set(cilium_release.dependencies["values"])
    assert not [p for p in graph.all("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("-node-pull-through")]
    assert not graph.plan.spec.cloud("aws").registry_credentials


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_karpenter_objects_validate_against_their_crds(graph):
    from tests.support.schemas import schema_errors

    objects = [*graph.all(T.KARPENTER_NODE_POOL), *graph.all(T.KARPENTER_NODE_CLASS)]
    assert objects
    docs = [{"apiVersion": o.inputs["apiVersion"], "kind": o.inputs["kind"], "metadata": o.inputs["metadata"],
             "spec": o.inputs["spec"]} for o in objects]
    assert [e for doc in docs for e in schema_errors(doc)] == []


def test_a_stack_that_fills_its_own_mirrors_pins_every_image_by_digest(project_copy):
    """`imageMirror: prefilled` outside AWS China: the repositories AWS China has, and digests everywhere."""
    path = stack_file(project_copy, "sa-east")
    doc = yaml.safe_load(path.read_text())
    aws = doc["config"]["sovereign:clouds"]["aws"]
    del aws["registryCredentials"]
    aws["imageMirror"] = "prefilled"
    path.write_text(yaml.safe_dump(doc))
    plan = plan_stack("sa-east", project=project_copy)
    assert plan.ok, (plan.errors, plan.violations)
    graph = aws_cluster(plan)
    assert not graph.all("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
    store = Graph.of(plan).component(T.AWS_IMAGE_STORE)
    repositories = {r.inputs["name"]: r for r in store.all("aws:ecr/repository:Repository")}
    assert "sa-east/docker-hub/vllm/vllm-openai" in repositories and "sa-east/quay/cilium/cilium" in repositories
    assert {r.inputs["imageTagMutability"] for r in repositories.values()} == {"IMMUTABLE"}
    # Every chart and pod names its digest: the model servers', Cilium's and Karpenter's charts' own.
    values = graph.one(T.HELM_RELEASE, name_contains="cilium").inputs["values"]
    assert "useDigest" not in values["image"]
    karpenter = next(r for r in graph.all(T.HELM_RELEASE) if r.inputs.get("name") == "karpenter")
    assert "digest" not in karpenter.inputs["values"]["controller"]["image"]
    [chart, *_] = [r for r in plan.resources if r.type == T.HELM_CHART]
    assert chart.inputs["values"]["image"]["digest"] == plan.decisions.cluster("aws").images.refs["vllm"].image.digest
