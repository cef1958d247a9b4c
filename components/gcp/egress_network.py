"""The network layer on GCP: the cluster's VPC network blocks every denied host, whatever the pods do.

- Cloud DNS response policy bound to the network: every denied name, exact or `*.` wildcard, answers
  with a CNAME into RFC 6761's `invalid.`, so every resolver path through Cloud DNS (pods through
  kube-dns, nodes, any VM) gets NXDOMAIN. It is the only layer that can block wildcards: Cloud NGFW
  FQDN objects take none. A network takes a single response policy.
- Cloud NGFW global network firewall policy associated with the network: EGRESS allow rules on 443
  for the allowed hosts, evaluated first (lower priority number), then deny rules on every protocol
  for the exact denied hosts, at most 100 FQDNs per rule. FQDN objects are a Cloud NGFW Standard
  feature: a paid tier above Essentials, charged on the traffic such rules process.
- NGFW resolves its FQDN objects through the network's own resolution order, response policy
  included, and ignores names that resolve to nothing: while the DNS block stands the deny rules
  program no addresses, and they take over, by IP, only if it is lifted. That is wanted: the denied
  APIs share CDN and Google front-end addresses with hosts the cluster needs, which only a name-level
  block tells apart. A client resolving outside Cloud DNS (own resolver, DoH, a hard-coded address)
  is not stopped here; the pod layer's kube-dns-only rule covers the fenced pods.
- The network keeps the default AFTER_CLASSIC_FIREWALL order: VPC firewall rules are evaluated first,
  and none allows egress here to pre-empt these rules (the program creates none; those GKE creates
  are ingress). BEFORE_CLASSIC_FIREWALL would keep a future classic egress allow from doing so; the
  DNS block does not depend on either order.
- Platform hosts get no allow rule: nothing denies by default at this layer.
"""

from __future__ import annotations

import re

import pulumi
import pulumi_gcp as gcp

from sovereign.domain.decisions import FenceHosts
from sovereign.domain.egress import HTTPS
from sovereign.domain.topology import ClusterPlan

MAX_FQDNS_PER_RULE = 100
ALLOW_PRIORITY = 1000  # allow rules 1000, 1001, … before deny rules 2000, 2001, …
DENY_PRIORITY = 2000
BLOCKED_TARGET = "egress-denied.invalid."  # never resolves: the client sees NXDOMAIN


def network_layer(name: str, plan: ClusterPlan, fence: FenceHosts, network_id: pulumi.Input[str],
                  opts: pulumi.ResourceOptions) -> dict[str, list[str]]:
    """Renders the layer and returns its hosts as rendered: NGFW allows; NGFW and DNS denials."""
    allowed, ngfw_denied, dns_denied = list(fence.allowed), list(fence.denied_exact), list(fence.denied)
    _firewall(name, plan, allowed, ngfw_denied, network_id, opts)
    _dns_block(name, plan, dns_denied, network_id, opts)
    return {"allowed": allowed, "denied": sorted({*ngfw_denied, *dns_denied})}


def _firewall(name: str, plan: ClusterPlan, allowed: list[str], denied: list[str],
              network_id: pulumi.Input[str], opts: pulumi.ResourceOptions) -> None:
    policy = gcp.compute.NetworkFirewallPolicy(
        f"{name}-ngfw", name=f"{plan.name}-egress",
        description="Managed LLM APIs: allowed hosts on 443, denied providers' hosts blocked", opts=opts)
    for i, hosts in enumerate(_chunks(allowed)):
        gcp.compute.NetworkFirewallPolicyRule(
            f"{name}-ngfw-allow-{i}", firewall_policy=policy.name, rule_name=f"allow-managed-apis-{i}",
            priority=ALLOW_PRIORITY + i, direction="EGRESS", action="allow",
            match={"dest_fqdns": hosts, "layer4_configs": [{"ip_protocol": "tcp", "ports": [str(HTTPS)]}]},
            enable_logging=True,  # every connection to a managed API, for the audit trail
            opts=opts)
    for i, hosts in enumerate(_chunks(denied)):
        gcp.compute.NetworkFirewallPolicyRule(
            f"{name}-ngfw-deny-{i}", firewall_policy=policy.name, rule_name=f"deny-blocked-providers-{i}",
            priority=DENY_PRIORITY + i, direction="EGRESS", action="deny",
            match={"dest_fqdns": hosts, "layer4_configs": [{"ip_protocol": "all"}]},
            enable_logging=True,  # a hit is a workload trying a denied provider: keep the evidence
            opts=opts)
    gcp.compute.NetworkFirewallPolicyAssociation(
        f"{name}-ngfw-association", name=f"{plan.name}-egress", firewall_policy=policy.id,
        attachment_target=network_id, opts=opts)


def _dns_block(name: str, plan: ClusterPlan, denied: list[str], network_id: pulumi.Input[str],
               opts: pulumi.ResourceOptions) -> None:
    # Response policies need the Cloud DNS API, which the cluster's own APIs do not include.
    api = gcp.projects.Service(f"{name}-dns-api", service="dns.googleapis.com",
                               disable_on_destroy=False,  # other stacks share the project
                               opts=opts)
    # The audit trail: every query the network's resolver answers, response-policy answers included, goes to
    # Cloud Logging (the subnet's flow logs are the other half).
    gcp.dns.Policy(f"{name}-dns-logging", name=f"{plan.name}-dns-logging", enable_logging=True,
                   description="Log every DNS query of the cluster's network", networks=[{"network_url": network_id}],
                   opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[api])))
    policy = gcp.dns.ResponsePolicy(
        f"{name}-dns-deny", response_policy_name=f"{plan.name}-egress-deny",
        description="Hosts of managed LLM API providers denied in this region",
        networks=[{"network_url": network_id}],
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[api])))
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
