"""Region × provider verdicts: the one decision every layer (fences, gateway, policy pack) is built from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..catalog import Catalog
from .hosts import default_host_names, every_host, reachable_hosts
from .policy import Decision, Policy, decide, residency_for
from .spec import RegionSpec


@dataclass(frozen=True)
class Verdict:
    provider: str
    requested: bool
    allowed: bool
    decided_by: tuple[Decision, ...]   # one per country when allowed; the denying ones when denied
    hosts: tuple[str, ...]             # hosts the region reaches: set only when requested and allowed
    blocked_hosts: tuple[str, ...]     # every host of a denied provider, blocked at the network layer
    residency: str | None              # id of the residency preference applied
    request_params: Mapping[str, str]  # e.g. {"inference_geo": "us"}
    auth_hosts: tuple[str, ...] = ()   # token endpoints the gateway reaches with `hosts` (catalog)

    @property
    def reachable(self) -> bool:
        return self.requested and self.allowed

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d.rule for d in self.decided_by))

    @property
    def reason(self) -> str:
        return "; ".join(dict.fromkeys(f"{d.rule}: {d.reason}" for d in self.decided_by))

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider, "requested": self.requested, "allowed": self.allowed,
            "reachable": self.reachable, "rules": list(self.rule_ids),
            "decidedBy": [{"rule": d.rule, "kind": d.kind, "effect": d.effect, "reason": d.reason,
                           "countries": list(d.countries)} for d in self.decided_by],
            "hosts": list(self.hosts), "blockedHosts": list(self.blocked_hosts),
            "residency": self.residency, "requestParams": dict(sorted(self.request_params.items())),
            "authHosts": list(self.auth_hosts),
        }


def evaluate_region(spec: RegionSpec, policy: Policy, catalog: Catalog) -> tuple[Verdict, ...]:
    """A verdict for every catalog provider, requested or not, sorted by provider id."""
    return tuple(evaluate(spec, policy, catalog, provider) for provider in sorted(catalog.providers))


def evaluate(spec: RegionSpec, policy: Policy, catalog: Catalog, provider_id: str) -> Verdict:
    countries = spec.jurisdiction.countries
    decisions = [decide(policy, catalog, provider_id, country) for country in countries]
    denying = [d for d in decisions if d.effect == "deny"]
    allowed = bool(decisions) and not denying
    request = spec.request(provider_id)
    provider = catalog.providers[provider_id]
    decided_by = tuple(_merge(decisions if allowed else denying))
    if not allowed:
        return Verdict(provider_id, request is not None, False, decided_by, (),
                       every_host(provider, catalog), None, {})
    preference = residency_for(policy, provider_id, countries)
    if request is None:
        return Verdict(provider_id, False, True, decided_by, (), (), None, {})
    names = preference.hosts if preference and preference.hosts else default_host_names(provider)
    return Verdict(provider_id, True, True, decided_by, reachable_hosts(names, request, catalog), (),
                   preference.id if preference else None, dict(preference.params) if preference else {},
                   provider.auth_hosts)


_KIND_ORDER = {"ban": 0, "availability": 1, "rule": 2, "default": 3}  # strongest reason first


def _merge(decisions: list[Decision]) -> list[Decision]:
    """One decision per entry, listing every country it was taken for, bans first."""
    merged: dict[str, Decision] = {}
    for d in decisions:
        seen = merged.get(d.rule)
        merged[d.rule] = d if seen is None else Decision(d.rule, d.kind, d.effect, d.reason,
                                                         seen.countries + d.countries)
    return sorted(merged.values(), key=lambda d: (_KIND_ORDER[d.kind], d.rule))
