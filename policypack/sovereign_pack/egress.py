"""Egress allow rules never admit a host the stack's jurisdiction denies — at every layer, whoever wrote them.

The denied hosts are the stack's egress plan (see context.py): every hostname of every provider the sovereignty
policy denies for this stack's jurisdiction, the same list the program renders into its BLOCK rules. A rule
that only blocks is never a violation; an allow rule (or allow list) naming, or matching by wildcard, any of
those hosts is — even when a block rule elsewhere would still win, because first-match ordering is one edit away.

pod layer      `kubernetes:cilium.io/v2:CiliumNetworkPolicy` / `CiliumClusterwideNetworkPolicy`
               (`spec[s].egress[].toFQDNs[].matchName|matchPattern`) and GKE's
               `kubernetes:networking.gke.io/v1alpha1:FQDNNetworkPolicy` (`spec.egress[].matches[].name|pattern`).
network layer  Cloud NGFW rules with action allow (or apply_security_profile_group) and `match.destFqdns`, and
               the Route 53 Resolver DNS Firewall: an ALLOW `ResolverFirewallRule` refers to its
               `ResolverFirewallDomainList` by id, which a preview does not know yet for a new list, so that
               check is a stack policy that follows the rule's dependency on the list (its property dependency
               `firewallDomainListId`, else any domain list among its dependencies). An ALLOW rule whose list is
               not a resource of the stack, or whose domains come from a file, cannot be verified: violation.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Optional

from pulumi_policy import PolicyResource, StackValidationArgs

from .base import resource_policy, stack_policy
from .context import Fence, current_fence
from .hosts import admitted
from .props import as_dict, as_list, dig, known, plain

CILIUM_TYPES = ("kubernetes:cilium.io/v2:CiliumNetworkPolicy", "kubernetes:cilium.io/v2:CiliumClusterwideNetworkPolicy")
GKE_FQDN_TYPES = ("kubernetes:networking.gke.io/v1alpha1:FQDNNetworkPolicy",)
NGFW_RULE_TYPES = (
    "gcp:compute/networkFirewallPolicyRule:NetworkFirewallPolicyRule",
    "gcp:compute/regionNetworkFirewallPolicyRule:RegionNetworkFirewallPolicyRule",
    "gcp:compute/firewallPolicyRule:FirewallPolicyRule",
)
NGFW_WITH_RULES_TYPES = (
    "gcp:compute/networkFirewallPolicyWithRules:NetworkFirewallPolicyWithRules",
    "gcp:compute/regionNetworkFirewallPolicyWithRules:RegionNetworkFirewallPolicyWithRules",
    "gcp:compute/firewallPolicyWithRules:FirewallPolicyWithRules",
)
DNS_RULE = "aws:route53/resolverFirewallRule:ResolverFirewallRule"
DNS_LIST = "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList"
_ADMITTING_ACTIONS = ("allow", "apply_security_profile_group")


def violations(fence: Fence, where: str, entries: Iterable[tuple[str, object]]) -> Iterator[str]:
    """One message per allow entry that admits a denied host; one if the fence itself cannot be evaluated."""
    if fence.error:
        yield f"{where}: the sovereignty fence of this stack cannot be checked, so no allow rule can pass — " \
              f"{fence.error}"
        return
    for path, value in entries:
        host = known(value)
        if not isinstance(host, str):
            continue
        hits = admitted(host, fence.denied)
        if hits:
            providers = sorted(p for p, hosts in fence.denied_by_provider.items() if set(hosts) & set(hits))
            yield (f"{where} `{path}` = `{host}` admits {', '.join(hits)} — denied for "
                   f"{fence.describe()} (provider {', '.join(providers)}). Remove the entry, or change "
                   f"the sovereignty policy in a reviewed PR if the verdict itself is wrong.")


# -- pod layer -------------------------------------------------------------------------------------------------

def _cilium_entries(props: dict) -> Iterator[tuple[str, object]]:
    specs = [("spec", props.get("spec"))] + [(f"specs[{i}]", s) for i, s in enumerate(as_list(props.get("specs")))]
    for spec_path, spec in specs:
        for i, rule in enumerate(as_list(dig(spec, "egress"))):
            for j, fqdn in enumerate(as_list(dig(rule, "toFQDNs"))):
                for key in ("matchName", "matchPattern"):
                    if key in as_dict(fqdn):
                        yield f"{spec_path}.egress[{i}].toFQDNs[{j}].{key}", fqdn[key]


def _gke_entries(props: dict) -> Iterator[tuple[str, object]]:
    for i, rule in enumerate(as_list(dig(props, "spec", "egress"))):
        for j, match in enumerate(as_list(dig(rule, "matches"))):
            for key in ("name", "pattern"):
                if key in as_dict(match):
                    yield f"spec.egress[{i}].matches[{j}].{key}", match[key]


def _check_pod_layer(resource_type: str, props: dict, args) -> Iterator[str]:
    entries = _cilium_entries(props) if resource_type in CILIUM_TYPES else _gke_entries(props)
    entries = list(entries)
    if entries:
        yield from violations(current_fence(), f"{resource_type.rsplit(':', 1)[-1]} {args.name}", entries)


pod_fqdn_allow = resource_policy(
    "pod-fqdn-allow-no-denied-host",
    "Pod-layer FQDN allow rules (Cilium toFQDNs, GKE FQDNNetworkPolicy) never admit a host the stack's "
    "jurisdiction denies.",
    CILIUM_TYPES + GKE_FQDN_TYPES, _check_pod_layer)


# -- network layer: Cloud NGFW -----------------------------------------------------------------------------------

def _ngfw_rule_entries(rule: dict, prefix: str) -> Iterator[tuple[str, object]]:
    action = known(rule.get("action"))
    direction = rule.get("direction")
    if not isinstance(action, str) or action.lower() not in _ADMITTING_ACTIONS:
        return
    if isinstance(direction, str) and direction.upper() == "INGRESS":
        return
    for i, fqdn in enumerate(as_list(dig(rule, "match", "destFqdns"))):
        yield f"{prefix}match.destFqdns[{i}]", fqdn


def _check_ngfw(resource_type: str, props: dict, args) -> Iterator[str]:
    if resource_type in NGFW_WITH_RULES_TYPES:
        entries = [e for i, rule in enumerate(as_list(props.get("rules")))
                   for e in _ngfw_rule_entries(as_dict(rule), f"rules[{i}].")]
    else:
        entries = list(_ngfw_rule_entries(props, ""))
    if entries:
        yield from violations(current_fence(), f"firewall rule {args.name}", entries)


ngfw_allow = resource_policy(
    "ngfw-allow-no-denied-host",
    "Cloud NGFW egress allow rules never admit a host the stack's jurisdiction denies.",
    NGFW_RULE_TYPES + NGFW_WITH_RULES_TYPES, _check_ngfw)


# -- network layer: Route 53 Resolver DNS Firewall ---------------------------------------------------------------

def _domain_lists(rule: PolicyResource) -> list[PolicyResource]:
    by_property = [r for r in (rule.property_dependencies or {}).get("firewallDomainListId", []) if r is not None]
    lists = [r for r in by_property if r.resource_type == DNS_LIST]
    if not lists:
        lists = [r for r in rule.dependencies or [] if r is not None and r.resource_type == DNS_LIST]
    return lists


def _check_dns_firewall(args: StackValidationArgs) -> Iterator[tuple[str, Optional[str]]]:
    fence = current_fence()
    for rule in args.resources:
        if rule.resource_type != DNS_RULE:
            continue
        action = known(plain(rule.props).get("action"))
        if not isinstance(action, str) or action.upper() != "ALLOW":
            continue
        lists = _domain_lists(rule)
        if not lists:
            yield (f"ALLOW rule {rule.name}: its firewallDomainListId is not a ResolverFirewallDomainList of this "
                   "stack, so the domains it allows cannot be checked against the jurisdiction's denied hosts; "
                   "manage the list in this stack and pass its id"), rule.urn
            continue
        for domain_list in lists:
            props = plain(domain_list.props)
            if props.get("domainFileUrl"):
                yield (f"ALLOW rule {rule.name}: domain list {domain_list.name} loads its domains from "
                       f"{props['domainFileUrl']}, which a preview cannot read; list the domains inline"), rule.urn
            entries = [(f"domains[{i}]", d) for i, d in enumerate(as_list(props.get("domains")))]
            for message in violations(fence, f"ALLOW rule {rule.name} → domain list {domain_list.name}", entries):
                yield message, rule.urn


dns_firewall_allow = stack_policy(
    "dns-firewall-allow-no-denied-host",
    "Route 53 Resolver DNS Firewall ALLOW rules never allow a domain the stack's jurisdiction denies.",
    _check_dns_firewall)

POLICIES = [pod_fqdn_allow, ngfw_allow, dns_firewall_allow]
