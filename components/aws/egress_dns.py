"""The network layer on AWS: Route 53 Resolver DNS Firewall on the cluster's VPC.

Every pod and node resolves through the VPC resolver (coredns forwards to it), so a name the allowlist does not
hold answers NXDOMAIN, in every namespace and on every node, whatever the pod layer says. Not AWS Network Firewall: it would add per-zone
endpoints, route changes and hourly cost for the same name-based verdict. It becomes the next step if
the threat model includes hard-coded IPs or DNS over HTTPS, which bypass any resolver (SNI inspection).

An allowlist, first match wins: BLOCK every denied provider's name (NXDOMAIN), ALLOW the fence's allowed hosts
(the verdicts' plus the declared platform and node hosts), BLOCK everything else (`*`, the catch-all). The denied
names come first so a denied name under an allowed wildcard stays blocked.

Redirection chains: the ALLOW rule trusts the chain of a name it allows (TRUST_REDIRECTION_DOMAIN) — api.openai.com
or an S3 name answer with CNAMEs into CDN and AWS names no allowlist can know, and inspecting them would send them
to the catch-all. The BLOCK rules inspect every link, so an allowed name can't alias into a denied one.

Domain syntax is the plan's: exact names as they are, a leading `*.` for any name below (never the apex),
no trailing dots; `*` alone is every name. A list exists only with domains in it: a region that denies no
provider has no denied list or rule.

Caveat: mutation protection refuses the disassociation a `pulumi destroy` makes; a teardown first needs
an update with it DISABLED.
"""

from __future__ import annotations

from typing import Sequence

import pulumi
import pulumi_aws as aws

# First match wins; gaps leave room for an operator's own rules between them. None is a priority the blocklist
# used (allow 100, block 200): an in-place update of a group's rules must never meet an occupied priority.
DENIED_PRIORITY, ALLOW_PRIORITY, CATCH_ALL_PRIORITY = 150, 250, 350
CATCH_ALL = "*"
# Between the slots Firewall Manager uses for organization-wide rule groups (first and last).
ASSOCIATION_PRIORITY = 1000
INSPECT_CHAIN, TRUST_CHAIN = "INSPECT_REDIRECTION_DOMAIN", "TRUST_REDIRECTION_DOMAIN"


def dns_firewall(name: str, allowed: Sequence[str], denied: Sequence[str], vpc_id: pulumi.Input[str],
                 protected: bool, opts: pulumi.ResourceOptions) -> None:
    """`protected`: the association refuses to be changed or removed (mutation protection) — lifted in a drill's
    release phase, or its teardown could not disassociate the group and delete the VPC."""
    group = aws.route53.ResolverFirewallRuleGroup(f"{name}-egress", name=f"{name}-egress", opts=opts)
    denied_rule = _rule(name, group, "block", "BLOCK", denied, DENIED_PRIORITY, INSPECT_CHAIN, opts)
    allow_rule = _rule(name, group, "allow", "ALLOW", allowed, ALLOW_PRIORITY, TRUST_CHAIN, opts)
    # The catch-all only once the allowlist holds the nodes' hosts: never a moment that cuts the nodes off.
    after_allows = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
        depends_on=[r for r in (denied_rule, allow_rule) if r]))
    rules = [denied_rule, allow_rule,
             _rule(name, group, "catch-all", "BLOCK", [CATCH_ALL], CATCH_ALL_PRIORITY, INSPECT_CHAIN, after_allows)]
    aws.route53.ResolverFirewallRuleGroupAssociation(
        f"{name}-egress", name=f"{name}-egress", firewall_rule_group_id=group.id, vpc_id=vpc_id,
        priority=ASSOCIATION_PRIORITY, mutation_protection="ENABLED" if protected else "DISABLED",
        # Associated once its rules are in: never a window where the VPC is filtered by a partial group (a
        # catch-all without its allows would cut the nodes off).
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[r for r in rules if r])))
    # Fail closed: a query the firewall can't evaluate gets SERVFAIL, not an answer.
    aws.route53.ResolverFirewallConfig(f"{name}-egress", resource_id=vpc_id, firewall_fail_open="DISABLED",
                                       opts=opts)


def _rule(name: str, group: aws.route53.ResolverFirewallRuleGroup, role: str, action: str, domains: Sequence[str],
          priority: int, chain: str, opts: pulumi.ResourceOptions) -> aws.route53.ResolverFirewallRule | None:
    if not domains:
        return None
    domain_list = aws.route53.ResolverFirewallDomainList(
        f"{name}-{role}", name=f"{name}-{role}", domains=list(domains), opts=opts)
    return aws.route53.ResolverFirewallRule(
        f"{name}-{role}", name=f"{name}-{role}", firewall_rule_group_id=group.id,
        firewall_domain_list_id=domain_list.id, action=action, priority=priority,
        block_response="NXDOMAIN" if action == "BLOCK" else None, firewall_domain_redirection_action=chain,
        opts=opts)
