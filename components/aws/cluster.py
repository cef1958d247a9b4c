"""`sovereign:aws:GpuCluster`: a private EKS cluster for GPU serving, translated from a ClusterPlan.

Every size, range, address and pool comes from the plan; this file only maps it onto AWS resources.
"""

from __future__ import annotations

import json

from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ..cluster_args import GpuClusterArgs
from ..k8s.kubeconfig import exec_kubeconfig
from . import iam
from .egress_cilium import OPERATOR_EC2_ACTIONS, OPERATOR_SERVICE_ACCOUNT, UPSTREAM as CILIUM_REGISTRY, cilium_release
from .egress_cilium import image_values as cilium_images
from .mirror import node_pull_through, registry_host, registry_mirrors
from .addons import EBS_CSI, EBS_CSI_SERVICE_ACCOUNT, NODE_ADDONS, SYSTEM_ADDONS, addon, device_plugin
from .network import cluster_network
from .karpenter import UPSTREAM as KARPENTER_REGISTRY, KarpenterTarget, gpu_node_pools
from .nodes import NodeGroups, offered_zones

# Every control-plane log type: the scheduler's and controller manager's decisions are part of the audit trail.
CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
# No CNI policy: Cilium's operator manages the ENIs through its own role (egress_cilium.OPERATOR_EC2_ACTIONS).
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly",
                 "AmazonSSMManagedInstanceCore")  # SSM instead of SSH for node access


class AwsGpuCluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: GpuClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:aws:GpuCluster", name, None, opts)
        plan, cloud = args.plan, args.plan.cloud
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        invoke = pulumi.InvokeOptions(provider=args.provider)
        # A region's partition is a fixed fact of the catalog (aws, aws-cn, ...), no lookup needed.
        partition, dns_suffix = cloud.region.partition, cloud.region.dns_suffix

        # The plan's zones (catalog facts); the account must see every one of them (zone letters can differ
        # for accounts older than the catalog's source, see the README).
        available = set(aws.get_availability_zones(
            state="available",
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            opts=invoke).names)
        zones = list(plan.zones)
        if not set(zones) <= available:
            raise pulumi.RunError(f"{cloud.region.name}: this account has no zone {', '.join(sorted(set(zones) - available))}"
                                  f" of the plan's {', '.join(zones)}; the catalog's zones are for new accounts")
        network = cluster_network(name, plan.network, plan.cloud.region.name, zones, plan.name, child)

        cluster_role, cluster_policies = iam.role(
            f"{name}-cluster", iam.service_trust("eks.amazonaws.com"),
            [iam.managed_policy(partition, "AmazonEKSClusterPolicy")], child)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=args.provider)).account_id
        key = aws.kms.Key(f"{name}-secrets", description=f"Kubernetes secrets of EKS cluster {plan.name}",
                          enable_key_rotation=True, policy=account.apply(lambda a: iam.key_policy(partition, a)),
                          opts=child)
        key_use = aws.iam.RolePolicy(f"{name}-cluster-secrets-key", role=cluster_role.name,
                                     policy=key.arn.apply(iam.key_use_policy), opts=child)
        logs = aws.cloudwatch.LogGroup(f"{name}-control-plane", name=f"/aws/eks/{plan.name}/cluster",
                                       # EKS would create the group itself with no expiry, and leave it after a destroy.
                                       retention_in_days=plan.log_retention_days, opts=child)
        cluster = aws.eks.Cluster(
            name,
            name=plan.name,
            version=cloud.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=[s.id for s in network.private_subnets.values()],
                endpoint_private_access=True,
                # No CIDRs in the spec means no public endpoint at all, not one open to the internet.
                endpoint_public_access=bool(cloud.api_access_cidrs),
                public_access_cidrs=list(cloud.api_access_cidrs) or None),
            enabled_cluster_log_types=CONTROL_PLANE_LOGS,
            # No aws-node, kube-proxy or CoreDNS from EKS: Cilium is the only CNI (egress_cilium), kube-proxy and
            # CoreDNS come as managed add-ons. Changing this replaces the cluster.
            bootstrap_self_managed_addons=False,
            # Standard support only: EKS defaults to EXTENDED, billed per cluster-hour once standard ends.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            # Access entries only: no aws-auth ConfigMap to drift or lock everyone out.
            # With an admin role, admins are managed explicitly: the creator is not bootstrapped (an entry for
            # the same principal would be refused, 409) and the deployer reaches the cluster through that role.
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=not cloud.admin_role_arn),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"], provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn)),
            # The role must keep its permissions until the cluster is gone; the log group must exist first. The
            # name is the plan's and EKS names are unique per region, so a replacement must delete first.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                depends_on=[*cluster_policies, key_use, logs], delete_before_replace=True)))

        issuer = cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
        oidc = aws.iam.OpenIdConnectProvider(f"{name}-oidc", url=issuer, client_id_lists=[iam.STS_AUDIENCE],
                                             opts=child)
        access: list[pulumi.Resource] = []
        if cloud.admin_role_arn:
            entry = aws.eks.AccessEntry(f"{name}-admin", cluster_name=cluster.name,
                                        principal_arn=cloud.admin_role_arn, type="STANDARD", opts=child)
            access = [entry]
            access.append(aws.eks.AccessPolicyAssociation(
                f"{name}-admin", cluster_name=cluster.name, principal_arn=entry.principal_arn,
                policy_arn=f"arn:{partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"), opts=child))

        region = cloud.region.name
        # Every image the cluster can mirror is pulled through the region's ECR, created before anything pulls.
        mirrors = registry_mirrors(name, args.images, args.stored_images, child)
        self.image_registry = registry_host(mirrors, region, dns_suffix)
        self.kubeconfig = pulumi.Output.secret(pulumi.Output.all(
            cluster.name, cluster.endpoint, cluster.certificate_authority.apply(lambda ca: ca.data),
        ).apply(lambda a: exec_kubeconfig(a[0], a[1], a[2], "aws", [
            "eks", "get-token", "--cluster-name", a[0], "--region", region, "--output", "json",
            *(["--role-arn", cloud.admin_role_arn] if cloud.admin_role_arn else [])])))
        # The CNI comes before any node can be Ready, and EKS finishes a node group only once its nodes are: Cilium
        # goes in through a provider that waits for no node, beside the node groups (not after them), and its
        # release waits until its agents run on the nodes as they join.
        bootstrap = k8s.Provider(
            f"{name}-bootstrap", kubeconfig=self.kubeconfig, enable_server_side_apply=True, delete_unreachable=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster, *access]))
        operator_role, _ = iam.role(
            f"{name}-cilium-operator",
            pulumi.Output.all(oidc.arn, issuer).apply(
                lambda a: iam.service_account_trust(a[0], a[1], *OPERATOR_SERVICE_ACCOUNT)), [], child)
        operator_policy = aws.iam.RolePolicy(f"{name}-cilium-operator", role=operator_role.id, policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(OPERATOR_EC2_ACTIONS),
                                                    "Resource": "*"}]}), opts=child)
        # The cluster's CNI and policy enforcer: nodes stay NotReady (and tainted) until its agent runs on them.
        self.policy_enforcer = cilium_release(
            name, operator_role.arn, cilium_images(self.image_registry, args.images.chart_mirror(CILIUM_REGISTRY),
                                                   args.images.chart_digests(CILIUM_REGISTRY)),
            pulumi.ResourceOptions(parent=self, provider=bootstrap, deleted_with=cluster, depends_on=[operator_policy]))

        node_role, node_policies = iam.role(
            f"{name}-node", iam.service_trust(f"ec2.{dns_suffix}"),
            [iam.managed_policy(partition, p) for p in NODE_POLICIES], child)
        # A mirror's first pull of an image creates its repository with the puller's (the node's) permissions.
        if mirrors.rules:
            node_policies.append(node_pull_through(name, node_role, mirrors.rules, partition, region, child))
        version = cloud.kubernetes_version
        node_addons = [addon(name, cluster, a, version, args.provider, child) for a in NODE_ADDONS]
        groups = NodeGroups(name, cluster, node_role.arn, network.private_subnets, invoke,
                            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                                depends_on=[*node_policies, *node_addons])))
        system = groups.system(plan.system_machine_type, plan.system_nodes)

        ebs_role, ebs_policies = iam.role(
            f"{name}-ebs-csi",
            pulumi.Output.all(oidc.arn, issuer).apply(
                lambda a: iam.service_account_trust(a[0], a[1], *EBS_CSI_SERVICE_ACCOUNT)),
            [iam.managed_policy(partition, "service-role/AmazonEBSCSIDriverPolicy")], child)
        on_system_nodes = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[system]))
        for addon_name in SYSTEM_ADDONS:
            addon(name, cluster, addon_name, version, args.provider, on_system_nodes)
        addon(name, cluster, EBS_CSI, version, args.provider,
              pulumi.ResourceOptions.merge(on_system_nodes, pulumi.ResourceOptions(depends_on=ebs_policies)),
              service_account_role_arn=ebs_role.arn)

        self.k8s_provider = k8s.Provider(
            name, kubeconfig=self.kubeconfig, enable_server_side_apply=True,
            # A cluster already gone (a drill's teardown) must not block destroying what ran on it.
            delete_unreachable=True,
            # Add-ons need nodes to schedule on; GPU pools are not waited for (same contract as on GKE): one
            # GPU type without capacity must not block the CNI, the fences and the gateway.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[system]))
        device_plugin(name, cluster, self.k8s_provider, self)

        # GPU nodes come and go with the model servers' replicas (Karpenter); they launch with a role of their own.
        gpu_role, gpu_policies = iam.role(
            f"{name}-gpu-node", iam.service_trust(f"ec2.{dns_suffix}"),
            [iam.managed_policy(partition, p) for p in NODE_POLICIES], child)
        if mirrors.rules:
            gpu_policies.append(node_pull_through(f"{name}-gpu", gpu_role, mirrors.rules, partition, region, child))
        ecr_public = args.images.chart_mirror(KARPENTER_REGISTRY)
        pools = gpu_node_pools(KarpenterTarget(
            name, cluster, network.private_subnets, dict(plan.labels), partition, region, account, (oidc.arn, issuer),
            gpu_role, [*gpu_policies, *node_addons], network.egress,
            pulumi.Output.concat(self.image_registry, "/", ecr_public) if ecr_public else None,
            args.images.chart_digests(KARPENTER_REGISTRY), child,
            pulumi.ResourceOptions(parent=self, provider=self.k8s_provider)),
            plan.gpu_pools, {pool.name: offered_zones(pool.machine_type, [z for z in pool.zones
                                                                          if z in network.private_subnets], invoke)
                             for pool in plan.gpu_pools}) if plan.gpu_pools and not args.released else {}

        self.cluster = cluster
        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint
        self.network_id = network.vpc.id
        self.storage_endpoint = network.s3_endpoint.id
        self.node_identity = node_role.arn
        self.workload_identity = oidc.arn
        self.gpu_pools = {pool: node_pool.id for pool, node_pool in pools.items()}
        self.register_outputs({
            "clusterName": self.cluster_name, "endpoint": self.endpoint, "kubeconfig": self.kubeconfig,
            "networkId": self.network_id, "nodeIdentity": self.node_identity,
            "workloadIdentity": self.workload_identity, "gpuPools": self.gpu_pools,
            "imageRegistry": self.image_registry,
        })
