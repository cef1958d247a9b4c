"""Karpenter on EKS: a GPU node appears for a pending model-server replica and goes when nothing needs it.

One NodePool and one EC2NodeClass per GPU pool of the plan, replacing fixed GPU node groups: its instance types
are the sizing's (the sized type and the fallbacks holding the same replicas; Karpenter launches the cheapest of them
with capacity, on its own prices, which rank them as the catalog does), its capacity type
the pool's (spot, on demand, or its reservation), its zones those offering the sized type, its GPU limit what
the pool's maximum replicas need. Nodes carry the pool's labels and the GPU taint, and start tainted until
Cilium's agent runs on them (startupTaints, as Karpenter's docs advise for Cilium).

Karpenter's controller runs on the system node group (its chart keeps it off the nodes it launches), acts through
its own IAM role (IRSA) scoped as Karpenter's reference CloudFormation scopes it, hears of spot interruptions and
instance health events through an SQS queue, and launches nodes with a role of their own, which joins the cluster
through an EC2_LINUX access entry (the cluster takes access entries only). It asks no pricing API (isolatedVPC):
the region's allowlist stays as declared.
https://karpenter.sh/docs/getting-started/getting-started-with-karpenter/ (v1.14, cloudformation.yaml)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from sovereign.domain.topology import GPU_TAINT, GpuPool

from . import iam
from .egress_cilium import AGENT_NOT_READY_TAINT

VERSION = "1.14.1"
CHARTS = "oci://public.ecr.aws/karpenter"
NAMESPACE, SERVICE_ACCOUNT = "kube-system", "karpenter"
UPSTREAM = "public.ecr.aws"
# The EKS-optimised Amazon Linux 2023 AMIs; for GPU instance types Karpenter picks their NVIDIA variant (driver and
# container toolkit). `latest` follows AWS's AMI releases: nodes drift to a new one, one at a time (budgets below).
AMI_ALIAS = "al2023@latest"
ROOT_DEVICE = "/dev/xvda"
# EventBridge events Karpenter drains nodes on, from its reference template.
INTERRUPTIONS = {
    "health": ("aws.health", "AWS Health Event"),
    "spot": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "state": ("aws.ec2", "EC2 Instance State-change Notification"),
    "reservation": ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
}
CAPACITY = {"reserved": ["reserved"], "spot": ["spot"], "on-demand": ["on-demand"]}
# A replaced GPU node costs its replicas a cold start: consolidation waits this long after a node empties or
# shrinks, and disruption (consolidation, drift, expiry) takes one node at a time.
CONSOLIDATE_AFTER = "10m"


@dataclass(frozen=True)
class KarpenterTarget:
    """What Karpenter and the NodePools of one cluster share."""
    name: str
    cluster: aws.eks.Cluster
    subnets: Mapping[str, aws.ec2.Subnet]     # private, by zone
    labels: Mapping[str, str]
    partition: str
    region: str
    account: pulumi.Output[str]
    oidc: tuple[pulumi.Output[str], pulumi.Output[str]]   # the cluster's IRSA provider ARN and issuer
    node_role: aws.iam.Role                   # the nodes' role, their pull-through permissions already granted
    node_policies: Sequence[pulumi.Resource]  # what the role must hold before a node launches
    egress: Sequence[pulumi.Resource]         # the nodes' and controller's way out (NAT routes)
    registry: pulumi.Input[str] | None        # the ECR Public mirror (`<registry>/<mirror>`), None: none
    by_digest: bool                           # whether that mirror serves a first pull by digest
    cloud: pulumi.ResourceOptions             # on the cloud's provider, parented
    k8s: pulumi.ResourceOptions               # through the cluster's Kubernetes provider, parented


def gpu_node_pools(target: KarpenterTarget, pools: Sequence[GpuPool], zones: Mapping[str, Sequence[str]]
                   ) -> dict[str, k8s.apiextensions.CustomResource]:
    """Karpenter and one NodePool per pool (`zones`: per pool, the zones offering its machine type). None of it is
    deleted with the cluster: deleting an EC2NodeClass waits until Karpenter has terminated its nodes, which would
    otherwise outlive the cluster and hold its subnets."""
    name, cluster = target.name, target.cluster
    profile, entry = node_access(name, cluster, target.node_role, target.cloud)
    queue = interruption_queue(name, cluster.name, target.cloud)
    role, _ = iam.role(f"{name}-karpenter", pulumi.Output.all(*target.oidc).apply(
        lambda a: iam.service_account_trust(a[0], a[1], NAMESPACE, SERVICE_ACCOUNT)), [], target.cloud)
    policy = aws.iam.RolePolicy(f"{name}-karpenter", role=role.id, policy=pulumi.Output.all(
        target.account, cluster.name, target.node_role.arn, queue.arn).apply(
        lambda a: controller_policy(target.partition, target.region, *a)), opts=target.cloud)
    # The controller keeps its permissions and its way out to EC2, STS and SQS until its node classes are gone: a
    # teardown deletes those first, and each waits for Karpenter to terminate its instances.
    after_egress = pulumi.ResourceOptions.merge(target.k8s, pulumi.ResourceOptions(depends_on=[policy, *target.egress]))
    crds, controller = releases(name, cluster, role.arn, queue, target.registry, target.by_digest, after_egress)
    launch = pulumi.ResourceOptions.merge(target.k8s, pulumi.ResourceOptions(
        depends_on=[crds, controller, entry, profile, *target.node_policies, *target.egress],
        # A node class's delete waits for its nodes' drain (terminationGracePeriod) and termination.
        custom_timeouts=pulumi.CustomTimeouts(delete="45m")))
    security_group = cluster.vpc_config.cluster_security_group_id
    return {pool.name: node_pool(target, pool, zones[pool.name], security_group, profile, launch) for pool in pools}


def node_access(name: str, cluster: aws.eks.Cluster, role: aws.iam.Role,
                opts: pulumi.ResourceOptions) -> tuple[aws.iam.InstanceProfile, aws.eks.AccessEntry]:
    """The instance profile Karpenter's nodes launch with, and the access entry that lets them join: EKS creates
    entries only for managed node groups' roles, so this role is theirs alone."""
    profile = aws.iam.InstanceProfile(f"{name}-karpenter-nodes", role=role.name, opts=opts)
    entry = aws.eks.AccessEntry(f"{name}-karpenter-nodes", cluster_name=cluster.name, principal_arn=role.arn,
                                type="EC2_LINUX", opts=opts)
    return profile, entry


