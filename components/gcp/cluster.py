"""`sovereign:gcp:GpuCluster` — a regional GKE Standard cluster for GPU serving, built from a ClusterPlan.

Private nodes in a custom VPC behind Cloud NAT, Dataplane V2, Workload Identity, a node service
account with logging/metrics/registry roles only, a system pool and one GPU pool per plan pool with
GKE-managed drivers. Every size, range and name comes from the plan; this file only translates.
"""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from sovereign.domain.topology import ClusterPlan
from ..cluster_args import GpuClusterArgs
from ..k8s.kubeconfig import exec_kubeconfig
from .apis import enable_apis
from .identity import node_identity
from .mirror import registry_host, remote_repositories
from .secrets_key import secrets_key
from ..k8s.elastic_platform import KEDA_CONTROL_PLANE_PORTS
from .network import PODS_RANGE, SERVICES_RANGE, GkeNetwork, build_network
from .node_pools import SCOPES, PoolTarget, gpu_pool, system_pool


class GcpGpuCluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: GpuClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:gcp:GpuCluster", name, None, opts)
        plan, project, region = args.plan, args.plan.cloud.project, args.plan.cloud.region.name
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)

        def after(*resources: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=list(resources)))

        zones = list(plan.zones)  # the plan's (catalog) zones: no lookup before the Compute API is enabled
        apis = enable_apis(name, project, child)
        net = build_network(name, region, plan.network, KEDA_CONTROL_PLANE_PORTS, after(apis["compute.googleapis.com"]))
        account, bindings = node_identity(
            name, project, after(apis["iam.googleapis.com"], apis["cloudresourcemanager.googleapis.com"]))
        key, key_use = secrets_key(name, region, project, apis["container.googleapis.com"],
                                   after(apis["cloudkms.googleapis.com"]))
        cluster = _cluster(name, plan, zones, net, account, key, after(*apis.values(), key_use))

        # Nodes start with their roles granted and a way out to registries and model hubs.
        target = PoolTarget(cluster, region, zones, account.email, after(*bindings, net.nat))
        pools = {p.name: gpu_pool(name, p, target) for p in plan.gpu_pools}
        system = system_pool(name, plan.system_machine_type, plan.system_nodes, target)
        mirrors = remote_repositories(name, args.images, region, project, account.member, child)

        kubeconfig = pulumi.Output.all(cluster.name, cluster.endpoint, cluster.master_auth.cluster_ca_certificate) \
            .apply(lambda a: exec_kubeconfig(a[0], f"https://{a[1]}", a[2], "gke-gcloud-auth-plugin", []))
        self.kubeconfig = pulumi.Output.secret(kubeconfig)
        self.k8s_provider = k8s.Provider(
            name,
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            delete_unreachable=True,  # a drill that already lost the cluster can still clean up state
            # Add-ons need nodes to schedule on. GPU workloads need not wait for their pools: the
            # autoscaler brings GPU nodes up for them, and the gateway can serve without them.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[system]),
        )

        self.cluster = cluster
        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint.apply(lambda ip: f"https://{ip}")
        self.network_id = net.network.self_link
        self.storage_endpoint = None  # Google's APIs go through Private Google Access, which takes no policy
        self.image_registry = registry_host(mirrors, region, project)
        self.node_identity = account.email
        self.workload_identity = cluster.workload_identity_config.workload_pool
        self.gpu_pools = {pool_name: pool.id for pool_name, pool in pools.items()}
        self.policy_enforcer = None  # Dataplane V2 enforces network policy from the cluster's creation
        self.register_outputs({
            "clusterName": self.cluster_name, "endpoint": self.endpoint, "networkId": self.network_id,
            "nodeIdentity": self.node_identity, "workloadIdentity": self.workload_identity,
            "gpuPools": self.gpu_pools, "imageRegistry": self.image_registry,
        })


