"""What a fence's network layer does with one name, worked out from the resources the plan registered — the way
the cloud evaluates them, never from the EgressPlan the fence was given.

AWS: Route 53 Resolver DNS Firewall — the rules of the VPC's rule group in priority order, first match wins
     (`*` every name, `*.x` every name below x, else the exact name); no match resolves.
GCP: Cloud DNS, then Cloud NGFW — a response-policy rule answers first (a CNAME into `.invalid.`: blocked);
     else a private zone answers (A record, or `*.` CNAME to one) with its addresses, or the name resolves
     publicly; then the egress rules in priority order, first match wins: `destFqdns` match the name,
     `destIpRanges` the address it resolved to.
Both return "allow" or "block" for a name queried from any pod or node of the network.
"""

from __future__ import annotations

import ipaddress

from tests.support.graph import Graph
from tests.support.tokens import T

PUBLIC = "public"  # a name no private zone answers: resolved on the internet, at an address no private range holds


def name_matches(pattern: str, name: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return name.endswith(pattern[1:]) and name != pattern[2:]
    return pattern == name


def aws_network(fence: Graph, name: str) -> str:
    rules = sorted(fence.all(T.DNS_FIREWALL_RULE), key=lambda r: r.inputs["priority"])
    for rule in rules:
        [domains] = fence.deps(rule, T.DNS_FIREWALL_DOMAIN_LIST)
        if any(name_matches(d, name) for d in domains.inputs["domains"]):
            return "allow" if rule.inputs["action"] == "ALLOW" else "block"
    return "allow"


def gcp_network(fence: Graph, name: str) -> str:
    for rule in fence.all(T.DNS_RESPONSE_POLICY_RULE):
        if name_matches(rule.inputs["dnsName"].removesuffix("."), name):
            return "block"
    addresses = _resolve(fence, name)
    if addresses == []:
        return "block"  # NXDOMAIN: nothing to connect to
    for rule in sorted(fence.all(T.NGFW_RULE), key=lambda r: r.inputs["priority"]):
        match = rule.inputs["match"]
        if rule.inputs["direction"] != "EGRESS" or not {"tcp", "all"} & {
                c["ipProtocol"] for c in match["layer4Configs"] if "443" in c.get("ports", ["443"])}:
            continue
        hit = name in match.get("destFqdns", []) or any(
            addresses != PUBLIC and all(ipaddress.ip_address(a) in ipaddress.ip_network(r) for a in addresses)
            or addresses == PUBLIC and r == "0.0.0.0/0" for r in match.get("destIpRanges", []))
        if hit:
            return "allow" if rule.inputs["action"] == "allow" else "block"
    return "allow"  # no rule: the network's implied egress allow


def _resolve(fence: Graph, name: str) -> list[str] | str:
    """The addresses a private zone of the network answers `name` with ([] = NXDOMAIN in the zone), else PUBLIC."""
    zones = [z for z in fence.all(T.DNS_MANAGED_ZONE) if z.inputs.get("visibility") == "private"]
    zone = next((z for z in zones if name_matches(f"*.{z.inputs['dnsName'][:-1]}", name)
                 or name == z.inputs["dnsName"][:-1]), None)
    if zone is None:
        return PUBLIC
    records = [r for r in fence.all(T.DNS_RECORD_SET) if fence.deps(r, T.DNS_MANAGED_ZONE) == [zone]]
    for _ in range(8):  # follow CNAMEs inside the zone
        exact = [r for r in records if r.inputs["name"] == f"{name}."]
        found = exact or [r for r in records if name_matches(r.inputs["name"][:-1], name)]
        if not found:
            return []
        [record] = found
        if record.inputs["type"] == "A":
            return record.inputs["rrdatas"]
        name = record.inputs["rrdatas"][0].removesuffix(".")
    raise AssertionError(f"CNAME loop at {name}")
