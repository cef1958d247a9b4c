"""The shape of each cloud's cluster in a region: network ranges, zones, node pools and their sizes.

Computed once here from the spec and the sizing decisions; the AWS and GCP cluster components take
the same ClusterPlan and only translate it into resources.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Mapping

from ..catalog import Catalog
from ..clouds import CloudProfile, profile
from .errors import InputError, InvalidInput
from .evidence import DEFAULT_RETENTION_DAYS
from .maintenance import DEFAULT_WINDOW, MaintenanceWindow
from .sizing import Fit, fallback_machines, node_disk_gib, nodes_for, pods
from .spec import CloudSpec, RegionSpec, Reservation

GPU_TAINT = ("nvidia.com/gpu", "present", "NoSchedule")
GPU_LABEL = "sovereign.ai/gpu"       # node label the serving chart selects on
POOL_LABEL = "sovereign.ai/pool"
SYSTEM_NODES = (2, 4)                 # min, max: two for HA of system pods
ZONES = 3                             # spread over three zones where the region has them, else two


@dataclass(frozen=True)
class GpuPool:
    name: str                       # "gpu-nvidia-l4", the same on both clouds
    gpu: str                        # catalog GPU id
    machine_type: str
    gpus_per_node: int
    min_nodes: int
    max_nodes: int
    spot: bool
    labels: Mapping[str, str]
    models: tuple[str, ...]         # model ids placed on this pool
    accelerator: str | None = None  # the accelerator type a GKE pool requests; None where the machine implies it
    zones: tuple[str, ...] = ()     # the cluster's zones that offer this pool's GPU (catalog, zone level)
    disk_gib: int = 0               # boot disk per node: its replicas' weight caches and scratch, and images
    # The minimum nodes also hold one more replica of every model at once: a rolling update's surge replicas
    # find a GPU without a node being added (serving.rollout decides each model's strategy from it).
    surge_room: bool = False
    reservation: Reservation | None = None   # the capacity reserved for it, in its one zone
    needs_reservation: bool = False           # a scarce machine family (profile) without one
    # Where the cloud's pools take several machine types: the others of the same GPU that hold the pool's
    # replicas, cheapest first (sizing.fallback_machines).
    fallback_machine_types: tuple[str, ...] = ()
    # What the node autoscaler may grow the pool to: the maximum replicas and, for each model that scales, one
    # rolling-update surge replica beside them (an update at max replicas must not stall).
    ceiling_nodes: int = 0

    @property
    def machine_types(self) -> tuple[str, ...]:
        return (self.machine_type, *self.fallback_machine_types)

    @property
    def capacity(self) -> str:
        """How the pool's nodes are bought, for reports."""
        if self.reservation:
            kind = "Capacity Block" if self.reservation.block else "capacity reservation"
            return f"{kind} {self.reservation.id} in {self.reservation.zone}"
        return "spot" if self.spot else "on demand"

    @property
    def desired_nodes(self) -> int:
        return self.min_nodes


@dataclass(frozen=True)
class Network:
    cidr: str
    public_subnets: tuple[str, ...]   # one per zone (AWS: load balancers, NAT)
    private_subnets: tuple[str, ...]  # one per zone (AWS: nodes); GCP uses the first as its subnet
    pods_cidr: str | None             # GKE secondary range
    services_cidr: str | None         # GKE secondary range
    master_cidr: str | None           # GKE private control plane
    proxy_cidr: str | None = None     # GKE: the regional load balancer's proxy-only subnet