def interruption_queue(name: str, queue_name: str, opts: pulumi.ResourceOptions) -> aws.sqs.Queue:
    queue = aws.sqs.Queue(f"{name}-karpenter", name=queue_name, message_retention_seconds=300,
                          sqs_managed_sse_enabled=True, opts=opts)
    aws.sqs.QueuePolicy(f"{name}-karpenter", queue_url=queue.url, policy=queue.arn.apply(lambda arn: json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
             "Action": "sqs:SendMessage", "Resource": arn},
            {"Sid": "DenyHTTP", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": arn,
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})), opts=opts)
    for event, (source, detail) in INTERRUPTIONS.items():
        rule = aws.cloudwatch.EventRule(f"{name}-karpenter-{event}",
                                        event_pattern=json.dumps({"source": [source], "detail-type": [detail]}),
                                        opts=opts)
        aws.cloudwatch.EventTarget(f"{name}-karpenter-{event}", rule=rule.name, arn=queue.arn,
                                   target_id="KarpenterInterruptionQueueTarget", opts=opts)
    return queue


def controller_policy(partition: str, region: str, account: str, cluster: str, node_role_arn: str,
                      queue_arn: str) -> str:
    """Karpenter's reference controller permissions, scoped to this cluster's tags, without the instance-profile
    management (the stack makes the profile), the pricing API (isolatedVPC) and zonal shift (off)."""
    ec2 = f"arn:{partition}:ec2:{region}"
    owned = {f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned", "aws:RequestTag/eks:eks-cluster-name": cluster}
    launched = ["fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request"]
    nodepool = {"StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AllowScopedEC2InstanceAccessActions", "Effect": "Allow",
         "Resource": [f"{ec2}::image/*", f"{ec2}::snapshot/*", f"{ec2}:*:security-group/*", f"{ec2}:*:subnet/*",
                      f"{ec2}:*:capacity-reservation/*", f"{ec2}:*:placement-group/*"],
         "Action": ["ec2:RunInstances", "ec2:CreateFleet"]},
        {"Sid": "AllowScopedEC2LaunchTemplateAccessActions", "Effect": "Allow",
         "Resource": f"{ec2}:*:launch-template/*", "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
         "Condition": {"StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"},
                       "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "AllowScopedEC2InstanceActionsWithTags", "Effect": "Allow",
         "Resource": [f"{ec2}:*:{kind}/*" for kind in launched],
         "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
         "Condition": {"StringEquals": owned, **nodepool}},
        {"Sid": "AllowScopedResourceCreationTagging", "Effect": "Allow",
         "Resource": [f"{ec2}:*:{kind}/*" for kind in launched], "Action": "ec2:CreateTags",
         "Condition": {"StringEquals": {**owned, "ec2:CreateAction": ["RunInstances", "CreateFleet",
                                                                      "CreateLaunchTemplate"]}, **nodepool}},
        {"Sid": "AllowScopedResourceTagging", "Effect": "Allow", "Resource": f"{ec2}:*:instance/*",
         "Action": "ec2:CreateTags",
         "Condition": {"StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"},
                       "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                       "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster},
                       "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim",
                                                                     "Name"]}}},
        {"Sid": "AllowScopedDeletion", "Effect": "Allow",
         "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
         "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
         "Condition": {"StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"},
                       "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "AllowPassingInstanceRole", "Effect": "Allow", "Resource": node_role_arn, "Action": "iam:PassRole",
         "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}}},
        # Karpenter resolves the cluster's service CIDR for AL2023 node classes through DescribeCluster, whatever
        # the endpoint settings (pkg/controllers/nodeclass/validation.go, v1.14.1): without it no node launches.
        {"Sid": "AllowAPIServerEndpointDiscovery", "Effect": "Allow",
         "Resource": f"arn:{partition}:eks:{region}:{account}:cluster/{cluster}", "Action": "eks:DescribeCluster"},
        {"Sid": "AllowInstanceProfileReadActions", "Effect": "Allow",
         "Resource": f"arn:{partition}:iam::{account}:instance-profile/*", "Action": "iam:GetInstanceProfile"},
        {"Sid": "AllowInterruptionQueueActions", "Effect": "Allow", "Resource": queue_arn,
         "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]},
        {"Sid": "AllowRegionalReadActions", "Effect": "Allow", "Resource": "*",
         "Action": ["ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances",
                    "ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplates", "ec2:DescribePlacementGroups", "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets"],
         "Condition": {"StringEquals": {"aws:RequestedRegion": region}}},
        # The AMI alias resolves through the public SSM parameters of the EKS AMIs.
        {"Sid": "AllowSSMReadActions", "Effect": "Allow",
         "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*", "Action": "ssm:GetParameter"},
    ]})


