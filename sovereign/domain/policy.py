"""The sovereignty policy: load, validate and evaluate `policy/sovereignty.yaml`.

Pure Python. Evaluation per country of a region's jurisdiction, first step that applies decides:

1. **bans** — any ban covering (provider, country) denies; a ban beats everything.
2. **availability** — with `respectProviderLists`, a provider that publishes supported countries and
   does not list the country is denied.
3. **rules** — only the most specific matching rules count: naming the country (2) beats naming a
   group that holds it (1) beats `"*"` (0); at equal place specificity, naming the provider beats
   `providers: "*"`. Opposite effects at the same specificity are a contradiction, rejected at load.
4. **default** — deny.

A region processing data in several countries is allowed a provider only if every country allows it.
Residency preferences pick which of an allowed provider's hosts (and request parameters) a region uses,
with the same specificity order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping


from ..yamlio import YamlError, read_yaml

from ..catalog import Catalog
from .errors import InputError, InvalidInput
from .reader import Reader, get

ANY = "*"
EFFECTS = ("allow", "deny")


@dataclass(frozen=True)
class Scope:
    """Where an entry applies: listed countries, countries of listed groups, or everywhere."""
    countries: frozenset[str]
    group_codes: frozenset[str]
    everywhere: bool

    def specificity(self, country: str) -> int | None:
        if country in self.countries:
            return 2
        if country in self.group_codes:
            return 1
        return 0 if self.everywhere else None


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str                    # "rule" | "ban"
    effect: str                  # "allow" | "deny"
    providers: frozenset[str] | None  # None = every provider
    scope: Scope
    reason: str
    since: str | None = None     # bans only

    def specificity(self, provider: str, country: str) -> tuple[int, int] | None:
        if self.providers is not None and provider not in self.providers:
            return None
        place = self.scope.specificity(country)
        return None if place is None else (place, 0 if self.providers is None else 1)


@dataclass(frozen=True)
class Residency:
    id: str
    provider: str
    scope: Scope
    hosts: tuple[str, ...]       # exact hosts or catalog patterns of the provider
    params: Mapping[str, str]
    reason: str


@dataclass(frozen=True)
class ServingRule:
    """Clients in `clients` may only be served by regions whose every jurisdiction country is in `regions`."""
    id: str
    clients: Scope
    regions: Scope
    reason: str


@dataclass(frozen=True)
class Policy:
    file: str
    respect_provider_lists: bool
    rules: tuple[Rule, ...]
    bans: tuple[Rule, ...]
    residency: tuple[Residency, ...]
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    serving: tuple[ServingRule, ...] = ()


@dataclass(frozen=True)
class Decision:
    rule: str                    # rule or ban id, "availability:<provider>" or "default"
    kind: str                    # "ban" | "availability" | "rule" | "default"
    effect: str
    reason: str
    countries: tuple[str, ...]   # the jurisdiction's countries this decision was taken for


DEFAULT_POLICY_FILE = "policy/sovereignty.yaml"   # relative to the project root


def load_policy(path: Path | str, catalog: Catalog, display: str | None = None) -> Policy:
    """Parse and validate a policy file; raises InvalidInput listing every problem.

    The contradiction check walks every provider × country, so callers that plan many stacks parse
    once and pass the Policy on (the engine hands it to every program it runs).
    """
    path = Path(path)
    file = display or str(path)
    if not path.is_file():
        raise InvalidInput([InputError(file, "(file)", "not found", "create it or pass --policy PATH")])
    try:
        raw = read_yaml(path)
    except YamlError as exc:
        raise InvalidInput([InputError(file, exc.where, exc.problem, exc.fix)]) from None
    return parse_policy(raw, file, catalog)


def parse_policy(raw: Any, file: str, catalog: Catalog) -> Policy:
    r = Reader(file)
    top = r.mapping(raw, "", required=("version", "rules"),
                    optional=("groups", "availability", "bans", "residency", "serving")) or {}
    if "version" in top and top["version"] != 1:
        r.error("version", f"unsupported version {top['version']!r}", "set `version: 1`")
    groups = _groups(r, get(top, "groups", {}), catalog)
    availability = r.mapping(get(top, "availability", {}), "availability", optional=("respectProviderLists",))
    respect = get(availability, "respectProviderLists", True)
    if not isinstance(respect, bool):
        r.error("availability.respectProviderLists", "expected true or false", "write true or false")
    rules = tuple(_rules(r, get(top, "rules", []), "rules", groups, catalog))
    bans = tuple(_rules(r, get(top, "bans", []), "bans", groups, catalog))
    residency = tuple(_residencies(r, get(top, "residency", []), groups, catalog))
    serving = tuple(_serving(r, get(top, "serving", []), groups, catalog))
    _unique_ids(r, rules, bans, residency, serving)
    if not r.errors:
        _contradictions(r, rules, residency, catalog, groups)
    if r.errors:
        raise InvalidInput(r.errors)
    return Policy(file, bool(respect), rules, bans, residency, groups, serving)


def _groups(r: Reader, value: Any, catalog: Catalog) -> dict[str, frozenset[str]]:
    """Catalog groups plus policy-local groups (which may build on catalog groups)."""
    groups = {gid: g.codes for gid, g in catalog.groups.items()}
    local = r.table(value, "groups") or {}
    for name, body in local.items():
        key = f"groups.{name}"
        if name in groups:
            r.error(key, f"'{name}' already names a catalog group", "choose another name")
            continue
        body = r.mapping(body, key, optional=("description", "countries", "groups"))
        if body is None:
            continue
        codes = set(r.string_list(get(body, "countries", []), f"{key}.countries", catalog.known_countries()))
        for gid in r.string_list(get(body, "groups", []), f"{key}.groups", catalog.groups):
            codes |= catalog.groups[gid].codes
        if not codes:
            r.error(key, "covers no country", "list `countries:` and/or `groups:`")
        groups[name] = frozenset(codes)
    return groups


def _scope(r: Reader, body: Mapping[str, Any], key: str, groups: Mapping[str, frozenset[str]],
           catalog: Catalog) -> Scope | None:
    before = len(r.errors)
    countries = get(body, "countries", [])
    everywhere = countries == [ANY]
    listed = () if everywhere else r.string_list(countries, f"{key}.countries", catalog.known_countries())
    names = r.string_list(get(body, "groups", []), f"{key}.groups", groups)
    if not (everywhere or listed or names):
        if len(r.errors) == before:  # a bad country or group was already reported
            r.error(key, "applies nowhere", 'set `countries:` (ISO codes, or ["*"] for everywhere) and/or `groups:`')
        return None
    codes = frozenset().union(*(groups[n] for n in names)) if names else frozenset()
    return Scope(frozenset(listed), codes, everywhere)


def _providers(r: Reader, value: Any, key: str, catalog: Catalog) -> frozenset[str] | None:
    if value == ANY:
        return None
    return frozenset(r.string_list(value, key, catalog.providers))


def _rules(r: Reader, value: Any, section: str, groups, catalog: Catalog) -> Iterable[Rule]:
    is_ban = section == "bans"
    required = ("id", "providers", "reason") + (("since",) if is_ban else ("effect",))
    for i, item in enumerate(r.sequence(value, section) or ()):
        key = f"{section}[{i}]"
        body = r.mapping(item, key, required=required, optional=("countries", "groups"))
        if body is None or not set(required) <= set(body):
            continue
        rid = r.string(body["id"], f"{key}.id")
        effect = "deny" if is_ban else r.string(body["effect"], f"{key}.effect", EFFECTS)
        providers = _providers(r, body["providers"], f"{key}.providers", catalog)
        reason = r.string(body["reason"], f"{key}.reason")
        since = _date(r, body["since"], f"{key}.since") if is_ban else None
        scope = _scope(r, body, key, groups, catalog)
        if rid and effect and reason and scope and (since or not is_ban):
            yield Rule(rid, "ban" if is_ban else "rule", effect, providers, scope, reason, since)


def _date(r: Reader, value: Any, key: str) -> str | None:
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        r.error(key, f"{value!r} is not a date", "write it as YYYY-MM-DD")
        return None


def _residencies(r: Reader, value: Any, groups, catalog: Catalog) -> Iterable[Residency]:
    for i, item in enumerate(r.sequence(value, "residency") or ()):
        key = f"residency[{i}]"
        body = r.mapping(item, key, required=("id", "provider", "reason"),
                         optional=("countries", "groups", "hosts", "params"))
        if body is None or not {"id", "provider", "reason"} <= set(body):
            continue
        rid = r.string(body["id"], f"{key}.id")
        provider_id = r.string(body["provider"], f"{key}.provider", catalog.providers)
        reason = r.string(body["reason"], f"{key}.reason")
        scope = _scope(r, body, key, groups, catalog)
        if not (rid and provider_id and reason and scope):
            continue
        provider = catalog.providers[provider_id]
        hosts = r.string_list(get(body, "hosts", []), f"{key}.hosts", _host_names(provider))
        params = _params(r, get(body, "params", {}), f"{key}.params", provider)
        if "hosts" not in body and "params" not in body:
            r.error(key, "changes nothing", "set `hosts:` and/or `params:`")
            continue
        for j, host in enumerate(hosts):
            _check_coverage(r, f"{key}.hosts[{j}]", host, provider, scope)
        yield Residency(rid, provider_id, scope, hosts, params, reason)


def _serving(r: Reader, value: Any, groups, catalog: Catalog) -> Iterable[ServingRule]:
    for i, item in enumerate(r.sequence(value, "serving") or ()):
        key = f"serving[{i}]"
        body = r.mapping(item, key, required=("id", "clients", "regions", "reason"))
        if body is None or not {"id", "clients", "regions", "reason"} <= set(body):
            continue
        rid, reason = r.string(body["id"], f"{key}.id"), r.string(body["reason"], f"{key}.reason")
        scopes = [_scope(r, r.mapping(body[part], f"{key}.{part}", optional=("countries", "groups")) or {},
                         f"{key}.{part}", groups, catalog) for part in ("clients", "regions")]
        if rid and reason and all(scopes):
            yield ServingRule(rid, scopes[0], scopes[1], reason)


def serving_violations(policy: Policy, serves: Iterable[str], jurisdiction: Iterable[str]) -> list[tuple[str, str]]:
    """(client country, rule id) for every served country whose rule this region does not satisfy."""
    region = set(jurisdiction)
    return [(country, rule.id) for country in serves for rule in policy.serving
            if rule.clients.specificity(country) is not None
            and not all(rule.regions.specificity(c) is not None for c in region)]


def _host_names(provider) -> tuple[str, ...]:
    return tuple(h.host or h.pattern for h in provider.hosts) + tuple(h.host for h in provider.regional_hosts)


def _params(r: Reader, value: Any, key: str, provider) -> dict[str, str]:
    body = r.mapping(value, key, optional=tuple(provider.request_params)) or {}
    return {name: v for name, raw in body.items() if name in provider.request_params
            for v in [r.string(raw, f"{key}.{name}", provider.request_params[name])] if v}


def _check_coverage(r: Reader, key: str, host: str, provider, scope: Scope) -> None:
    """A data-residency host must serve every country the preference sends to it."""
    regional = next((h for h in provider.regional_hosts if h.host == host), None)
    if regional is None:
        return
    outside = sorted((scope.countries | scope.group_codes) - regional.countries)
    if scope.everywhere or outside:
        where = "every country" if scope.everywhere else ", ".join(outside)
        r.error(key, f"{host} serves {regional.area} only, but this preference also covers {where}",
                "narrow `countries:`/`groups:` to the host's area")


def _unique_ids(r: Reader, *sections: Iterable) -> None:
    seen: set[str] = set()
    for entry in (e for section in sections for e in section):
        if entry.id in seen:
            r.error(f"id '{entry.id}'", "used twice", "give every rule, ban and residency entry its own id")
        seen.add(entry.id)


def _contradictions(r: Reader, rules, residency, catalog: Catalog, groups) -> None:
    """Report each set of equally specific entries that disagree, once, with a sample place."""
    clashes: dict[tuple[str, str], str] = {}
    countries = sorted(catalog.known_countries().union(*groups.values()))
    for provider in sorted(catalog.providers):
        for country in countries:
            top = _most_specific(rules, provider, country)
            if len({rule.effect for rule in top}) > 1:
                ids = ", ".join(sorted(rule.id for rule in top))
                clashes.setdefault(("rules", ids), f"{provider} in {country}: equally specific rules "
                                                   "allow and deny")
            prefs = _most_specific_residency(residency, provider, country)
            if len({(p.hosts, tuple(sorted(p.params.items()))) for p in prefs}) > 1:
                ids = ", ".join(sorted(p.id for p in prefs))
                clashes.setdefault(("residency", ids), f"{provider} in {country}: equally specific "
                                                       "preferences choose different hosts or params")
    for (section, ids), where in clashes.items():
        r.error(f"{section} ({ids})", f"contradiction, e.g. for {where}",
                "make one entry more specific (name the country or the provider) or remove one")


def _most_specific(rules: Iterable[Rule], provider: str, country: str) -> list[Rule]:
    scored = [(s, rule) for rule in rules if (s := rule.specificity(provider, country)) is not None]
    best = max((s for s, _ in scored), default=None)
    return [rule for s, rule in scored if s == best]


def _most_specific_residency(prefs: Iterable[Residency], provider: str, country: str) -> list[Residency]:
    scored = [(s, p) for p in prefs if p.provider == provider and (s := p.scope.specificity(country)) is not None]
    best = max((s for s, _ in scored), default=None)
    return [p for s, p in scored if s == best]


def decide(policy: Policy, catalog: Catalog, provider: str, country: str) -> Decision:
    """The decision for one provider in one country, following the documented precedence."""
    bans = sorted((b for b in policy.bans if b.specificity(provider, country) is not None), key=lambda b: b.id)
    if bans:
        ban = bans[0]
        return Decision(ban.id, "ban", "deny", f"{ban.reason} (since {ban.since})", (country,))
    supported = catalog.providers[provider].supported_countries
    if policy.respect_provider_lists and supported is not None and country not in supported:
        return Decision(f"availability:{provider}", "availability", "deny",
                        f"{provider} does not list {country} among the countries it serves", (country,))
    top = _most_specific(policy.rules, provider, country)
    if top:
        rule = sorted(top, key=lambda rule: rule.id)[0]
        return Decision(rule.id, "rule", rule.effect, rule.reason, (country,))
    return Decision("default", "default", "deny", (
        "no rule allows it (the policy default is deny); to allow it, add a rule under `rules:` in the sovereignty "
        f"policy ({DEFAULT_POLICY_FILE} unless --policy names another): "
        f"`- {{id: allow-{provider}-{country.lower()}, effect: allow, providers: [{provider}], "
        f"countries: [{country}], reason: <why>}}`"), (country,))


def residency_for(policy: Policy, provider: str, countries: Iterable[str]) -> Residency | None:
    """The preference that applies to every country of the jurisdiction, or None if they differ."""
    picks: set[str | None] = set()
    for country in countries:
        top = sorted(p.id for p in _most_specific_residency(policy.residency, provider, country))
        picks.add(top[0] if top else None)
    chosen = picks.pop() if len(picks) == 1 else None
    return next((p for p in policy.residency if p.id == chosen), None)
