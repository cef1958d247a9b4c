"""The cluster's VPC: one custom-mode network, one regional subnet with the GKE secondary ranges,
and Cloud NAT so private nodes reach registries and model hubs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from sovereign.domain.topology import Network

PODS_RANGE = "pods"
SERVICES_RANGE = "services"


@dataclass(frozen=True)
class GkeNetwork:
    network: gcp.compute.Network
    subnetwork: gcp.compute.Subnetwork
    router: gcp.compute.Router
    nat: gcp.compute.RouterNat


def build_network(name: str, region: str, plan: Network, control_plane_ports: tuple[str, ...],
                  opts: pulumi.ResourceOptions) -> GkeNetwork:
    """`control_plane_ports`: what the private control plane must reach on nodes and pods besides the 443 and 10250
    GKE opens itself (an aggregated API's or a webhook's port)."""
    network = gcp.compute.Network(
        f"{name}-network",
        auto_create_subnetworks=False,  # only the plan's ranges, no /20 in every region
        routing_mode="REGIONAL",
        # The egress allowlist (egress_network) before classic rules: a classic egress allow can't pre-empt its deny.
        network_firewall_policy_enforcement_order="BEFORE_CLASSIC_FIREWALL",
        opts=opts,
    )
    subnetwork = gcp.compute.Subnetwork(
        f"{name}-nodes",
        network=network.id,
        region=region,
        ip_cidr_range=plan.private_subnets[0],
        secondary_ip_ranges=[
            gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=PODS_RANGE, ip_cidr_range=plan.pods_cidr),
            gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=SERVICES_RANGE, ip_cidr_range=plan.services_cidr),
        ],
        private_ip_google_access=True,  # nodes have no public IP; Google APIs stay on Google's network
        log_config=gcp.compute.SubnetworkLogConfigArgs(
            aggregation_interval="INTERVAL_5_SEC", flow_sampling=0.5, metadata="INCLUDE_ALL_METADATA"),
        opts=opts,
    )
    if plan.proxy_cidr:
        # The Gateway's regional external load balancer runs its proxies here (one ACTIVE subnet per region and
        # network), in front of the gateway pods (components/gcp/public_endpoint.py).
        gcp.compute.Subnetwork(f"{name}-proxies", network=network.id, region=region, ip_cidr_range=plan.proxy_cidr,
                               purpose="REGIONAL_MANAGED_PROXY", role="ACTIVE", opts=opts)
    if control_plane_ports and plan.master_cidr:
        # GKE's own rule admits the control plane on 443 and 10250 only; KEDA's metrics API (6443) and admission
        # webhooks (9443) need their ports too, or the HPAs it drives get no metrics.
        # https://cloud.google.com/kubernetes-engine/docs/how-to/latest/network-isolation#add_firewall_rules
        gcp.compute.Firewall(
            f"{name}-control-plane", network=network.id, direction="INGRESS", source_ranges=[plan.master_cidr],
            allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=list(control_plane_ports))],
            description="GKE control plane to aggregated APIs and webhooks on the nodes' pods", opts=opts)
    router = gcp.compute.Router(f"{name}-router", network=network.id, region=region, opts=opts)
    nat = gcp.compute.RouterNat(
        f"{name}-nat",
        router=router.name,
        region=region,
        nat_ip_allocate_option="AUTO_ONLY",
        source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
        # Model downloads open many parallel connections to one hub address; a fixed 64 ports per VM
        # would drop them. Dynamic allocation requires endpoint-independent mapping off.
        enable_dynamic_port_allocation=True,
        enable_endpoint_independent_mapping=False,
        min_ports_per_vm=64,
        max_ports_per_vm=4096,
        log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
        opts=opts,
    )
    return GkeNetwork(network, subnetwork, router, nat)
