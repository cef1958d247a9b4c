"""What the verdicts decided about egress, read from the plan's verdicts — never from the EgressPlan the fences
were given — so the fence tests compare what each layer registered with the decision itself; the hosts each
cloud's profile declares for its network layer; and what that layer must do with any name."""

from __future__ import annotations

from sovereign.domain.egress import declared_host_reasons, matches
from tests.support.domain import CATALOG


def reachable_hosts(plan) -> set[str]:
    """Hosts the region reaches: every reachable verdict's hosts and the token endpoints its credentials need."""
    return {h for v in plan.verdicts if v.reachable for h in (*v.hosts, *v.auth_hosts)}


def denied_hosts(plan) -> set[str]:
    """Every host (or `*.` pattern) of every denied provider."""
    return {h for v in plan.verdicts if not v.allowed for h in v.blocked_hosts}


def declared_hosts(plan, cloud: str) -> set[str]:
    """The hosts the cloud's profile declares for its network layer (platform and node hosts)."""
    return set(declared_host_reasons(plan.decisions.cluster(cloud).plan.cloud))


def network_expects(plan, cloud: str, name: str) -> str:
    """What the network layer must do with `name`: denied names blocked, then the reachable and declared hosts
    allowed, then everything else blocked."""
    if any(matches(p, name) for p in denied_hosts(plan)):
        return "block"
    allowed = reachable_hosts(plan) | declared_hosts(plan, cloud)
    return "allow" if any(matches(p, name) for p in allowed) else "block"


def probe_names(plan, cloud: str) -> set[str]:
    """Names to try the layer with: every allowed, declared and denied name (a name below each wildcard and its
    apex), every catalog provider's hosts whatever the verdict, and names nobody declared."""
    patterns = reachable_hosts(plan) | declared_hosts(plan, cloud) | denied_hosts(plan)
    patterns |= {h.host for p in CATALOG.providers.values() for h in p.hosts if h.host}
    names = {"example.com", "evil.example.net", "api.openai.com", "generativelanguage.googleapis.com",
             "registry.npmjs.org", "huggingface.co"}
    for p in patterns:
        names |= {f"probe.{p[2:]}", p[2:]} if p.startswith("*.") else {p}
    return names