def _cluster(name: str, plan: ClusterPlan, zones: list[str], net: GkeNetwork,
             account: gcp.serviceaccount.Account, key: gcp.kms.CryptoKey,
             opts: pulumi.ResourceOptions) -> gcp.container.Cluster:
    cloud = plan.cloud
    public = bool(cloud.api_access_cidrs)
    return gcp.container.Cluster(
        name,
        name=plan.name,
        location=cloud.region.name,  # regional: the control plane is replicated over the region's zones
        node_locations=zones,
        # GKE cannot create a cluster without a pool; the default one is removed right after and the
        # plan's pools are managed separately, so they can change without touching the cluster.
        remove_default_node_pool=True,
        initial_node_count=1,
        # The removed default pool still boots once: on the node account, never the default one.
        node_config=gcp.container.ClusterNodeConfigArgs(service_account=account.email, oauth_scopes=SCOPES),
        deletion_protection=False,  # a DR drill deletes the cluster; stateful data lives elsewhere
        network=net.network.self_link,
        subnetwork=net.subnetwork.self_link,
        networking_mode="VPC_NATIVE",
        ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
            cluster_secondary_range_name=PODS_RANGE, services_secondary_range_name=SERVICES_RANGE),
        datapath_provider="ADVANCED_DATAPATH",  # Dataplane V2: eBPF, network policy built in
        enable_fqdn_network_policy=True,  # the egress fence's FQDNNetworkPolicy (needs Dataplane V2)
        # The Gateway API (standard channel CRDs, GKE's gateway classes): the public endpoint's TLS load balancer.
        gateway_api_config=gcp.container.ClusterGatewayApiConfigArgs(channel="CHANNEL_STANDARD"),
        workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
            workload_pool=f"{cloud.project}.svc.id.goog"),
        release_channel=gcp.container.ClusterReleaseChannelArgs(channel=cloud.release_channel),
        private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
            enable_private_nodes=True,
            # Without operator networks the API is reachable from inside the VPC only.
            enable_private_endpoint=not public,
            master_ipv4_cidr_block=plan.network.master_cidr,
        ),
        master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
            cidr_blocks=[gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                cidr_block=cidr, display_name=f"api-access-{i}") for i, cidr in enumerate(cloud.api_access_cidrs)],
            gcp_public_cidrs_access_enabled=False,  # not every Google Cloud VM in the world
        ),
        enable_shielded_nodes=True,
        # Kubernetes Secrets (the gateway's keys, the model servers' key) encrypted in etcd with the stack's key.
        database_encryption=gcp.container.ClusterDatabaseEncryptionArgs(state="ENCRYPTED", key_name=key.id),
        logging_config=gcp.container.ClusterLoggingConfigArgs(enable_components=["SYSTEM_COMPONENTS", "WORKLOADS"]),
        monitoring_config=gcp.container.ClusterMonitoringConfigArgs(
            # DCGM: GPU utilisation and memory per device, collected by GKE on managed-driver nodes.
            enable_components=["SYSTEM_COMPONENTS", "DCGM"],
            managed_prometheus=gcp.container.ClusterMonitoringConfigManagedPrometheusArgs(enabled=True),
        ),
        # Recommendations for the system add-ons' requests; it acts only where a VPA object asks.
        vertical_pod_autoscaling=gcp.container.ClusterVerticalPodAutoscalingArgs(enabled=True),
        # Auto-upgrades of the control plane and nodes only in the region's window (sovereign/domain/maintenance.py).
        maintenance_policy=gcp.container.ClusterMaintenancePolicyArgs(
            recurring_window=gcp.container.ClusterMaintenancePolicyRecurringWindowArgs(
                start_time=plan.maintenance.first()[0], end_time=plan.maintenance.first()[1],
                recurrence=plan.maintenance.recurrence())),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            # The default pool's config is gone once the pool is; a diff on it would replace the cluster.
            ignore_changes=["nodeConfig"],
        )),
    )
