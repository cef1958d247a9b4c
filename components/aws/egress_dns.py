"""The network layer on AWS: Route 53 Resolver DNS Firewall on the cluster's VPC.

Every pod and node resolves through the VPC resolver (coredns forwards to it), so a denied provider's
names answer NXDOMAIN whatever the pod layer says. Not AWS Network Firewall: it would add per-zone
endpoints, route changes and hourly cost for the same name-based verdict. It becomes the next step if
the threat model includes hard-coded IPs or DNS over HTTPS, which bypass any resolver (SNI inspection).

Domain syntax is the plan's: exact names as they are, a leading `*.` for any name below (never the apex),
no trailing dots. A list exists only with domains in it: a sovereign-only region has no ALLOW list or rule.
AWS would accept an empty list (domains are added after creation), but a rule over it would decide nothing.

Caveat: mutation protection refuses the disassociation a `pulumi destroy` makes; a teardown first needs
an update with it DISABLED.
"""

from __future__ import annotations

from typing import Sequence

import pulumi
import pulumi_aws as aws

ALLOW_PRIORITY, BLOCK_PRIORITY = 100, 200  # first match wins: an allowed name is never blocked
# Between the slots Firewall Manager uses for organization-wide rule groups (first and last).
ASSOCIATION_PRIORITY = 1000
# A CNAME chain is checked link by link, so an allowed name can't alias into a denied one.
INSPECT_CHAIN = "INSPECT_REDIRECTION_DOMAIN"


def dns_firewall(name: str, allowed: Sequence[str], denied: Sequence[str], vpc_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions) -> None:
    group = aws.route53.ResolverFirewallRuleGroup(f"{name}-egress", name=f"{name}-egress", opts=opts)
    rules = [_rule(name, group, "allow", allowed, ALLOW_PRIORITY, opts),
             _rule(name, group, "block", denied, BLOCK_PRIORITY, opts)]
    aws.route53.ResolverFirewallRuleGroupAssociation(
        f"{name}-egress", name=f"{name}-egress", firewall_rule_group_id=group.id, vpc_id=vpc_id,
        priority=ASSOCIATION_PRIORITY, mutation_protection="ENABLED",
        # Associated once its rules are in: never a window where the VPC is filtered by a partial group.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[r for r in rules if r])))
    # Fail closed: a query the firewall can't evaluate gets SERVFAIL, not an answer.
    aws.route53.ResolverFirewallConfig(f"{name}-egress", resource_id=vpc_id, firewall_fail_open="DISABLED",
                                       opts=opts)


def _rule(name: str, group: aws.route53.ResolverFirewallRuleGroup, verb: str, domains: Sequence[str],
          priority: int, opts: pulumi.ResourceOptions) -> aws.route53.ResolverFirewallRule | None:
    if not domains:
        return None
    domain_list = aws.route53.ResolverFirewallDomainList(
        f"{name}-{verb}", name=f"{name}-{verb}", domains=list(domains), opts=opts)
    action = verb.upper()
    return aws.route53.ResolverFirewallRule(
        f"{name}-{verb}", name=f"{name}-{verb}", firewall_rule_group_id=group.id,
        firewall_domain_list_id=domain_list.id, action=action, priority=priority,
        block_response="NXDOMAIN" if action == "BLOCK" else None, firewall_domain_redirection_action=INSPECT_CHAIN,
        opts=opts)