@dataclass(frozen=True)
class ClusterPlan:
    name: str                       # "<region>-<cloud>"
    cloud: CloudSpec
    zone_count: int
    zones: tuple[str, ...]          # the cluster's zones: the region's first zone_count, in catalog order
    network: Network
    system_machine_type: str
    system_nodes: tuple[int, int]
    gpu_pools: tuple[GpuPool, ...]
    labels: Mapping[str, str]
    maintenance: MaintenanceWindow = DEFAULT_WINDOW
    log_retention_days: int = DEFAULT_RETENTION_DAYS   # the cluster's audit trail (flow, DNS query, control plane)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "cloud": self.cloud.cloud, "region": self.cloud.region.name,
            "zoneCount": self.zone_count, "network": {
                "cidr": self.network.cidr, "publicSubnets": list(self.network.public_subnets),
                "privateSubnets": list(self.network.private_subnets), "podsCidr": self.network.pods_cidr,
                "servicesCidr": self.network.services_cidr, "masterCidr": self.network.master_cidr,
                "proxyCidr": self.network.proxy_cidr},
            "maintenance": self.maintenance.to_dict(), "logRetentionDays": self.log_retention_days,
            "systemPool": {"machineType": self.system_machine_type, "minNodes": self.system_nodes[0],
                           "maxNodes": self.system_nodes[1]},
            "gpuPools": [{"name": p.name, "gpu": p.gpu, "machineType": p.machine_type,
                          "gpusPerNode": p.gpus_per_node, "minNodes": p.min_nodes, "maxNodes": p.max_nodes,
                          "desiredNodes": p.desired_nodes, "ceilingNodes": p.ceiling_nodes, "spot": p.spot, "labels": dict(p.labels),
                          "models": list(p.models), "surgeRoom": p.surge_room, "capacity": p.capacity,
                          "needsReservation": p.needs_reservation,
                          "fallbackMachineTypes": list(p.fallback_machine_types)} for p in self.gpu_pools],
        }


def plan_clusters(spec: RegionSpec, fits: tuple[Fit, ...], catalog: Catalog) -> tuple[ClusterPlan, ...]:
    return tuple(plan_cluster(spec, cloud, [f for f in fits if f.cloud == cloud.cloud], catalog)
                 for cloud in spec.clouds)


def cloud_labels(spec: RegionSpec, cloud: CloudSpec) -> dict[str, str]:
    """Tags / labels on everything the region builds in one cloud."""
    return {"sovereign-region": spec.name, "sovereign-stack": spec.stack, "sovereign-cloud": cloud.cloud,
            "managed-by": "pulumi"}


def plan_cluster(spec: RegionSpec, cloud: CloudSpec, fits: list[Fit], catalog: Catalog) -> ClusterPlan:
    labels = cloud_labels(spec, cloud)
    count = min(ZONES, len(cloud.region.zones))
    zones = cloud.region.zones[:count]
    return ClusterPlan(
        name=f"{spec.name}-{cloud.cloud}", cloud=cloud, zone_count=count, zones=zones,
        network=_network(profile(cloud.cloud), count), system_machine_type=profile(cloud.cloud).system_machine_type,
        system_nodes=SYSTEM_NODES, gpu_pools=_gpu_pools(spec, cloud, fits, catalog, zones), labels=labels,
        maintenance=spec.maintenance, log_retention_days=spec.log_retention_days)


