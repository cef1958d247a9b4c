"""The egress plan (sovereign/domain/egress.py) every fence renders, from inline verdicts and stack configs: what
the gateway may reach, what the network layer blocks, the model servers' platform hosts, and a policy whose
allowed and denied hosts overlap refused before anything is built."""

from __future__ import annotations

import pytest

from sovereign.domain.egress import declared_host_reasons, egress_plan, matches, platform_host_reasons, platform_hosts
from sovereign.domain.errors import InvalidInput
from sovereign.domain.verdict import Verdict, evaluate_region
from tests.support.domain import CATALOG, LLAMA, policy_of, region_spec

ALLOW_ALL_BUT_TWO = """
rules:
  - {id: allow-all, effect: allow, providers: "*", countries: ["*"], reason: r}
  - {id: deny-two, effect: deny, providers: [deepseek, xai], countries: ["*"], reason: r}
"""
TWO_CLOUDS = {"aws": {"region": "eu-central-1"}, "gcp": {"region": "europe-west3", "project": "sovereign-test"}}


def verdict(provider: str, hosts=(), blocked=()) -> Verdict:
    """A requested provider's verdict: allowed with `hosts`, or denied with `blocked`."""
    return Verdict(provider, True, not blocked, (), tuple(hosts), tuple(blocked), None, {})


def test_wildcards_match_every_name_below_never_the_apex():
    assert matches("*.example.com", "api.example.com") and matches("*.example.com", "a.b.example.com")
    assert not matches("*.example.com", "example.com") and not matches("*.example.com", "badexample.com")
    assert matches("api.example.com", "api.example.com") and not matches("api.example.com", "eu.api.example.com")


def test_allowed_is_every_reachable_host_and_denied_every_denied_providers_host():
    spec = region_spec(clouds=TWO_CLOUDS, managedApis=[
        {"provider": "openai", "models": [{"name": "gpt-4.1", "fallback": LLAMA}]},
        {"provider": "deepseek", "models": [{"name": "deepseek-chat", "fallback": LLAMA}]}])
    verdicts = evaluate_region(spec, policy_of(ALLOW_ALL_BUT_TWO), CATALOG)
    plan = egress_plan(verdicts, spec.clouds, "policy.yaml")
    assert plan.allowed == ("api.openai.com",) and plan.allowed_by_provider == {"openai": ("api.openai.com",)}
    # Allowed but not requested (anthropic, …) is in neither list: the pod layer's default deny keeps it closed.
    # Denied is denied whether requested (deepseek) or not (xai).
    assert set(plan.denied_by_provider) == {"deepseek", "xai"}
    assert {"api.deepseek.com", "api.x.ai", "*.api.x.ai"} <= set(plan.denied)
    assert plan.platform == {c.cloud: platform_hosts(c) for c in spec.clouds}


def test_network_allowlist_is_the_allowed_hosts_and_each_clouds_declared_hosts_and_nothing_else():
    spec = region_spec(clouds=TWO_CLOUDS, managedApis=[
        {"provider": "openai", "models": [{"name": "gpt-4.1", "fallback": LLAMA}]}])
    plan = egress_plan(evaluate_region(spec, policy_of(ALLOW_ALL_BUT_TWO), CATALOG), spec.clouds, "policy.yaml")
    for cloud in spec.clouds:
        declared = declared_host_reasons(cloud)
        assert set(plan.network[cloud.cloud]) == {"api.openai.com", *declared}
        assert set(platform_hosts(cloud)) <= set(declared)  # the serving pods' hosts pass the network layer too
        assert all(len(why) > 10 for why in declared.values())
    aws, gcp = (set(plan.network[c]) for c in ("aws", "gcp"))
    # Each cloud its own: no S3 or EKS name on GCP, no Google API on AWS.
    assert not [h for h in gcp if "amazonaws" in h] and not [h for h in aws if "google" in h]
    assert "*.eu-central-1.eks.amazonaws.com" in aws and "*.googleapis.com" in gcp


def test_a_denied_host_under_a_declared_wildcard_is_no_clash_because_denied_comes_first():
    """Gemini denied on a GCP cluster, whose nodes reach `*.googleapis.com` through Private Google Access."""
    spec = region_spec(clouds={"gcp": {"region": "europe-west3", "project": "sovereign-test"}})
    policy = policy_of("""
rules:
  - {id: allow-all, effect: allow, providers: "*", countries: ["*"], reason: r}
  - {id: no-gemini, effect: deny, providers: [google_gemini_api], countries: ["*"], reason: r}
""")
    plan = egress_plan(evaluate_region(spec, policy, CATALOG), spec.clouds, "policy.yaml")
    gemini = plan.denied_by_provider["google_gemini_api"]
    assert gemini and all(matches("*.googleapis.com", h) for h in gemini)
    assert not set(gemini) & set(plan.network["gcp"])


def test_model_servers_reach_their_own_clouds_object_store_and_token_endpoints():
    [aws] = region_spec().clouds
    assert platform_hosts(aws) == ("*.s3.eu-central-1.amazonaws.com", "s3.eu-central-1.amazonaws.com",
                                   "sts.eu-central-1.amazonaws.com")
    [china] = region_spec(clouds={"aws": {"region": "cn-north-1"}}).clouds
    assert all(h.endswith(".amazonaws.com.cn") for h in platform_hosts(china))
    [gcp] = region_spec(clouds={"gcp": {"region": "europe-west3", "project": "sovereign-test"}}).clouds
    assert "storage.googleapis.com" in platform_hosts(gcp)
    # Each declared once per cloud, with why the model servers need it (plan --verbose prints it).
    for cloud in (aws, china, gcp):
        reasons = platform_host_reasons(cloud)
        assert tuple(reasons) == platform_hosts(cloud) and all(len(why) > 10 for why in reasons.values())


def test_a_host_both_reached_and_blocked_is_refused_naming_both_providers():
    verdicts = (verdict("a", hosts=["api.x.example"]), verdict("b", blocked=["*.x.example"]))
    with pytest.raises(InvalidInput) as caught:
        egress_plan(verdicts, region_spec().clouds, "policy.yaml")
    [error] = caught.value.errors
    assert error.file == "policy.yaml" and error.key == "verdicts (a vs b)"
    assert "api.x.example is reached for a but is a host of denied b (*.x.example)" in error.problem


def test_a_platform_host_of_a_denied_provider_is_refused_too():
    [aws] = region_spec().clouds
    denied_s3 = verdict("aws_bedrock", blocked=["*.s3.eu-central-1.amazonaws.com"])
    with pytest.raises(InvalidInput, match=r"platform \(aws\) vs aws_bedrock"):
        egress_plan((denied_s3,), (aws,), "policy.yaml")
