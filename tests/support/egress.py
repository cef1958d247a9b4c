"""What the verdicts decided about egress, read from the plan's verdicts — never from the EgressPlan the fences
were given — so the fence tests compare what each layer registered with the decision itself."""

from __future__ import annotations


def reachable_hosts(plan) -> set[str]:
    """Hosts the region reaches: every reachable verdict's hosts and the token endpoints its credentials need."""
    return {h for v in plan.verdicts if v.reachable for h in (*v.hosts, *v.auth_hosts)}


def denied_hosts(plan) -> set[str]:
    """Every host (or `*.` pattern) of every denied provider."""
    return {h for v in plan.verdicts if not v.allowed for h in v.blocked_hosts}