def releases(name: str, cluster: aws.eks.Cluster, role_arn: pulumi.Input[str], queue: aws.sqs.Queue,
             registry: pulumi.Input[str] | None, by_digest: bool,
             opts: pulumi.ResourceOptions) -> tuple[k8s.helm.v3.Release, ...]:
    """Karpenter's CRDs (their own chart, so upgrades update them) and its controller."""
    crds = k8s.helm.v3.Release(f"{name}-karpenter-crd", name="karpenter-crd", chart=f"{CHARTS}/karpenter-crd",
                               version=VERSION, namespace=NAMESPACE, opts=opts)
    # Through the region's mirror, by the chart's digest where the mirror serves a first pull by digest, else by tag
    # (an empty digest renders `repository:tag`).
    image = ({"repository": pulumi.Output.concat(registry, "/karpenter/controller"),
              **({} if by_digest else {"digest": ""})} if registry else {})
    controller = k8s.helm.v3.Release(
        f"{name}-karpenter", name="karpenter", chart=f"{CHARTS}/karpenter", version=VERSION, namespace=NAMESPACE,
        skip_crds=True,
        values={
            "settings": {"clusterName": cluster.name, "clusterEndpoint": cluster.endpoint,
                         "interruptionQueue": queue.name, "isolatedVPC": True},
            "serviceAccount": {"name": SERVICE_ACCOUNT, "annotations": {"eks.amazonaws.com/role-arn": role_arn}},
            "controller": {"image": image},
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[crds])))
    return crds, controller