def _gpu_pools(spec: RegionSpec, cloud: CloudSpec, fits: list[Fit], catalog: Catalog,
               zones: tuple[str, ...]) -> tuple[GpuPool, ...]:
    """One pool per GPU type the region needs (per machine type, if no machine type could carry all its models).

    Models sized onto the same machine type share its pool: its nodes hold all their replicas (sizing.nodes_for).
    """
    replicas = {m.id: m.replicas for m in spec.models}
    groups: dict[tuple[str, str], list[Fit]] = {}
    for fit in fits:
        groups.setdefault((fit.gpu, fit.machine_type), []).append(fit)
    machines_per_gpu = {gpu: sum(1 for g, _ in groups if g == gpu) for gpu, _ in groups}
    machines = {m.name: m for m in catalog.machine_types(cloud.cloud)}
    result = []
    for (gpu, machine), members in sorted(groups.items()):
        name = f"gpu-{gpu.removeprefix('nvidia-')}"
        if machines_per_gpu[gpu] > 1:
            name += "-" + machine.replace(".", "-")
        per_node = members[0].gpus_per_node
        reservation = cloud.reservation(gpu)
        if reservation and machines_per_gpu[gpu] > 1:
            raise InvalidInput([InputError(spec.file, f"sovereign:clouds.{cloud.cloud}.capacityReservations",
                                           f"{gpu} runs in {machines_per_gpu[gpu]} pools of different machine types; "
                                           "a reservation holds one instance type",
                                           "restrict the models on it to one machine type's GPUs (`gpus:`)")])
        zones_of_pool = _pool_zones(spec, cloud, gpu, zones, catalog)
        if reservation:
            if reservation.zone not in zones_of_pool:
                raise InvalidInput([InputError(spec.file, f"sovereign:clouds.{cloud.cloud}.capacityReservations",
                                               f"{reservation.id} is in {reservation.zone}, not one of the zones the "
                                               f"{gpu} pool can use ({', '.join(zones_of_pool)})",
                                               "reserve capacity in one of those zones")])
            zones_of_pool = (reservation.zone,)
        low = nodes_for(pods(members, replicas, "min"), per_node)
        surge = [f.tensor_parallel for f in members]
        result.append(GpuPool(
            name=name, gpu=gpu, machine_type=machine, gpus_per_node=per_node,
            min_nodes=low, max_nodes=nodes_for(pods(members, replicas, "max"), per_node),
            ceiling_nodes=nodes_for(pods(members, replicas, "max") + [f.tensor_parallel for f in members
                                                                     if replicas[f.model].max > replicas[f.model].min],
                                    per_node),
            spot=cloud.spot and reservation is None, labels={GPU_LABEL: gpu, POOL_LABEL: name},
            models=tuple(f.model for f in members),
            # Sizing places GKE pools only on machine types with an accelerator type (sizing._candidates).
            accelerator=machines[machine].gke_accelerator if profile(cloud.cloud).catalog.accelerator_type else None,
            zones=zones_of_pool, disk_gib=node_disk_gib(members),
            surge_room=nodes_for(pods(members, replicas, "min") + surge, per_node) <= low,
            reservation=reservation,
            # A reservation holds one instance type: nothing to fall back to inside it.
            fallback_machine_types=() if reservation else fallback_machines(cloud, members, catalog),
            needs_reservation=not reservation and machine.startswith(profile(cloud.cloud).reservation_families)))
    if stray := sorted(r.gpu for r in cloud.reservations if r.gpu not in {gpu for gpu, _ in groups}):
        raise InvalidInput([InputError(spec.file, f"sovereign:clouds.{cloud.cloud}.capacityReservations",
                                       f"no pool runs {', '.join(stray)}", "remove the reservation, or let a model "
                                       "run on that GPU (`gpus:`)")])
    return tuple(result)


def _pool_zones(spec: RegionSpec, cloud: CloudSpec, gpu: str, zones: tuple[str, ...],
                catalog: Catalog) -> tuple[str, ...]:
    """The cluster's zones offering `gpu`. Where the catalog has no zone-level fact, every cluster zone: the
    reality rules report that fact as missing where the cloud's pools need it (GKE), and EKS node groups
    keep only the zones the provider reports offering the instance type."""
    offered = catalog.gpu_zones(cloud.cloud, cloud.region.name, gpu)
    if offered is None:
        return zones
    placed = tuple(z for z in zones if z in offered)
    if not placed:
        raise InvalidInput([InputError(spec.file, f"sovereign:clouds.{cloud.cloud}.region",
                                       f"{gpu} is offered in none of the cluster's zones ({', '.join(zones)}) "
                                       f"of {cloud.region.name}", "choose another region, or other GPUs "
                                       "for the models placed on it (`gpus:`)")])
    return placed


def _network(shape: CloudProfile, zones: int) -> Network:
    block = ipaddress.ip_network(shape.network_cidr)
    # /20 per subnet: 4091 usable addresses each, enough for VPC-CNI pod IPs on the nodes of one zone.
    subnets = [str(s) for s in block.subnets(new_prefix=20)]
    public, private = tuple(subnets[:zones]), tuple(subnets[8:8 + zones])
    if not shape.public_subnets:  # one regional subnet; pods and services on its secondary ranges
        return Network(str(block), (), private[:1], shape.pods_cidr, shape.services_cidr, shape.master_cidr,
                       shape.proxy_cidr)
    return Network(str(block), public, private, None, None, None)
