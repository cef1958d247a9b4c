"""The network layer on GCP: an allowlist on the cluster's VPC network, for every pod and node.

First match wins, in the order traffic meets it:
- Cloud DNS response policy bound to the network: every denied name, exact or `*.` wildcard, answers with
  a CNAME into RFC 6761's `invalid.` — NXDOMAIN for every resolver path through Cloud DNS (pods through
  kube-dns, nodes, any VM). Response policies are consulted before private zones, so a denied Google API
  (generativelanguage.googleapis.com) stays blocked under Private Google Access below. A network takes a
  single response policy.
- Private Google Access: private zones for googleapis.com, gcr.io and pkg.dev answer every name below them
  with private.googleapis.com's addresses (199.36.153.8/30), the DNS setup Google documents for it; the
  subnet has Private Google Access on. Google's APIs and registries stay on Google's network.
- Cloud NGFW global network firewall policy, EGRESS: allow the exact allowed names on 443 (FQDN objects,
  at most 100 per rule, no wildcards: wildcards are only declared under the private zones), allow
  private.googleapis.com's range on 443, allow the cluster's own ranges (nodes, pods, services, control
  plane), then deny everything else (priority 2,000,000,000, below Cloud NGFW's reserved goto_next rules).
  FQDN objects are a Cloud NGFW Standard feature, charged on the traffic such rules process.
- The network evaluates this policy BEFORE its classic VPC firewall rules: a classic egress allow added
  later can't pre-empt the deny. GKE's own classic rules are ingress, which this policy leaves alone.
  The metadata server (169.254.169.254, Workload Identity's tokens) is never filtered by firewall rules.
A client resolving outside Cloud DNS (own resolver, DoH) reaches no host outside the allowlist: the deny takes
every address no rule allows. What it can reach by address: any Google API behind private.googleapis.com's range
(a denied Gemini, with its own SNI), which only VPC Service Controls (restricted.googleapis.com) would close.
"""

from __future__ import annotations

import re

import pulumi
import pulumi_gcp as gcp

from sovereign.domain.decisions import FenceHosts
from sovereign.domain.egress import HTTPS
from sovereign.domain.topology import ClusterPlan

MAX_FQDNS_PER_RULE = 100
# FQDN allow rules 1100, 1101, …: not 1000+, which the blocklist's allow rules held; Pulumi creates a renamed rule
# before deleting the old one, and a policy's priorities are unique.
ALLOW_PRIORITY = 1100
GOOGLE_ACCESS_PRIORITY = 1900
INTERNAL_PRIORITY = 1901
# The catch-all: after every rule an operator may add; Cloud NGFW reserves 2147483644 and above for the
# policy's own goto_next rules.
CATCH_ALL_PRIORITY = 2_000_000_000
BLOCKED_TARGET = "egress-denied.invalid."  # never resolves: the client sees NXDOMAIN
# Private Google Access through private.googleapis.com: its four addresses, and the zones Google's DNS
# guide points at them (https://cloud.google.com/vpc/docs/configure-private-google-access#config-domain).
GOOGLE_ACCESS_RANGE = "199.36.153.8/30"
GOOGLE_ACCESS_ADDRESSES = ("199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11")
GOOGLE_ACCESS_ZONES = {"googleapis.com": "private.googleapis.com", "gcr.io": "gcr.io", "pkg.dev": "pkg.dev"}


def through_google_access(host: str) -> bool:
    """A name the private zones answer with private.googleapis.com's addresses."""
    name = host.removeprefix("*.")
    return any(name == zone or name.endswith(f".{zone}") for zone in GOOGLE_ACCESS_ZONES)


def network_layer(name: str, plan: ClusterPlan, fence: FenceHosts, network_id: pulumi.Input[str],
                  opts: pulumi.ResourceOptions) -> dict[str, list[str]]:
    """Renders the layer and returns its hosts as rendered, in the order it evaluates them."""
    # The rest by name: exact names only (verdict hosts are; the profile declares wildcards under the zones alone).
    by_name = [h for h in fence.allowed if not through_google_access(h)]
    api = gcp.projects.Service(f"{name}-dns-api", service="dns.googleapis.com",
                               disable_on_destroy=False,  # other stacks share the project
                               opts=opts)
    dns = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[api]))
    _dns_block(name, plan, list(fence.denied), network_id, dns)
    zones = _private_google_access(name, plan, network_id, dns)
    _firewall(name, plan, by_name, network_id, zones, opts)
    return {"denied": list(fence.denied), "allowed": list(fence.allowed), "catchAll": ["*"]}


