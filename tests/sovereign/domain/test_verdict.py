"""Verdicts (sovereign/domain/verdict.py): how a region's jurisdiction, its requests and the policy decide each
provider, which hosts an allowed provider is reached through and which a denied one is blocked on — first from
inline stack configs and policies, then for the real stacks under the project's policy (their decisions taken
from the stack files by the domain alone: `decisions`, no program run)."""

from __future__ import annotations

from sovereign.domain.verdict import evaluate, evaluate_region
from tests.support.domain import CATALOG, LLAMA, policy_of, region_spec

ALLOW_ALL = """
rules: [{id: allow-all, effect: allow, providers: "*", countries: ["*"], reason: r}]
"""
RESIDENCY = ALLOW_ALL + """
residency:
  - {id: openai-eu, provider: openai, groups: [eea], hosts: [eu.api.openai.com], reason: r}
  - {id: openai-japan, provider: openai, countries: [JP], hosts: [jp.api.openai.com], reason: r}
  - {id: anthropic-us-geo, provider: anthropic, countries: [US], params: {inference_geo: us}, reason: r}
  - {id: vertex-regional, provider: google_vertex_ai, countries: ["*"], hosts: ["{region}-aiplatform.googleapis.com"],
     reason: r}
"""
OPENAI = {"provider": "openai", "models": [{"name": "gpt-4.1", "fallback": LLAMA}]}
ANTHROPIC = {"provider": "anthropic", "models": [{"name": "claude-sonnet-4-5", "fallback": LLAMA}]}
VERTEX = {"provider": "google_vertex_ai", "models": [{"name": "gemini-2.5-flash", "fallback": LLAMA}]}


def by_provider(decided):
    return {v.provider: v for v in decided.verdicts}


def verdict(provider: str, policy: str, **config):
    return evaluate(region_spec(**config), policy_of(policy), CATALOG, provider)


# -- inline ------------------------------------------------------------------------------------------------------

def test_a_requested_allowed_provider_is_reached_on_its_default_hosts():
    openai = verdict("openai", ALLOW_ALL, managedApis=[OPENAI])
    assert (openai.requested, openai.allowed, openai.reachable) == (True, True, True)
    assert openai.hosts == ("api.openai.com",) and openai.blocked_hosts == () and openai.residency is None
    assert openai.rule_ids == ("allow-all",) and openai.decided_by[0].countries == ("DE",)


def test_an_allowed_provider_nobody_requested_is_reached_nowhere_and_blocked_nowhere():
    openai = verdict("openai", ALLOW_ALL)
    assert (openai.requested, openai.allowed, openai.reachable) == (False, True, False)
    assert openai.hosts == () and openai.blocked_hosts == ()


def test_a_denied_provider_is_blocked_on_every_host_it_answers_on_requested_or_not():
    for apis in ([OPENAI], []):
        openai = verdict("openai", "rules: []", managedApis=apis)
        assert not openai.allowed and openai.rule_ids == ("default",) and openai.hosts == ()
        assert {"api.openai.com", "eu.api.openai.com", "us.api.openai.com", "jp.api.openai.com"} <= \
            set(openai.blocked_hosts)
        assert openai.requested is bool(apis)


def test_residency_chooses_the_host_and_request_parameters():
    assert verdict("openai", RESIDENCY, managedApis=[OPENAI]).hosts == ("eu.api.openai.com",)
    assert verdict("openai", RESIDENCY, managedApis=[OPENAI]).residency == "openai-eu"
    tokyo = {"aws": {"region": "ap-northeast-1"}}
    assert verdict("openai", RESIDENCY, clouds=tokyo, managedApis=[OPENAI]).hosts == ("jp.api.openai.com",)
    virginia = {"aws": {"region": "us-east-1"}}
    claude = verdict("anthropic", RESIDENCY, clouds=virginia, managedApis=[ANTHROPIC])
    assert claude.hosts == ("api.anthropic.com",) and claude.request_params == {"inference_geo": "us"}


def test_a_regional_host_pattern_takes_the_requests_endpoint_region():
    gcp = {"gcp": {"region": "europe-west3", "project": "sovereign-test"}}
    assert verdict("google_vertex_ai", RESIDENCY, clouds=gcp, managedApis=[VERTEX]).hosts == (
        "europe-west3-aiplatform.googleapis.com",)
    elsewhere = {**VERTEX, "endpointRegion": "europe-west4"}
    assert verdict("google_vertex_ai", RESIDENCY, clouds=gcp, managedApis=[elsewhere]).hosts == (
        "europe-west4-aiplatform.googleapis.com",)


def test_multi_country_jurisdiction_needs_every_country_to_allow():
    both = {"countries": ["CN", "DE"], "reason": "data mirrored to CN"}
    claude = verdict("anthropic", RESIDENCY, jurisdiction=both, managedApis=[ANTHROPIC])
    assert not claude.allowed and claude.rule_ids == ("availability:anthropic",)
    assert [d.countries for d in claude.decided_by] == [("CN",)]  # only the denying country is cited
    allowed = verdict("openai", RESIDENCY, jurisdiction={"countries": ["DE", "FR"], "reason": "x"},
                      managedApis=[OPENAI])
    assert allowed.allowed and allowed.hosts == ("eu.api.openai.com",)
    assert [d.countries for d in allowed.decided_by] == [("DE", "FR")]


