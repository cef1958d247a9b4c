"""GKE node pools: the system pool and one pool per GPU pool of the plan, under the plan's names.

Sizes are the plan's, as totals over the zones (`total_*_node_count`); the cluster autoscaler owns
the node count once a pool exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from sovereign.domain.topology import GPU_TAINT, GpuPool

SYSTEM_POOL = "system"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]  # access is narrowed by IAM, not by scopes
TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
HYPERDISK_ONLY = ("a3-ultragpu-", "a4-")  # machine series that cannot boot from Persistent Disk


@dataclass(frozen=True)
class PoolTarget:
    """What every pool of one cluster shares."""
    cluster: gcp.container.Cluster
    region: str
    zones: Sequence[str]
    service_account: pulumi.Input[str]
    opts: pulumi.ResourceOptions


def initial_per_zone(desired: int, maximum: int, zones: int) -> int:
    """GKE sizes a new regional pool per zone. Start at the plan's desired total rounded up to whole
    zones, unless that would pass the pool's maximum (the GPU quota the plan budgets), then rounded
    down; the autoscaler adds the rest for pending pods and never drops below the total minimum."""
    per_zone = math.ceil(desired / zones)
    return per_zone if per_zone * zones <= maximum else desired // zones


def system_pool(name: str, machine_type: str, nodes: tuple[int, int], target: PoolTarget) -> gcp.container.NodePool:
    low, high = nodes
    return _pool(name, SYSTEM_POOL, low, low, high, "BALANCED", _node_config(machine_type, target), target,
                 target.zones)


def gpu_pool(name: str, pool: GpuPool, target: PoolTarget) -> gcp.container.NodePool:
    key, value, effect = GPU_TAINT
    config = _node_config(
        pool.machine_type, target, labels=pool.labels, spot=pool.spot,
        accelerators=[gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
            type=pool.accelerator, count=pool.gpus_per_node,
            # GKE installs the driver and runs the device plugin; nothing to deploy for it.
            gpu_driver_installation_config=gcp.container
            .NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(gpu_driver_version="LATEST"))],
        taints=[gcp.container.NodePoolNodeConfigTaintArgs(key=key, value=value, effect=TAINT_EFFECTS[effect])],
        disk_gb=pool.disk_gib,  # the plan's GiB: Compute Engine's "GB" disk sizes are 2^30 bytes
    )
    # ANY: scale up in whichever zone has GPUs (or spot capacity) rather than balancing and stalling.
    # Only the zones that offer the pool's accelerator (the plan's, from the catalog).
    return _pool(name, pool.name, pool.desired_nodes, pool.min_nodes, pool.ceiling_nodes, "ANY", config, target,
                 pool.zones)


def _pool(name: str, pool_name: str, desired: int, minimum: int, maximum: int, location_policy: str,
          config: gcp.container.NodePoolNodeConfigArgs, target: PoolTarget,
          zones: Sequence[str]) -> gcp.container.NodePool:
    return gcp.container.NodePool(
        f"{name}-{pool_name}",
        name=pool_name,
        cluster=target.cluster.name,
        location=target.region,
        node_locations=list(zones),
        initial_node_count=initial_per_zone(desired, maximum, len(zones)),
        autoscaling=gcp.container.NodePoolAutoscalingArgs(
            total_min_node_count=minimum, total_max_node_count=maximum, location_policy=location_policy),
        management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
        # A new node before an old one drains: replicas move rather than wait (needs one node of spare quota).
        upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(strategy="SURGE", max_surge=1, max_unavailable=0),
        node_config=config,
        opts=pulumi.ResourceOptions.merge(target.opts, pulumi.ResourceOptions(
            # A resize changes initial_node_count, which would otherwise replace the pool.
            ignore_changes=["initialNodeCount"],
            # The name is fixed (both clouds show the plan's pool names), so a replacement must go first.
            delete_before_replace=True,
            # Deleting the cluster deletes its pools; skipping one GKE operation per pool speeds a drill.
            deleted_with=target.cluster,
        )),
    )


def _node_config(machine_type: str, target: PoolTarget, labels: Optional[Mapping[str, str]] = None,
                 spot: bool = False, accelerators: Optional[list] = None, taints: Optional[list] = None,
                 disk_gb: Optional[int] = None) -> gcp.container.NodePoolNodeConfigArgs:
    return gcp.container.NodePoolNodeConfigArgs(
        machine_type=machine_type,
        image_type="COS_CONTAINERD",
        disk_size_gb=disk_gb,
        disk_type="hyperdisk-balanced" if machine_type.startswith(HYPERDISK_ONLY) else "pd-balanced",
        service_account=target.service_account,
        oauth_scopes=SCOPES,
        labels=dict(labels) if labels else None,
        taints=taints,
        guest_accelerators=accelerators,
        spot=spot,
        # gVNIC: the bandwidth to pull tens of GB of weights (and A3 machines require it).
        gvnic=gcp.container.NodePoolNodeConfigGvnicArgs(enabled=True) if accelerators else None,
        # Image streaming on GPU nodes: eligible images (Artifact Registry's) start before their ~13 GB arrive; the
        # rest are pulled whole, as without it. https://cloud.google.com/kubernetes-engine/docs/how-to/image-streaming
        gcfs_config=gcp.container.NodePoolNodeConfigGcfsConfigArgs(enabled=True) if accelerators else None,
        workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
        shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
            enable_secure_boot=True, enable_integrity_monitoring=True),
    )