def node_pool(target: KarpenterTarget, pool: GpuPool, zones: Sequence[str], security_group: pulumi.Input[str],
              instance_profile: aws.iam.InstanceProfile, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """One EC2NodeClass and its NodePool for a GPU pool of the plan, in `zones` (those offering its machine type)."""
    reserved = pool.reservation
    node_class = k8s.apiextensions.CustomResource(
        f"{target.name}-{pool.name}-class", api_version="karpenter.k8s.aws/v1", kind="EC2NodeClass",
        metadata={"name": pool.name},
        spec={
            "amiSelectorTerms": [{"alias": AMI_ALIAS}],
            "instanceProfile": instance_profile.name,
            "subnetSelectorTerms": [{"id": target.subnets[z].id} for z in zones],
            "securityGroupSelectorTerms": [{"id": security_group}],
            "blockDeviceMappings": [{"deviceName": ROOT_DEVICE, "ebs": {
                "volumeSize": f"{pool.disk_gib}Gi", "volumeType": "gp3", "encrypted": True,
                "deleteOnTermination": True}}],
            # IMDSv2 with one hop: pods cannot borrow the node's role.
            "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
            "tags": dict(target.labels),
            **({"capacityReservationSelectorTerms": [{"id": reserved.id}]} if reserved else {}),
        }, opts=opts)
    capacity = "reserved" if reserved else "spot" if pool.spot else "on-demand"
    key, value, effect = GPU_TAINT
    not_ready_key, not_ready_value, _ = AGENT_NOT_READY_TAINT
    return k8s.apiextensions.CustomResource(
        f"{target.name}-{pool.name}", api_version="karpenter.sh/v1", kind="NodePool",
        metadata={"name": pool.name},
        spec={
            "template": {
                "metadata": {"labels": dict(pool.labels)},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": pool.name},
                    "requirements": [
                        {"key": "node.kubernetes.io/instance-type", "operator": "In",
                         "values": list(pool.machine_types)},
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": CAPACITY[capacity]},
                        {"key": "topology.kubernetes.io/zone", "operator": "In", "values": list(zones)}],
                    "taints": [{"key": key, "value": value, "effect": effect}],
                    "startupTaints": [{"key": not_ready_key, "value": not_ready_value, "effect": "NoExecute"}],
                    "expireAfter": "720h",
                    # A drain that PDBs hold up ends after this: a teardown or an AMI roll always finishes.
                    "terminationGracePeriod": "30m",
                },
            },
            "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": CONSOLIDATE_AFTER,
                           "budgets": [{"nodes": "1"}]},
            # Never more GPUs than the pool's maximum replicas and their rolling-update surges need (its ceiling).
            "limits": {"nvidia.com/gpu": str(pool.ceiling_nodes * pool.gpus_per_node)},
        }, opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[node_class])))
