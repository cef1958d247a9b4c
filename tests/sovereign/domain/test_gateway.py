"""The gateway configuration as decided (sovereign/domain/gateway.py), from inline stack configs and policies:
which models get a route and to which host, which fall back to open weights by alias, which keys the pods get,
and what the stack is told to fix. (The registered gateway, and LiteLLM loading and serving it, are tested in
tests/components/k8s/test_gateway.py.)"""

from __future__ import annotations

import pytest
import yaml

from sovereign.domain.errors import InvalidInput
from sovereign.domain.gateway import MASTER_KEY_ENV, ROUTER_SETTINGS, serving_url
from tests.support.domain import LLAMA, decide, policy_of, region_spec

MISTRAL = "mistral-7b-instruct-v0.3"
MODELS = [{"id": LLAMA}, {"id": MISTRAL}]
ALLOW_ALL_BUT_DEEPSEEK = """
rules:
  - {id: allow-all, effect: allow, providers: "*", countries: ["*"], reason: r}
  - {id: deny-deepseek, effect: deny, providers: [deepseek], countries: ["*"], reason: r}
residency:
  - {id: openai-eu, provider: openai, groups: [eea], hosts: [eu.api.openai.com], reason: r}
"""
APIS = [{"provider": "openai", "models": [{"name": "gpt-4.1", "fallback": LLAMA}]},
        {"provider": "anthropic", "models": [{"name": "claude-sonnet-4-5", "fallback": MISTRAL}]},
        {"provider": "deepseek", "models": [{"name": "deepseek-chat", "fallback": LLAMA}]}]


def keys(*entries: str) -> dict:
    return {e: {"secure": f"v1:{e}-ciphertext"} for e in entries}


def config(**stack):
    decided = decide(region_spec(models=MODELS, managedApis=APIS, **stack), policy_of(ALLOW_ALL_BUT_DEEPSEEK))
    return decided.cluster("aws").gateway


def test_every_served_model_is_a_route_to_its_in_cluster_server():
    gateway = config()
    open_weight = [r for r in gateway.routes if r.open_weight]
    assert [r.model_name for r in open_weight] == sorted([LLAMA, MISTRAL])
    for route in open_weight:
        assert route.params == {"model": f"hosted_vllm/{route.model_name}", "api_base": serving_url(route.model_name),
                                "api_key": "os.environ/SERVING_API_KEY"}  # the model servers' key (vLLM --api-key)
    assert (gateway.cluster, gateway.cloud) == ("test-aws", "aws")


def test_a_keyed_allowed_provider_is_routed_to_the_verdicts_host_and_falls_back_to_its_open_weight_model():
    gateway = config(apiKeys=keys("gateway", "openai"))
    [gpt] = [r for r in gateway.routes if r.provider == "openai"]
    assert gpt.model_name == "gpt-4.1" and gpt.host == "eu.api.openai.com"
    assert gpt.params["model"] == "openai/gpt-4.1" and gpt.params["api_key"] == "os.environ/API_KEY_OPENAI"
    assert gateway.fallbacks == {"gpt-4.1": (LLAMA,)}
    assert gateway.key_env == {"openai": "API_KEY_OPENAI"}
    assert gateway.secret_entries == {MASTER_KEY_ENV: "gateway", "API_KEY_OPENAI": "openai"}


def test_an_unkeyed_allowed_provider_answers_from_open_weights_and_says_which_key_to_set():
    gateway = config(apiKeys=keys("gateway", "openai"))
    assert gateway.aliases == {"claude-sonnet-4-5": MISTRAL, "deepseek-chat": LLAMA}
    [warning] = gateway.warnings
    assert "anthropic is allowed but has no key" in warning and "'sovereign:apiKeys.anthropic'" in warning


def test_a_denied_provider_appears_nowhere_even_with_a_key():
    gateway = config(apiKeys=keys("gateway", "openai", "deepseek"))
    assert not [r for r in gateway.routes if r.provider == "deepseek"]
    assert gateway.aliases["deepseek-chat"] == LLAMA and "deepseek" not in gateway.key_env
    text = gateway.render()
    assert "deepseek.com" not in text and "API_KEY_DEEPSEEK" not in text
    assert not any("deepseek" in w for w in gateway.warnings)


def test_without_the_gateway_key_the_gateway_is_unauthenticated_and_says_so():
    gateway = config()
    assert not gateway.authenticated and MASTER_KEY_ENV not in gateway.secret_entries
    assert any("sovereign:apiKeys.gateway" in w for w in gateway.warnings)
    assert [r for r in gateway.routes if not r.open_weight] == []  # no key, no managed route


def test_the_rendered_file_is_the_document_litellm_loads():
    gateway = config(apiKeys=keys("gateway", "openai", "anthropic"))
    doc = yaml.safe_load(gateway.render())
    assert doc == gateway.document()
    assert [r["model_name"] for r in doc["model_list"]] == sorted([LLAMA, MISTRAL]) + ["claude-sonnet-4-5", "gpt-4.1"]
    assert {k: doc["router_settings"][k] for k in ROUTER_SETTINGS} == ROUTER_SETTINGS
    assert doc["router_settings"]["fallbacks"] == [{"claude-sonnet-4-5": [MISTRAL]}, {"gpt-4.1": [LLAMA]}]
    assert doc["general_settings"] == {"master_key": f"os.environ/{MASTER_KEY_ENV}"}


def test_a_managed_model_named_like_an_open_weight_model_is_refused():
    clash = [{"provider": "openai", "models": [{"name": LLAMA, "fallback": MISTRAL}]}]
    with pytest.raises(InvalidInput, match=r"managedApis\[0\]\.models\[0\]\.name: .* also the name of an open-weight"):
        decide(region_spec(models=MODELS, managedApis=clash), policy_of(ALLOW_ALL_BUT_DEEPSEEK))


def test_a_residency_parameter_goes_only_to_the_models_that_take_it_and_the_rest_is_said():
    policy = policy_of(ALLOW_ALL_BUT_DEEPSEEK + "  - {id: anthropic-us-geo, provider: anthropic, countries: [US], "
                                                "params: {inference_geo: us}, reason: r}\n")
    apis = [{"provider": "anthropic", "models": [{"name": "claude-sonnet-4-5", "fallback": MISTRAL},
                                                 {"name": "claude-opus-4-6", "fallback": MISTRAL}]}]
    spec = region_spec(clouds={"aws": {"region": "us-east-1"}}, models=MODELS, managedApis=apis,
                       apiKeys=keys("gateway", "anthropic"))
    gateway = decide(spec, policy).cluster("aws").gateway
    params = {r.model_name: r.params for r in gateway.routes if r.provider == "anthropic"}
    assert params["claude-opus-4-6"]["inference_geo"] == "us" and "inference_geo" not in params["claude-sonnet-4-5"]
    [warning] = [w for w in gateway.warnings if "inference_geo" in w]
    assert "claude-sonnet-4-5" in warning and "claude-opus-4-6" not in warning and "anthropic-us-geo" in warning
