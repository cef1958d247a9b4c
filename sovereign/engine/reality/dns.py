"""What Route 53 enforces on records, zones and the provider that writes them."""

from __future__ import annotations

from .engine import Graph, rule

PROVIDER = "pulumi:providers:aws"
RECORD = "aws:route53/record:Record"
ZONE = "aws:route53/zone:Zone"


@rule("route53-provider-pinned-to-the-account",
      "Pulumi AWS provider configuration, allowedAccountIds: refuses to run with credentials of any other "
      "account; https://www.pulumi.com/registry/packages/aws/installation-configuration/")
def dns_provider_pinned(graph: Graph, _decisions):
    """The regional AWS provider is pinned to the stack's account; the one writing DNS must be too, or
    wrong credentials change another account's zones."""
    pinned = {str(p.inputs.get("allowedAccountIds")) for p in graph.of_type(PROVIDER) if p.inputs.get("allowedAccountIds")}
    if not pinned:
        return
    writers = {r.provider for r in graph.of_type(RECORD, ZONE)}
    for provider in graph.of_type(PROVIDER):
        if provider.urn in writers and not provider.inputs.get("allowedAccountIds"):
            yield (provider.urn, "writes Route 53 records but is not pinned to the stack's account",
                   "set allowedAccountIds as on the region's AWS provider")


def _zone_of(graph: Graph, record) -> tuple[str, str] | None:
    """(zone URN, zone name) of a record written into a zone this graph creates."""
    zone = graph.linked(record, "zoneId", ZONE)
    return (zone.urn, zone.inputs.get("name", "").rstrip(".")) if zone else None


@rule("route53-no-cname-at-the-zone-apex",
      "Amazon Route 53 Developer Guide, choosing between alias and non-alias records: a CNAME record cannot "
      "be created at the zone apex; https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/"
      "resource-record-sets-choosing-alias-non-alias.html")
def no_cname_at_apex(graph: Graph, _decisions):
    """Route 53 answers InvalidChangeBatch for a CNAME named like its zone."""
    for record in graph.of_type(RECORD):
        zone = _zone_of(graph, record)
        if zone and record.inputs.get("type") == "CNAME" and record.inputs.get("name", "").rstrip(".") == zone[1]:
            yield record.urn, f"a CNAME at the apex of zone {zone[1]}", "use an alias A record to the load balancer"


@rule("route53-one-type-per-name",
      "RFC 1034 section 3.6.2 (a CNAME cannot coexist with other data); Route 53 refuses a CNAME beside an A "
      "record of the same name; https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/"
      "resource-record-sets-values-failover.html")
def one_type_per_name(graph: Graph, _decisions):
    """A failover pair is one record set name with one type: an A beside a CNAME is refused."""
    names: dict[tuple[str, str], set[str]] = {}
    records: dict[tuple[str, str], list] = {}
    for record in graph.of_type(RECORD):
        zone = _zone_of(graph, record)
        if zone is None:
            continue
        key = (zone[0], record.inputs.get("name", "").rstrip("."))
        names.setdefault(key, set()).add(record.inputs.get("type", ""))
        records.setdefault(key, []).append(record)
    for key, types in names.items():
        if "CNAME" in types and len(types) > 1:
            yield (records[key][0].urn, f"{key[1]} has {', '.join(sorted(types))} records",
                   "give every record of the name one type (alias A records to load balancers)")


@rule("route53-subdomain-zone-delegated",
      "Amazon Route 53 Developer Guide, routing traffic for subdomains: the parent zone needs an NS record "
      "naming the subdomain zone's name servers; https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/"
      "dns-routing-traffic-for-subdomains.html")
def subdomain_delegated(graph: Graph, _decisions):
    """A zone created for a name that records in another zone point at is unreachable until delegated."""
    for zone in graph.of_type(ZONE):
        name = zone.inputs.get("name", "").rstrip(".")
        pointing = [r for r in graph.of_type(RECORD) if _zone_of(graph, r) is None
                    and name in [str(v).rstrip(".") for v in r.inputs.get("records") or []]]
        delegated = any(r.inputs.get("type") == "NS" and r.inputs.get("name", "").rstrip(".") == name
                        and _zone_of(graph, r) is None for r in graph.of_type(RECORD))
        if pointing and not delegated:
            yield (zone.urn, f"{len(pointing)} record(s) of the parent zone point at {name}, which nothing "
                   "delegates", "add an NS record for the name in the parent zone with the zone's name servers")


FIREWALL_RULE = "aws:route53/resolverFirewallRule:ResolverFirewallRule"
DOMAIN_LIST = "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList"


@rule("dns-firewall-allowlist-trusts-its-redirections",
      "Amazon Route 53 Developer Guide, rule settings in DNS Firewall, domain redirection setting: a rule that "
      "inspects the whole redirection chain (the default) needs every later domain of the chain in its list, "
      "else the chain's CNAME targets meet the group's other rules; https://docs.aws.amazon.com/Route53/latest/"
      "DeveloperGuide/resolver-dns-firewall-rule-settings.html")
def allowlist_trusts_redirections(graph: Graph, _decisions):
    """Behind a catch-all BLOCK (`*`), an ALLOW rule that inspects redirections blocks its own names: their CNAMEs
    into CDN and AWS names (api.openai.com, every S3 name) reach the catch-all, and the allowed host never resolves."""
    rules = list(graph.of_type(FIREWALL_RULE))
    catch_all = [r for r in rules if r.inputs.get("action") == "BLOCK"
                 and "*" in ((graph.linked(r, "firewallDomainListId", DOMAIN_LIST) or r).inputs.get("domains") or [])]
    for allow in (r for r in rules if r.inputs.get("action") == "ALLOW"):
        behind = [b for b in catch_all if _group(graph, b) == _group(graph, allow)
                  and b.inputs.get("priority", 0) > allow.inputs.get("priority", 0)]
        if behind and allow.inputs.get("firewallDomainRedirectionAction") != "TRUST_REDIRECTION_DOMAIN":
            yield (allow.urn, "inspects its names' redirection chains in front of a catch-all BLOCK",
                   "set firewallDomainRedirectionAction TRUST_REDIRECTION_DOMAIN on the ALLOW rule")


def _group(graph: Graph, firewall_rule) -> str:
    group = graph.linked(firewall_rule, "firewallRuleGroupId", "aws:route53/resolverFirewallRuleGroup:ResolverFirewallRuleGroup")
    return group.urn if group else str(firewall_rule.inputs.get("firewallRuleGroupId"))
