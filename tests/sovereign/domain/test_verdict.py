"""Verdicts of the real policy for the real stacks, and how hosts are chosen and blocked."""

from __future__ import annotations

import dataclasses

from sovereign.domain.spec import Jurisdiction
from sovereign.domain.verdict import evaluate, evaluate_region


def by_provider(plan):
    return {v.provider: v for v in plan.verdicts}


def test_every_stack_gets_a_verdict_for_every_catalog_provider(plans, catalog):
    for plan in plans.values():
        assert [v.provider for v in plan.verdicts] == sorted(catalog.providers)
        for v in plan.verdicts:
            assert v.decided_by, f"{plan.stack}/{v.provider} has no deciding entry"
            assert bool(v.hosts) == v.reachable and bool(v.blocked_hosts) == (not v.allowed)


def test_sovereign_only_region_reaches_nothing_yet_requested_apis_are_not_errors(plans):
    verdicts = by_provider(plans["cn-north"])
    assert not any(v.reachable for v in verdicts.values())
    requested = {v.provider for v in verdicts.values() if v.requested}
    assert requested == {"openai", "deepseek"}
    assert verdicts["deepseek"].rule_ids == ("deny-of-concern",)
    assert verdicts["openai"].rule_ids == ("availability:openai",)  # the provider's own list comes first
    assert "api.deepseek.com" in verdicts["deepseek"].blocked_hosts


def test_all_allowed_region_reaches_every_requested_api_through_residency_hosts(plans):
    verdicts = by_provider(plans["us-east"])
    requested = [v for v in verdicts.values() if v.requested]
    assert len(requested) == 4 and all(v.reachable for v in requested)
    assert verdicts["openai"].hosts == ("us.api.openai.com",)
    assert verdicts["anthropic"].request_params == {"inference_geo": "us"}
    assert verdicts["google_vertex_ai"].hosts == ("us-east4-aiplatform.googleapis.com",)
    assert verdicts["aws_bedrock"].hosts == ("bedrock-runtime.us-east-1.amazonaws.com",)


def test_partial_region_uses_eu_residency_and_denies_deepseek(plans):
    verdicts = by_provider(plans["eu-central"])
    assert verdicts["openai"].hosts == ("eu.api.openai.com",) and verdicts["openai"].residency == "openai-eu"
    assert verdicts["anthropic"].hosts == ("api.anthropic.com",)
    assert not verdicts["deepseek"].allowed and verdicts["deepseek"].rule_ids == ("deny-deepseek-in-allied",)


def test_ban_decides_over_rules_and_each_country_is_cited(plans):
    deepseek = by_provider(plans["it-south"])["deepseek"]
    # Spain denies through the rule, Italy through the ban that beats any rule there.
    assert {(d.rule, d.kind, d.countries) for d in deepseek.decided_by} == {
        ("deny-deepseek-in-allied", "rule", ("ES",)), ("ban-deepseek-italy", "ban", ("IT",))}
    assert by_provider(plans["it-south"])["openai"].hosts == ("eu.api.openai.com",)


def test_default_deny_is_reported_as_such(plans):
    verdicts = by_provider(plans["me-central"])
    assert verdicts["openai"].rule_ids == ("default",) and not verdicts["openai"].allowed
    assert verdicts["google_vertex_ai"].hosts == ("me-central2-aiplatform.googleapis.com",)


def test_denied_pattern_hosts_are_blocked_everywhere_they_could_be(plans, catalog):
    verdicts = by_provider(plans["cn-north"])
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


def test_multi_country_jurisdiction_needs_every_country_to_allow(plans, policy, catalog):
    spec = plans["eu-central"].spec
    both = dataclasses.replace(spec, jurisdiction=Jurisdiction(("CN", "DE"), False, "data mirrored to CN"))
    verdict = evaluate(both, policy, catalog, "anthropic")
    assert not verdict.allowed
    assert [d.countries for d in verdict.decided_by] == [("CN",)]  # only the denying country is cited
    allowed = evaluate(dataclasses.replace(spec, jurisdiction=Jurisdiction(("DE", "FR"), False, "x")),
                       policy, catalog, "openai")
    assert allowed.allowed and allowed.hosts == ("eu.api.openai.com",)
    assert [d.countries for d in allowed.decided_by] == [("DE", "FR")]


def test_residency_differing_across_countries_falls_back_to_default_hosts(plans, policy, catalog):
    spec = plans["eu-central"].spec
    mixed = dataclasses.replace(spec, jurisdiction=Jurisdiction(("DE", "JP"), False, "x"))
    verdict = evaluate(mixed, policy, catalog, "openai")
    assert verdict.allowed and verdict.residency is None and verdict.hosts == ("api.openai.com",)


def test_verdicts_are_a_pure_function_of_spec_and_policy(plans, policy, catalog):
    for plan in plans.values():
        assert evaluate_region(plan.spec, policy, catalog) == plan.verdicts