def _firewall(name: str, plan: ClusterPlan, by_name: list[str], network_id: pulumi.Input[str],
              google_access: list[pulumi.Resource], opts: pulumi.ResourceOptions) -> None:
    policy = gcp.compute.NetworkFirewallPolicy(
        f"{name}-ngfw", name=f"{plan.name}-egress",
        description="Egress allowlist: allowed hosts, Google APIs, the cluster's ranges; everything else denied",
        opts=opts)

    def rule(suffix: str, priority: int, action: str, match: dict, why: str,
             after: list[pulumi.Resource] | None = None) -> gcp.compute.NetworkFirewallPolicyRule:
        return gcp.compute.NetworkFirewallPolicyRule(
            f"{name}-ngfw-{suffix}", firewall_policy=policy.name, rule_name=suffix, description=why,
            priority=priority, direction="EGRESS", action=action, match=match,
            enable_logging=True,  # every connection out, and every one refused: the audit trail
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=after or [])))

    https = [{"ip_protocol": "tcp", "ports": [str(HTTPS)]}]
    everything = [{"ip_protocol": "all"}]
    allows = [rule(f"allow-hosts-{i}", ALLOW_PRIORITY + i, "allow", {"dest_fqdns": hosts, "layer4_configs": https},
                   "allowed hosts by name") for i, hosts in enumerate(_chunks(by_name))]
    allows.append(rule("allow-google-apis", GOOGLE_ACCESS_PRIORITY, "allow",
                       {"dest_ip_ranges": [GOOGLE_ACCESS_RANGE], "layer4_configs": https}, "Private Google Access"))
    network = plan.network
    internal = [network.cidr, *(r for r in (network.pods_cidr, network.services_cidr, network.master_cidr) if r)]
    allows.append(rule("allow-cluster-ranges", INTERNAL_PRIORITY, "allow",
                       {"dest_ip_ranges": internal, "layer4_configs": everything}, "nodes, pods, services, control plane"))
    # The deny only once every allow, and the private zones Google's names resolve through, are in place.
    rule("deny-everything-else", CATCH_ALL_PRIORITY, "deny",
         {"dest_ip_ranges": ["0.0.0.0/0"], "layer4_configs": everything}, "the allowlist's catch-all",
         after=[*allows, *google_access])
    gcp.compute.NetworkFirewallPolicyAssociation(
        f"{name}-ngfw-association", name=f"{plan.name}-egress", firewall_policy=policy.id,
        attachment_target=network_id, opts=opts)


def _private_google_access(name: str, plan: ClusterPlan, network_id: pulumi.Input[str],
                           opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    records: list[pulumi.Resource] = []
    for zone, target in GOOGLE_ACCESS_ZONES.items():
        managed = gcp.dns.ManagedZone(
            f"{name}-pga-{_slug(zone)}", name=f"{plan.name}-pga-{_slug(zone)}", dns_name=f"{zone}.",
            visibility="private", description="Private Google Access: Google's names to private.googleapis.com",
            private_visibility_config={"networks": [{"network_url": network_id}]}, opts=opts)
        records.append(gcp.dns.RecordSet(f"{name}-pga-{_slug(zone)}-a", managed_zone=managed.name, name=f"{target}.",
                                         type="A", ttl=300, rrdatas=list(GOOGLE_ACCESS_ADDRESSES), opts=opts))
        records.append(gcp.dns.RecordSet(f"{name}-pga-{_slug(zone)}-any", managed_zone=managed.name,
                                         name=f"*.{zone}.", type="CNAME", ttl=300, rrdatas=[f"{target}."], opts=opts))
    return records


def _dns_block(name: str, plan: ClusterPlan, denied: list[str], network_id: pulumi.Input[str],
               opts: pulumi.ResourceOptions) -> None:
    # The audit trail: every query the network's resolver answers, response-policy answers included, goes to
    # Cloud Logging (the subnet's flow logs are the other half).
    gcp.dns.Policy(f"{name}-dns-logging", name=f"{plan.name}-dns-logging", enable_logging=True,
                   description="Log every DNS query of the cluster's network", networks=[{"network_url": network_id}],
                   opts=opts)
    policy = gcp.dns.ResponsePolicy(
        f"{name}-dns-deny", response_policy_name=f"{plan.name}-egress-deny",
        description="Hosts of managed LLM API providers denied in this region",
        networks=[{"network_url": network_id}],
        opts=opts)
    for host in denied:
        dns_name = f"{host}."
        gcp.dns.ResponsePolicyRule(
            f"{name}-dns-deny-{_slug(host)}", response_policy=policy.response_policy_name,
            rule_name=f"deny-{_slug(host)}", dns_name=dns_name,
            local_data={"local_datas": [{"name": dns_name, "type": "CNAME", "ttl": 300,
                                         "rrdatas": [BLOCKED_TARGET]}]},
            opts=opts)


def _chunks(hosts: list[str]) -> list[list[str]]:
    return [hosts[i:i + MAX_FQDNS_PER_RULE] for i in range(0, len(hosts), MAX_FQDNS_PER_RULE)]


def _slug(host: str) -> str:
    """`*.api.x.ai` → `any-api-x-ai`: a stable rule identity per name."""
    return re.sub(r"[^a-z0-9]+", "-", host.lower().replace("*", "any")).strip("-")