def test_residency_differing_across_countries_falls_back_to_default_hosts():
    mixed = verdict("openai", RESIDENCY, jurisdiction={"countries": ["DE", "JP"], "reason": "x"}, managedApis=[OPENAI])
    assert mixed.allowed and mixed.residency is None and mixed.hosts == ("api.openai.com",)


def test_a_ban_denies_whatever_the_rules_allow_and_is_cited_first():
    banned = ALLOW_ALL + """
bans: [{id: ban-openai-de, providers: [openai], countries: [DE], reason: export ban, since: 2026-12-01}]
"""
    openai = verdict("openai", banned, managedApis=[OPENAI])
    assert not openai.allowed and openai.rule_ids == ("ban-openai-de",)
    assert "ban-openai-de: export ban" in openai.reason
    assert verdict("anthropic", banned, managedApis=[ANTHROPIC]).reachable


def test_there_is_a_verdict_for_every_catalog_provider_sorted():
    verdicts = evaluate_region(region_spec(managedApis=[OPENAI]), policy_of(ALLOW_ALL), CATALOG)
    assert [v.provider for v in verdicts] == sorted(CATALOG.providers)
    assert [v.provider for v in verdicts if v.requested] == ["openai"]


# -- the real stacks under the project's policy -------------------------------------------------------------------

def test_every_stack_gets_a_verdict_for_every_catalog_provider(decisions, catalog):
    for plan in decisions.values():
        assert [v.provider for v in plan.verdicts] == sorted(catalog.providers)
        for v in plan.verdicts:
            assert v.decided_by, f"{plan.spec.stack}/{v.provider} has no deciding entry"
            assert bool(v.hosts) == v.reachable and bool(v.blocked_hosts) == (not v.allowed)


def test_sovereign_only_region_reaches_nothing_yet_requested_apis_are_not_errors(decisions):
    verdicts = by_provider(decisions["cn-north"])
    assert not any(v.reachable for v in verdicts.values())
    requested = {v.provider for v in verdicts.values() if v.requested}
    assert requested == {"openai", "deepseek"}
    assert verdicts["deepseek"].rule_ids == ("deny-of-concern",)
    assert verdicts["openai"].rule_ids == ("availability:openai",)  # the provider's own list comes first
    assert "api.deepseek.com" in verdicts["deepseek"].blocked_hosts


def test_all_allowed_region_reaches_every_requested_api_through_residency_hosts(decisions):
    verdicts = by_provider(decisions["us-east"])
    requested = [v for v in verdicts.values() if v.requested]
    assert len(requested) == 4 and all(v.reachable for v in requested)
    assert verdicts["openai"].hosts == ("us.api.openai.com",)
    assert verdicts["anthropic"].request_params == {"inference_geo": "us"}
    assert verdicts["google_vertex_ai"].hosts == ("us-east4-aiplatform.googleapis.com",)
    assert verdicts["aws_bedrock"].hosts == ("bedrock-runtime.us-east-1.amazonaws.com",)


def test_partial_region_uses_eu_residency_and_denies_deepseek(decisions):
    verdicts = by_provider(decisions["eu-central"])
    assert verdicts["openai"].hosts == ("eu.api.openai.com",) and verdicts["openai"].residency == "openai-eu"
    assert verdicts["anthropic"].hosts == ("api.anthropic.com",)
    assert not verdicts["deepseek"].allowed and verdicts["deepseek"].rule_ids == ("deny-deepseek-in-allied",)


def test_ban_decides_over_rules_and_each_country_is_cited(decisions):
    deepseek = by_provider(decisions["it-south"])["deepseek"]
    # Spain denies through the rule, Italy through the ban that beats any rule there.
    assert {(d.rule, d.kind, d.countries) for d in deepseek.decided_by} == {
        ("deny-deepseek-in-allied", "rule", ("ES",)), ("ban-deepseek-italy", "ban", ("IT",))}
    assert by_provider(decisions["it-south"])["openai"].hosts == ("eu.api.openai.com",)


def test_default_deny_is_reported_as_such(decisions):
    verdicts = by_provider(decisions["me-central"])
    assert verdicts["openai"].rule_ids == ("default",) and not verdicts["openai"].allowed
    assert verdicts["google_vertex_ai"].hosts == ("me-central2-aiplatform.googleapis.com",)


def test_denied_pattern_hosts_are_blocked_everywhere_they_could_be(decisions, catalog):
    verdicts = by_provider(decisions["cn-north"])
    azure = verdicts["azure_openai"].blocked_hosts
    assert "*.openai.azure.com" in azure
    bedrock = verdicts["aws_bedrock"].blocked_hosts
    # every catalog AWS region, under its own partition's DNS suffix
    assert "bedrock-runtime.cn-north-1.amazonaws.com.cn" in bedrock
    assert "bedrock-runtime.eu-central-1.amazonaws.com" in bedrock
    for name in catalog.region_names("aws"):
        region = catalog.region("aws", name)
        assert f"bedrock-runtime.{name}.{region.dns_suffix}" in bedrock
    vertex = verdicts["google_vertex_ai"].blocked_hosts
    assert "aiplatform.googleapis.com" in vertex and "europe-west3-aiplatform.googleapis.com" in vertex
    openai = verdicts["openai"].blocked_hosts
    assert {"api.openai.com", "eu.api.openai.com", "us.api.openai.com"} <= set(openai)


def test_the_planned_verdicts_are_a_pure_function_of_spec_and_policy(plans, policy, catalog):
    """What the program planned with (each stack run under mocks) is what the domain decides on its own."""
    for plan in plans.values():
        assert evaluate_region(plan.spec, policy, catalog) == plan.verdicts
