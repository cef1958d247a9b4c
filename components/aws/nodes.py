"""The EKS managed node group of the system pool, in the private subnets only (GPU nodes: karpenter.py)."""

from __future__ import annotations

from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from .egress_cilium import AGENT_NOT_READY_TAINT

SYSTEM_POOL = "system"
SYSTEM_AMI = "AL2023_x86_64_STANDARD"
_EFFECT = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}


def offered_zones(machine_type: str, zones: Sequence[str], invoke: pulumi.InvokeOptions) -> list[str]:
    """The zones that offer `machine_type`: EKS rejects a node group with a subnet in any other zone."""
    offered = set(aws.ec2.get_instance_type_offerings(
        location_type="availability-zone",
        filters=[aws.ec2.GetInstanceTypeOfferingsFilterArgs(name="instance-type", values=[machine_type]),
                 aws.ec2.GetInstanceTypeOfferingsFilterArgs(name="location", values=list(zones))],
        opts=invoke).locations)
    found = [z for z in zones if z in offered]
    if not found:
        raise pulumi.RunError(f"{machine_type} is offered in none of the cluster's zones ({', '.join(zones)})")
    return found


class NodeGroups:
    """Creates the node groups of one cluster; all share its node role and private subnets."""

    def __init__(self, name: str, cluster: aws.eks.Cluster, node_role_arn: pulumi.Input[str],
                 private_subnets: Mapping[str, aws.ec2.Subnet], invoke: pulumi.InvokeOptions,
                 opts: pulumi.ResourceOptions):
        self._name, self._cluster, self._role, self._subnets = name, cluster, node_role_arn, private_subnets
        self._invoke = invoke
        # The desired size is the plan's minimum and stays tracked: no autoscaler owns it, and an ignored
        # desired size would make EKS refuse a later, higher minimum (reality rule
        # eks-node-group-desired-size-tracked).
        self._opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            # Node group names are fixed (the plan's pool names), so a replacement must delete first.
            delete_before_replace=True))

    def system(self, machine_type: str, nodes: tuple[int, int]) -> aws.eks.NodeGroup:
        low, high = nodes
        return self._group(SYSTEM_POOL, machine_type, SYSTEM_AMI, (low, high, low), list(self._subnets))

    @staticmethod
    def _taint(taint: tuple[str, str, str]) -> aws.eks.NodeGroupTaintArgs:
        key, value, effect = taint
        return aws.eks.NodeGroupTaintArgs(key=key, value=value, effect=_EFFECT[effect])

    def _group(self, pool: str, machine_type: str, ami: str, size: tuple[int, int, int],
               planned_zones: list[str]) -> aws.eks.NodeGroup:
        low, high, desired = size
        zones = offered_zones(machine_type, planned_zones, self._invoke)
        return aws.eks.NodeGroup(
            f"{self._name}-{pool}",
            cluster_name=self._cluster.name,
            node_group_name=pool,
            # Following the control plane's version makes a Kubernetes upgrade roll the nodes after it.
            version=self._cluster.version,
            node_role_arn=self._role,
            subnet_ids=[self._subnets[z].id for z in zones],
            instance_types=[machine_type],
            ami_type=ami,
            capacity_type="ON_DEMAND",
            # Every node starts tainted until Cilium's agent runs on it (it removes the taint): no pod unfenced.
            taints=[self._taint(AGENT_NOT_READY_TAINT)],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=low, max_size=high, desired_size=desired),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            opts=self._opts)
