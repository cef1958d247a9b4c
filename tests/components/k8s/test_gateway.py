"""The inference gateway as registered, and as LiteLLM itself loads and runs it.

Expectations are computed here from the spec and the verdicts and compared with what the program
registered (the ConfigMap's config file, the Secret, the Deployment…), never with the domain's
GatewayConfig. The real stacks hold no keys (ciphertext cannot be made here), so most checks also run
on a scratch copy of the project where every stack sets `sovereign:apiKeys` for the gateway and every
provider it requests (`{secure: v1:…}`), and on that copy with an export ban added to the policy.

Every config file is loaded by the pinned LiteLLM's own proxy config loader in its own venv (`make
tools`), and requests are sent through the loaded router with loopback traffic only
(tests/support/gateway_probe.py); one config is served by the real `litellm` proxy process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from sovereign.catalog import load_catalog
from sovereign.clouds import profile
from sovereign.domain.elastic import DEMAND_METRIC, demand_labels
from sovereign.domain.gateway import (
    CONFIG_DIR, CONFIG_FILE, GATEWAY_PORT, KEYS_SECRET, LITELLM_VERSION, LIVENESS_PATH, MASTER_KEY_ENV,
    READINESS_PATH, ROUTER_SETTINGS,
)
from sovereign.domain.gateway_workload import SCRAPE_KINDS, SERVING_READY
from sovereign.domain.stackfile import read_stack_config
from sovereign.domain.workloads import (
    GATEWAY_NAMESPACE, GATEWAY_POD_LABELS, SERVING_KEY_ENV, SERVING_KEY_FIELD, SERVING_KEY_SECRET, SERVING_NAMESPACE,
    SERVING_PORT,
)
from sovereign.engine.graph import SECRET_MASK
from sovereign.engine.run import ProgramFailed, _config_value, plan_stack, run_program
from sovereign.engine.snapshot import dumps, snapshot
from tests.support import gateway_probe
from tests.support.cli import run_cli
from tests.support.graph import Graph
from tests.support.groups import LITELLM_PROBE
from tests.support.schemas import schema_errors
from tests.support.stacks import EEA_STACKS, FIXTURES, POLICY_FILE, PROJECT_DIR, STACKS
from tests.support.tokens import CLUSTERS, T

TOOL_VENV = PROJECT_DIR / ".cache" / "tools" / "litellm"
PROBE = Path(gateway_probe.__file__)
CANARY = "mock-secret-for-"           # every secret placeholder the offline engine hands the program
KINDS = {"ServiceAccount", "ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"}
# LiteLLM's provider for each catalog provider, as get_llm_provider() must resolve the route.
LITELLM_PROVIDER = {"openai": "openai", "anthropic": "anthropic", "google_gemini_api": "gemini",
                    "google_vertex_ai": "vertex_ai", "aws_bedrock": "bedrock", "azure_openai": "azure",
                    "mistral": "mistral", "cohere": "cohere_chat", "xai": "xai", "together_ai": "together_ai",
                    "deepseek": "deepseek"}
CREDENTIAL_FIELDS = ("api_key", "vertex_credentials", "aws_access_key_id", "aws_secret_access_key")


def env_value(entry: str) -> str:
    """The value the engine hands the program for `sovereign:apiKeys.<entry>` (see engine/run.py)."""
    return f"mock-secret-for-sovereign:apiKeys.{entry}"


# --- fixtures ----------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def litellm_python() -> Path:
    python = TOOL_VENV / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: run `make tools` (tools/setup-litellm.sh installs LiteLLM "
                    f"{LITELLM_VERSION}, whose own config loader these tests use)", pytrace=False)
    version = subprocess.run([python, "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                             capture_output=True, text=True, timeout=60).stdout.strip()
    if version != LITELLM_VERSION:
        pytest.fail(f"{TOOL_VENV} holds litellm {version or 'nothing'}, the gateway runs {LITELLM_VERSION}: "
                    "run `make tools`", pytrace=False)
    return python


@pytest.fixture(scope="session")
def variants(plans, keyed_plans, banned_plans):
    return {"real": plans, "keyed": keyed_plans, "banned": banned_plans}


@pytest.fixture(scope="session")
def probe(litellm_python, variants, tmp_path_factory):
    """Every distinct gateway config of every variant loaded by LiteLLM, and requests sent through it.

    A stack's clusters share one config and a ban leaves uncovered stacks' alone: a config whose content equals
    one already probed (parsed, so formatting cannot hide a difference) is reported as that one's result."""
    folder = tmp_path_factory.mktemp("gateway-configs")
    configs, first, probed_as = {}, {}, {}
    for variant, plans in variants.items():
        for stack, plan in plans.items():
            for cloud, graph in gateways(plan).items():
                name = f"{variant}/{stack}/{cloud}"
                body = json.dumps(litellm_config(graph), sort_keys=True)
                if body not in first:
                    first[body] = name
                    path = folder / f"{variant}-{stack}-{cloud}.yaml"
                    path.write_text(config_text(graph))
                    configs[name] = str(path)
                probed_as[name] = first[body]
    request = folder / "request.json"
    result = folder / "result.json"
    env = {MASTER_KEY_ENV: env_value("gateway"), SERVING_KEY_ENV: env_value(SERVING_KEY_ENV),
           **{f"API_KEY_{p.upper()}": env_value(p) for p in load_catalog().providers}}
    request.write_text(json.dumps({"configs": configs, "behaviour": list(configs), "keys": list(configs),
                                   "env": env}))
    run = subprocess.run([litellm_python, PROBE, request, result], capture_output=True, text=True, timeout=600,
                         cwd=folder)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    probed = json.loads(result.read_text())
    return {name: probed[probe_name] for name, probe_name in probed_as.items()}


# --- reading the graph -------------------------------------------------------------------------------

def gateways(plan) -> dict[str, Graph]:
    """cloud → the children of that cluster's InferenceGateway component."""
    graph = Graph.of(plan)
    return {c.name.rsplit("-", 1)[-1]: graph.children(c) for c in graph.all(T.GATEWAY)}


def one_of_kind(gateway: Graph, kind: str):
    [resource] = gateway.of_kind(kind)
    return resource


def config_text(gateway: Graph) -> str:
    return one_of_kind(gateway, "ConfigMap").inputs["data"][CONFIG_FILE]


def litellm_config(gateway: Graph) -> dict:
    return yaml.safe_load(config_text(gateway))


def deployment_of(gateway: Graph) -> dict:
    return one_of_kind(gateway, "Deployment").inputs


def container_of(gateway: Graph) -> dict:
    [container] = deployment_of(gateway)["spec"]["template"]["spec"]["containers"]
    return container


def secret_env(gateway: Graph) -> list[str]:
    """Variables the keys Secret holds (its annotation; the values are masked)."""
    secrets = gateway.of_kind("Secret")
    return secrets[0].inputs["metadata"]["annotations"]["sovereign.ai/keys"].split(",") if secrets else []


def documents(gateway: Graph) -> list[dict]:
    """Each child as the manifest the Kubernetes provider applies (a masked Secret's keys stand in)."""
    docs = []
    for r in gateway:
        doc = {k: v for k, v in r.inputs.items()}
        if doc.get("stringData") == SECRET_MASK:
            doc["stringData"] = {env: "masked" for env in secret_env(gateway)}
        docs.append(doc)
    return docs


# Managed APIs a cluster's gateway reaches as its own workload identity, with no key: Vertex on GKE.
AS_ITS_IDENTITY = {"aws": set(), "gcp": {"google_vertex_ai"}}


def expected(plan, cloud: str) -> dict:
    """What the verdicts and the stack's keys say the region's gateway on `cloud` must do."""
    spec = plan.spec
    verdicts = {v.provider: v for v in plan.verdicts}
    routed, fallbacks, aliases = {}, {}, {}
    for request in spec.managed_apis:
        verdict = verdicts[request.provider]
        live = verdict.reachable and (request.provider in spec.api_keys or request.provider in AS_ITS_IDENTITY[cloud])
        for model in request.models:
            if live:
                routed.setdefault(model.name, {})[request.provider] = set(verdict.hosts)
                fallbacks[model.name] = [model.fallback]
            else:
                aliases[model.name] = model.fallback
    return {"open": {m.id for m in spec.models}, "routed": routed, "fallbacks": fallbacks,
            "aliases": {m: f for m, f in aliases.items() if m not in routed},
            "denied": [v for v in plan.verdicts if v.requested and not v.allowed]}


def route_host(params: dict) -> str:
    url = params.get("aws_bedrock_runtime_endpoint") or params["api_base"]
    return url.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]


def provider_of(params: dict) -> str | None:
    prefix = params["model"].split("/", 1)[0]
    return next((p for p, lite in LITELLM_PROVIDER.items() if lite == prefix), None)


VARIANT_STACKS = [(v, s) for v in ("real", "keyed", "banned") for s in STACKS]


# --- the gateway on every cluster --------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_one_gateway_per_cluster_on_that_clusters_provider_and_deleted_with_it(plans, stack):
    plan = plans[stack]
    graphs = gateways(plan)
    assert set(graphs) == {c.cloud for c in plan.spec.clouds}
    [region] = [r for r in plan.resources if r.type == "sovereign:index:Region"]
    clusters = {cloud: next(r.urn for r in plan.resources if r.type == typ) for cloud, typ in CLUSTERS.items()
                if any(r.type == typ for r in plan.resources)}
    for cloud, graph in graphs.items():
        assert graph.parent.name == f"{plan.spec.name}-{cloud}" and graph.parent.parent == region.urn
        # Real stacks set no key: no Secret, and nothing to scrape /metrics with (it answers only with the key).
        assert {r.inputs.get("kind") for r in graph} == KINDS
        for r in graph:
            assert r.provider.endswith(f"$pulumi:providers:kubernetes::{plan.spec.name}-{cloud}"), r.urn
            assert r.options["deletedWith"] == clusters[cloud], r.urn
            assert r.inputs["metadata"]["namespace"] == GATEWAY_NAMESPACE, r.urn


@LITELLM_PROBE
@pytest.mark.parametrize("variant,stack", VARIANT_STACKS)
def test_routes_fallbacks_and_aliases_match_the_verdicts(variants, variant, stack, catalog):
    plan = variants[variant][stack]
    charts = [r for r in plan.resources if r.type == T.HELM_CHART]
    for cloud, graph in gateways(plan).items():
        want = expected(plan, cloud)
        config = litellm_config(graph)
        routes = config["model_list"]
        open_routes = [r for r in routes if r["litellm_params"]["model"].startswith("hosted_vllm/")]
        managed = [r for r in routes if r not in open_routes]
        # One route per model served here, to this cluster's own release Service (never another cluster's).
        assert {r["model_name"] for r in open_routes} == want["open"]
        for route in open_routes:
            [chart] = [c for c in charts if c.inputs["values"]["model"]["name"] == route["model_name"]
                       and c.provider == one_of_kind(graph, "Deployment").provider]
            assert route["litellm_params"] == {
                "model": f"hosted_vllm/{route['model_name']}",
                "api_base": f"http://{chart.inputs['name']}.{chart.inputs['namespace']}.svc:{SERVING_PORT}/v1",
                "api_key": f"os.environ/{SERVING_KEY_ENV}"}
            assert chart.inputs["namespace"] == SERVING_NAMESPACE
        # One route per allowed (and keyed) managed model, to a host the verdict allows for its provider.
        assert {r["model_name"] for r in managed} == set(want["routed"])
        for route in managed:
            params = route["litellm_params"]
            provider = provider_of(params)
            assert provider in want["routed"][route["model_name"]], route
            assert route_host(params) in want["routed"][route["model_name"]][provider], route
            assert params["model"] == f"{LITELLM_PROVIDER[provider]}/{route['model_name']}"
            verdict = next(v for v in plan.verdicts if v.provider == provider)
            # The verdict's request parameters, on the models the catalog says take them.
            takes = catalog.providers[provider].accepts
            assert {k: params.get(k) for k in verdict.request_params} == {
                k: v if takes(k, route["model_name"]) else None for k, v in verdict.request_params.items()}
            # Credentials only as references to the pod's environment, one variable per provider; none where the
            # gateway's own workload identity authenticates it (application default credentials).
            credentials = {k: params[k] for k in CREDENTIAL_FIELDS if k in params}
            if provider in AS_ITS_IDENTITY[cloud]:
                assert credentials == {}, route
            else:
                assert credentials and all(v == f"os.environ/API_KEY_{provider.upper()}" for v in credentials.values())
        settings = config["router_settings"]
        assert {m: t for f in settings["fallbacks"] for m, t in f.items()} == want["fallbacks"]
        assert settings["model_group_alias"] == want["aliases"]
        assert {k: settings[k] for k in ROUTER_SETTINGS} == ROUTER_SETTINGS
        assert config["general_settings"] == {"master_key": f"os.environ/{MASTER_KEY_ENV}"}
        # A denied provider appears nowhere: no route, no host, no key variable (its model names may,
        # as aliases of open weights).
        routed_hosts = {route_host(r["litellm_params"]) for r in managed}
        for verdict in want["denied"]:
            assert not any(provider_of(r["litellm_params"]) == verdict.provider for r in routes)
            assert f"API_KEY_{verdict.provider.upper()}" not in config_text(graph)
            assert f"API_KEY_{verdict.provider.upper()}" not in secret_env(graph)
            for host in verdict.blocked_hosts:
                assert host not in config_text(graph) if not host.startswith("*.") else \
                    not any(h.endswith(host[1:]) for h in routed_hosts)


@pytest.mark.parametrize("stack", STACKS)
def test_the_real_stacks_answer_every_managed_model_with_open_weights_until_keys_are_set(plans, stack):
    """…but for a provider a cluster reaches as its own identity (Vertex on GKE), which needs no key."""
    plan = plans[stack]
    for cloud, graph in gateways(plan).items():
        config = litellm_config(graph)
        own = AS_ITS_IDENTITY[cloud]
        managed = [r for r in config["model_list"] if not r["litellm_params"]["model"].startswith("hosted_vllm/")]
        assert {provider_of(r["litellm_params"]) for r in managed} <= own
        assert set(config["router_settings"]["model_group_alias"]) == \
            {m.name for r in plan.spec.managed_apis for m in r.models if not (
                r.provider in own and next(v for v in plan.verdicts if v.provider == r.provider).reachable)}
        warnings = plan.outputs["gateways"][cloud]["warnings"]
        assert any("sovereign:apiKeys.gateway" in w for w in warnings)
        reachable = [v.provider for v in plan.verdicts if v.reachable and v.provider not in own]
        assert {p for p in reachable if any(f"'sovereign:apiKeys.{p}'" in w for w in warnings)} == set(reachable)
        denied = [v.provider for v in plan.verdicts if v.requested and not v.allowed]
        assert not any(f"apiKeys.{p}'" in w for p in denied for w in warnings), "a denied provider needs no key"


@LITELLM_PROBE
def test_anthropic_in_the_us_carries_inference_geo_and_openai_its_residency_hosts(keyed_plans):
    us = litellm_config(gateways(keyed_plans["us-east"])["aws"])["model_list"]
    opus = next(r for r in us if r["model_name"] == "claude-opus-4-6")["litellm_params"]
    assert opus["inference_geo"] == "us" and opus["model"] == "anthropic/claude-opus-4-6"
    # Anthropic takes inference_geo only for the models the catalog lists; Sonnet 4.5 would answer 400.
    sonnet = next(r for r in us if r["model_name"] == "claude-sonnet-4-5")["litellm_params"]
    assert "inference_geo" not in sonnet and sonnet["model"] == "anthropic/claude-sonnet-4-5"
    assert {route_host(r["litellm_params"]) for r in us if r["model_name"].startswith("gpt-")} == {"us.api.openai.com"}
    eu = litellm_config(gateways(keyed_plans["eu-central"])["gcp"])["model_list"]
    assert route_host(next(r for r in eu if r["model_name"] == "gpt-4.1")["litellm_params"]) == "eu.api.openai.com"
    jp = litellm_config(gateways(keyed_plans["ap-northeast"])["aws"])["model_list"]
    gemini = next(r for r in jp if r["model_name"] == "gemini-2.5-flash")["litellm_params"]
    assert route_host(gemini) == "asia-northeast1-aiplatform.googleapis.com"
    assert gemini["vertex_location"] == "asia-northeast1" and gemini["vertex_project"] == "sovereign-ap-northeast"


# --- LiteLLM's own loader and router -----------------------------------------------------------------

@LITELLM_PROBE
@pytest.mark.parametrize("variant,stack", VARIANT_STACKS)
def test_litellms_own_config_loader_accepts_every_config_as_generated(variants, probe, variant, stack):
    plan = variants[variant][stack]
    for cloud, graph in gateways(plan).items():
        loaded = probe[f"{variant}/{stack}/{cloud}"]["loaded"]
        config = litellm_config(graph)
        # Nothing dropped: the proxy loads with ignore_invalid_deployments=True, which would skip silently.
        assert [(d["model_name"], d["model"], d["api_base"] or d["endpoint"]) for d in loaded["deployments"]] == \
            [(r["model_name"], r["litellm_params"]["model"],
              r["litellm_params"].get("api_base") or r["litellm_params"].get("aws_bedrock_runtime_endpoint"))
             for r in config["model_list"]]
        for deployment, route in zip(loaded["deployments"], config["model_list"]):
            provider = provider_of(route["litellm_params"])
            assert deployment["provider"] == (LITELLM_PROVIDER[provider] if provider else "hosted_vllm")
        want = expected(plan, cloud)
        assert loaded["model_names"] == sorted(want["open"] | set(want["routed"]) | set(want["aliases"]))
        assert {m: t for f in loaded["fallbacks"] or [] for m, t in f.items()} == want["fallbacks"]
        assert loaded["aliases"] == want["aliases"]
        assert loaded["settings"] == ROUTER_SETTINGS
        # A request too long for a model goes to each one the region serves with a longer context, shortest first.
        by_context = sorted(plan.spec.models, key=lambda m: (m.context_length, m.id))
        assert (loaded["context_window_fallbacks"] or []) == [
            {m.id: [o.id for o in by_context if o.context_length > m.context_length]}
            for m in by_context if any(o.context_length > m.context_length for o in by_context)]


@LITELLM_PROBE
@pytest.mark.parametrize("variant,stack", VARIANT_STACKS)
def test_every_request_lands_where_the_verdicts_say(variants, probe, variant, stack):
    """Through LiteLLM's router: open weights answer themselves; an allowed model dials only its verdict's
    host and, that provider being down, is answered by its declared fallback; a denied or unkeyed model
    dials nothing and is answered by its fallback."""
    plan = variants[variant][stack]
    for cloud in gateways(plan):
        _requests_land_where_the_verdicts_say(probe[f"{variant}/{stack}/{cloud}"]["answers"], expected(plan, cloud))


def _requests_land_where_the_verdicts_say(answers: dict, want: dict) -> None:
    assert set(answers) == want["open"] | set(want["routed"]) | set(want["aliases"])
    for model, answer in answers.items():
        assert answer["error"] is None, (model, answer["error"])
        # Every answer comes from a model server, and the gateway presented the model servers' key to it.
        sent = [{k.lower(): v for k, v in h.items()}.get("authorization") for h in answer["headers"]]
        assert sent == [f"Bearer {env_value(SERVING_KEY_ENV)}"], (model, sent)
        if model in want["open"]:
            assert (answer["dialled"], answer["answered_by"]) == ([], [model])
        elif model in want["routed"]:
            hosts = set().union(*want["routed"][model].values())
            assert answer["dialled"] and set(answer["dialled"]) <= hosts, (model, answer["dialled"])
            assert answer["answered_by"] == want["fallbacks"][model]
        else:
            assert (answer["dialled"], answer["answered_by"]) == ([], [want["aliases"][model]])


@LITELLM_PROBE
@pytest.mark.parametrize("stack", STACKS)
def test_each_route_presents_its_own_providers_key_from_the_environment(keyed_plans, probe, stack):
    plan = keyed_plans[stack]
    cloud = plan.spec.clouds[0].cloud
    keys = probe[f"keyed/{stack}/{cloud}"]["keys"]
    want = expected(plan, cloud)
    assert set(keys) == set(want["routed"])
    for model, headers in keys.items():
        [provider] = want["routed"][model]
        if provider == "google_vertex_ai":
            continue   # a service-account JSON, exchanged for a token (stubbed by the probe)
        [sent] = headers
        presented = {k.lower(): v for k, v in sent.items() if k.lower() in ("authorization", "x-api-key", "api-key")}
        assert any(v.endswith(env_value(provider)) for v in presented.values()), (model, presented)


# --- a ban closes the provider in the covered stacks only -------------------------------------------

@LITELLM_PROBE
def test_a_ban_removes_the_providers_routes_in_covered_stacks_only(keyed_plans, banned_plans, probe):
    eea = load_catalog().groups["eea"].codes
    assert {s for s in STACKS if eea & set(keyed_plans[s].spec.jurisdiction.countries)} == set(EEA_STACKS)
    for stack in STACKS:
        before, after = gateways(keyed_plans[stack]), gateways(banned_plans[stack])
        openai = [m.name for r in keyed_plans[stack].spec.managed_apis if r.provider == "openai" for m in r.models]
        for cloud in before:
            if stack not in EEA_STACKS:
                assert config_text(after[cloud]) == config_text(before[cloud])
                assert secret_env(after[cloud]) == secret_env(before[cloud])
                continue
            old, new = litellm_config(before[cloud]), litellm_config(after[cloud])
            assert {r["model_name"] for r in old["model_list"]} >= set(openai) and openai, "was routed before"
            assert not any(r["litellm_params"]["model"].startswith("openai/") for r in new["model_list"])
            assert "API_KEY_OPENAI" not in config_text(after[cloud]) + ",".join(secret_env(after[cloud]))
            assert "API_KEY_OPENAI" not in json.dumps(container_of(after[cloud])["env"])
            assert "openai.com" not in config_text(after[cloud])
            fallback = {m.name: m.fallback for r in keyed_plans[stack].spec.managed_apis for m in r.models}
            assert {m: new["router_settings"]["model_group_alias"][m] for m in openai} == \
                {m: fallback[m] for m in openai}
            # And LiteLLM answers them from open weights without dialling anything.
            answers = probe[f"banned/{stack}/{cloud}"]["answers"]
            for model in openai:
                assert (answers[model]["dialled"], answers[model]["answered_by"]) == ([], [fallback[model]])


# --- secrets -----------------------------------------------------------------------------------------

def test_nested_secret_config_reaches_the_program_as_placeholders():
    config = {"gateway": {"secure": "v1:a"}, "openai": {"secure": "v1:b"}}
    assert json.loads(_config_value("sovereign:apiKeys", config, ("sovereign:apiKeys",))) == {
        "gateway": env_value("gateway"), "openai": env_value("openai")}
    assert _config_value("sovereign:x", {"secure": "v1:c"}, ("sovereign:x",)) == "mock-secret-for-sovereign:x"


def test_secret_keys_are_found_at_any_depth(keyed_project):
    _, secret_keys = read_stack_config(keyed_project, "eu-central")
    assert "sovereign:apiKeys" in secret_keys


@LITELLM_PROBE
@pytest.mark.parametrize("stack", STACKS)
def test_keys_reach_a_kubernetes_secret_and_nothing_else(keyed_plans, stack):
    plan = keyed_plans[stack]
    for cloud, graph in gateways(plan).items():
        want = expected(plan, cloud)
        secret = one_of_kind(graph, "Secret").inputs
        assert secret["stringData"] == SECRET_MASK, "the values must stay Pulumi secrets"
        # Keys of the routed providers, but none for one reached as the gateway's own identity.
        providers = sorted({p for hosts in want["routed"].values() for p in hosts} - AS_ITS_IDENTITY[cloud])
        assert secret_env(graph) == [MASTER_KEY_ENV, *(f"API_KEY_{p.upper()}" for p in providers)]
        refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container_of(graph)["env"] if "valueFrom" in e}
        # The provider keys from the stack's secrets, and the model servers' generated key from its own Secret.
        assert refs == {**{env: {"name": secret["metadata"]["name"], "key": env} for env in secret_env(graph)},
                        SERVING_KEY_ENV: {"name": SERVING_KEY_SECRET, "key": SERVING_KEY_FIELD}}


@LITELLM_PROBE
def test_no_secret_value_in_snapshots_or_rendered_manifests(keyed_plans):
    for stack, plan in keyed_plans.items():
        assert CANARY not in dumps(snapshot(plan)), stack
        for graph in gateways(plan).values():
            assert CANARY not in json.dumps(documents(graph)), stack


def test_no_secret_value_in_the_programs_logs_or_output(keyed_project, caplog, capfd):
    """The program's own run, every log record at DEBUG and everything written to the process's stdout
    and stderr; the secret did reach it (the keys Secret holds a masked value)."""
    caplog.set_level(logging.DEBUG)
    for stack in ("us-east", "eu-central"):
        plan = plan_stack(stack, project=keyed_project)
        assert graph_secret_masked(plan)
    out, err = capfd.readouterr()
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert caplog.records, "nothing was logged: the check would be empty"
    assert CANARY not in out + err + logged


def test_no_secret_value_in_what_sovereign_plan_prints_or_writes(keyed_project, tmp_path, caplog, capfd):
    """The CLI's output, its snapshots, whatever reached the process's stdout and stderr and every log record."""
    caplog.set_level(logging.DEBUG)
    stacks = ("eu-central",)   # both clouds, three provider keys and the gateway's; the rest is the same code
    result = run_cli("plan", "--project", str(keyed_project), "--out", str(tmp_path),
                     *(a for s in stacks for a in ("--stack", s)))
    assert result.returncode == 0, result.stderr
    snapshots = [p.read_text() for p in sorted(tmp_path.glob("*.json"))]
    assert len(snapshots) == len(stacks) and all('"stringData": "[secret]"' in s for s in snapshots)
    out, err = capfd.readouterr()
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert CANARY not in result.stdout + result.stderr + out + err + logged + "".join(snapshots)


def graph_secret_masked(plan) -> bool:
    return all(one_of_kind(g, "Secret").inputs["stringData"] == SECRET_MASK for g in gateways(plan).values())


@pytest.mark.parametrize("stack", STACKS)
def test_a_stack_without_the_gateway_key_fails_closed(plans, stack):
    for graph in gateways(plans[stack]).values():
        refs = [e for e in container_of(graph)["env"] if e["name"] == MASTER_KEY_ENV]
        assert refs and refs[0]["valueFrom"]["secretKeyRef"]["key"] == MASTER_KEY_ENV
        assert not refs[0]["valueFrom"]["secretKeyRef"].get("optional")
        assert deployment_of(graph)["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}


# --- stack-file validation of sovereign:apiKeys ------------------------------------------------------

GATEWAY_FIXTURES = FIXTURES / "gateway"
KEY_CASES = [
    ("api-key-plaintext", "sovereign:apiKeys.openai",
     "pulumi config set --secret --path 'sovereign:apiKeys.openai' <key>"),
    ("api-key-unknown-provider", "sovereign:apiKeys.openia", "did you mean 'openai'"),
    ("api-key-not-requested", "sovereign:apiKeys.mistral", "does not request"),
    ("api-key-whole-secret", "sovereign:apiKeys", "one secret per provider"),
]


@pytest.mark.parametrize("stack,key,words", KEY_CASES, ids=[c[0] for c in KEY_CASES])
def test_each_api_key_mistake_is_one_clear_error_that_never_echoes_the_value(stack, key, words):
    plan = plan_stack(stack, project=GATEWAY_FIXTURES, policy=POLICY_FILE)
    assert not plan.ok and plan.resources == ()
    [error] = plan.errors
    assert (error.file, error.key) == (f"stacks/Pulumi.{stack}.yaml", key)
    assert words in f"{error.problem}. Fix: {error.fix}"
    assert "sk-plaintext" not in str(error)


def test_every_gateway_fixture_is_a_case():
    files = {p.name[len("Pulumi."):-len(".yaml")] for p in (GATEWAY_FIXTURES / "stacks").glob("Pulumi.*.yaml")}
    assert files == {c[0] for c in KEY_CASES} | {"api-keys-valid"}


def test_valid_keys_route_the_allowed_provider_and_leave_the_denied_ones_key_behind():
    plan = plan_stack("api-keys-valid", project=GATEWAY_FIXTURES, policy=POLICY_FILE)
    assert plan.ok, plan.errors
    assert plan.spec.api_keys == ("deepseek", "gateway", "openai")
    [graph] = gateways(plan).values()
    assert secret_env(graph) == [MASTER_KEY_ENV, "API_KEY_OPENAI"]    # DeepSeek is denied in DE
    assert [r["model_name"] for r in litellm_config(graph)["model_list"]] == ["llama-3.1-8b-instruct", "gpt-4.1"]
    assert litellm_config(graph)["router_settings"]["model_group_alias"] == {"deepseek-chat": "llama-3.1-8b-instruct"}


def test_the_program_itself_rejects_a_plaintext_key_and_accepts_a_secret_one():
    """Under `pulumi up` the program sees decrypted config; it must still tell a secret from plaintext
    (by Pulumi's secret-key list) and never echo the value."""
    config, _ = read_stack_config(GATEWAY_FIXTURES, "api-key-plaintext")
    with pytest.raises(ProgramFailed, match=r"sovereign:apiKeys\.openai: the API key is not a Pulumi secret") as failed:
        run_program(PROJECT_DIR, "api-key-plaintext", config, (), POLICY_FILE)
    assert "sk-plaintext" not in str(failed.value)
    run_program(PROJECT_DIR, "api-key-plaintext", config, ("sovereign:apiKeys",), POLICY_FILE)


# --- the workload ------------------------------------------------------------------------------------

@LITELLM_PROBE
@pytest.mark.parametrize("variant,stack", [("real", s) for s in STACKS] + [("keyed", s) for s in STACKS])
def test_gateway_pods_probes_resources_and_scaling(variants, variant, stack):
    plan = variants[variant][stack]
    for cloud, graph in gateways(plan).items():
        deployment = deployment_of(graph)
        gateway_pods = one_of_kind(graph, "Deployment")
        template = deployment["spec"]["template"]
        labels = template["metadata"]["labels"]
        # The labels the egress fence (and only it) lets reach managed-API hosts, in its namespace.
        assert deployment["metadata"]["namespace"] == GATEWAY_NAMESPACE
        assert GATEWAY_POD_LABELS.items() <= labels.items()
        assert deployment["spec"]["selector"]["matchLabels"] == GATEWAY_POD_LABELS
        fences = [r for r in plan.resources if r.type.startswith("kubernetes:") and "Policy" in r.type
                  and r.inputs.get("metadata", {}).get("namespace") == GATEWAY_NAMESPACE
                  and r.provider == gateway_pods.provider]
        selectors = [f.inputs["spec"].get("podSelector") or f.inputs["spec"].get("endpointSelector") for f in fences]
        gateway_selectors = [s["matchLabels"] for s in selectors if s and s.get("matchLabels")]
        assert gateway_selectors and all(s.items() <= labels.items() for s in gateway_selectors)
        others = [r for r in plan.resources if r.inputs.get("kind") == "Deployment" and r is not gateway_pods
                  and r.provider == gateway_pods.provider
                  and GATEWAY_POD_LABELS.items() <= r.inputs["spec"]["template"]["metadata"]["labels"].items()]
        assert others == [], "only the gateway's pods may carry the labels the fence opens managed APIs to"
        container = container_of(graph)
        # Pulled through the cluster's own GHCR mirror (ECR / Artifact Registry in its region), never from ghcr.io.
        mirror = plan.decisions.cluster(cloud).images.refs["litellm"].mirror
        registry = {"aws": r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?",
                    "gcp": r"[a-z0-9-]+-docker\.pkg\.dev/[a-z0-9-]+"}[cloud]
        assert re.fullmatch(rf"{registry}/{re.escape(mirror)}/berriai/litellm-non_root:v{re.escape(LITELLM_VERSION)}",
                            container["image"]), container["image"]
        assert container["livenessProbe"]["httpGet"]["path"] == LIVENESS_PATH
        # Ready = LiteLLM ready and one of this cluster's own model servers healthy (proved against the real proxy
        # in test_the_real_proxy_serves_the_generated_config).
        command = container["readinessProbe"]["exec"]["command"]
        assert command[:3] == ["python", "-c", SERVING_READY]
        assert command[3] == f"http://127.0.0.1:{GATEWAY_PORT}{READINESS_PATH}"
        releases = {r.inputs["name"] for r in plan.resources if r.type == T.HELM_CHART
                    and r.provider == gateway_pods.provider}
        assert set(command[4:]) == {f"http://{r}.{SERVING_NAMESPACE}.svc:{SERVING_PORT}/health" for r in releases}
        assert container["startupProbe"]["httpGet"]["path"] == READINESS_PATH
        assert {p["containerPort"] for p in container["ports"]} == {GATEWAY_PORT}
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) == {"cpu", "memory"}
        assert container["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
        pod = template["spec"]
        assert pod["securityContext"]["runAsUser"] != 0 and pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["serviceAccountName"] == one_of_kind(graph, "ServiceAccount").inputs["metadata"]["name"]
        # The config file LiteLLM is started with is the registered ConfigMap, mounted where the args say.
        [volume] = [v for v in pod["volumes"] if "configMap" in v]
        assert volume["configMap"]["name"] == one_of_kind(graph, "ConfigMap").inputs["metadata"]["name"]
        [mount] = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
        assert container["args"][:2] == ["--config", f"{mount['mountPath']}/{CONFIG_FILE}"] and mount["mountPath"] == CONFIG_DIR
        assert template["metadata"]["annotations"]["sovereign.ai/config-sha256"] == \
            hashlib.sha256(config_text(graph).encode()).hexdigest()
        pdb = one_of_kind(graph, "PodDisruptionBudget").inputs["spec"]
        assert pdb["selector"]["matchLabels"] == GATEWAY_POD_LABELS and pdb["minAvailable"] >= 1
        # NotReady pods (no model server up) stay evictable: a drain must not stall during a GPU outage.
        assert pdb["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
        hpa = one_of_kind(graph, "HorizontalPodAutoscaler").inputs["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                         "name": deployment["metadata"]["name"]}
        assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"] and pdb["minAvailable"] < hpa["minReplicas"]
        assert hpa["metrics"][0]["resource"]["name"] == "cpu"
        service = one_of_kind(graph, "Service").inputs
        assert service["spec"]["selector"] == GATEWAY_POD_LABELS and service["spec"]["ports"][0]["port"] == GATEWAY_PORT
        assert plan.outputs["gateways"][cloud]["endpoint"] == \
            f"http://{service['metadata']['name']}.{GATEWAY_NAMESPACE}.svc:{GATEWAY_PORT}/v1"


@LITELLM_PROBE
def test_every_rendered_gateway_object_is_schema_valid(plans, keyed_plans):
    every = [d for p in (*plans.values(), *keyed_plans.values()) for g in gateways(p).values() for d in documents(g)]
    docs = list({json.dumps(d, sort_keys=True): d for d in every}.values())   # clusters share most objects
    assert {d["kind"] for d in docs} == KINDS | {"Secret", "Role", "RoleBinding"} | {
        kind for _, kind in SCRAPE_KINDS.values()}
    assert [e for d in docs for e in schema_errors(d)] == []


# --- the real proxy ----------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, key: str | None = None, body: dict | None = None, timeout: float = 30) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                     headers={"content-type": "application/json",
                                              **({"authorization": f"Bearer {key}"} if key else {})})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # loopback only, never a proxy
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, {}


def test_the_real_proxy_serves_the_generated_config(litellm_python, keyed_plans, tmp_path):
    """`litellm --config` on a loopback port with eu-central's config: health endpoints, auth, the model
    list, a denied model and an allowed one whose provider is down, both answered by open weights."""
    graph = gateways(keyed_plans["eu-central"])["aws"]
    doc = litellm_config(graph)
    fake = gateway_probe.fake_upstream()
    for route in doc["model_list"]:
        if route["litellm_params"]["model"].startswith("hosted_vllm/"):
            route["litellm_params"]["api_base"] = f"{fake}/v1"   # the in-cluster Services do not resolve here
    config = tmp_path / CONFIG_FILE
    config.write_text(yaml.safe_dump(doc))
    proxy = f"http://127.0.0.1:{gateway_probe.connect_proxy()}"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update({"HTTPS_PROXY": proxy, "NO_PROXY": "127.0.0.1,localhost", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "DISABLE_ADMIN_UI": "True", "LITELLM_MODE": "PRODUCTION", "INITIAL_RETRY_DELAY": "0", "JITTER": "0",
                MASTER_KEY_ENV: env_value("gateway"),
                **{env_name: env_value(p) for p, env_name in
                   (("openai", "API_KEY_OPENAI"), ("anthropic", "API_KEY_ANTHROPIC"), ("mistral", "API_KEY_MISTRAL"))}})
    log = tmp_path / "proxy.log"
    base = f"http://127.0.0.1:{port}"
    with open(log, "w") as out:
        server = subprocess.Popen([litellm_python.parent / "litellm", "--config", str(config), "--host", "127.0.0.1",
                                   "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
        try:
            deadline = time.monotonic() + 90
            while _call_status(f"{base}{LIVENESS_PATH}") != 200:
                assert server.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "proxy did not come up in 90 s"
                time.sleep(0.25)
            assert _call(f"{base}{READINESS_PATH}")[0] == 200
            # The pods' readiness, run as the kubelet would against this proxy: green while one model server
            # answers /health, red once none does (the load balancer then has no target, the failover check fails).
            probe_command = container_of(graph)["readinessProbe"]["exec"]["command"]
            dead = f"http://127.0.0.1:{_free_port()}/health"
            ready = [sys.executable, "-c", probe_command[2], f"{base}{READINESS_PATH}"]
            assert subprocess.run([*ready, dead, f"{fake}/health"], timeout=30).returncode == 0
            assert subprocess.run([*ready, dead, dead], timeout=30).returncode == 1
            assert subprocess.run([*ready[:3], f"http://127.0.0.1:{_free_port()}{READINESS_PATH}",
                                   f"{fake}/health"], timeout=30).returncode == 1  # the proxy itself down
            assert _call(f"{base}/v1/models")[0] == 401, "the gateway must not serve without its key"
            status, models = _call(f"{base}/v1/models", env_value("gateway"))
            want = expected(keyed_plans["eu-central"], "aws")
            assert status == 200
            assert sorted(m["id"] for m in models["data"]) == sorted(want["open"] | set(want["routed"]) | set(want["aliases"]))
            for model, dialled in (("deepseek-chat", []), ("gpt-4.1", ["eu.api.openai.com"])):
                gateway_probe.CONNECTS.clear()
                gateway_probe.ANSWERED.clear()
                status, answer = _call(f"{base}/v1/chat/completions", env_value("gateway"),
                                       {"model": model, "messages": [{"role": "user", "content": "hi"}]}, timeout=60)
                assert status == 200, (model, log.read_text()[-3000:])
                assert answer["choices"][0]["message"]["content"] == "answered by llama-3.1-8b-instruct"
                assert sorted({gateway_probe.host_of(c) for c in gateway_probe.CONNECTS}) == dialled
            # An application calling OpenAI with tools: its provider down, the fallback gets the tools and
            # tool_choice as sent and its tool call comes back; the fallback's server runs with a tool-call parser.
            weather = {"type": "function", "function": {"name": "get_weather", "parameters": {
                "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
            gateway_probe.ANSWERED.clear()
            status, answer = _call(f"{base}/v1/chat/completions", env_value("gateway"), {
                "model": "gpt-4.1", "messages": [{"role": "user", "content": "weather in Berlin?"}],
                "tools": [weather], "tool_choice": "auto"}, timeout=60)
            assert status == 200, log.read_text()[-3000:]
            [call] = answer["choices"][0]["message"]["tool_calls"]
            assert call["function"]["name"] == "get_weather" and answer["choices"][0]["finish_reason"] == "tool_calls"
            asked = [(a["tools"], a["tool_choice"]) for a in gateway_probe.ANSWERED]
            assert asked and set(map(json.dumps, asked)) == {json.dumps(([weather], "auto"))}
            charts = [r for r in keyed_plans["eu-central"].resources if r.type == T.HELM_CHART
                      and r.inputs["values"]["model"]["name"] == "llama-3.1-8b-instruct"]
            assert charts and {c.inputs["values"]["vllm"]["toolCallParser"] for c in charts} == {"llama3_json"}
            # A prompt too long for the fallback (8192 tokens): LiteLLM retries it on the region's longer-context
            # open model, as the config's context_window_fallbacks say.
            [(short, [longer])] = [next(iter(f.items())) for f in doc["router_settings"]["context_window_fallbacks"]]
            assert short == "llama-3.1-8b-instruct"
            gateway_probe.SHORT_CONTEXT.add(short)
            gateway_probe.ANSWERED.clear()
            status, answer = _call(f"{base}/v1/chat/completions", env_value("gateway"), {
                "model": "gpt-4.1", "messages": [{"role": "user", "content": "LONG document …"}]}, timeout=60)
            assert status == 200, log.read_text()[-3000:]
            assert answer["choices"][0]["message"]["content"] == f"answered by {longer}"
            assert [a["model"] for a in gateway_probe.ANSWERED][-2:] == [short, longer]
            # The demand that wakes a model scaled to zero: the gateway counts the requests it sends each model
            # server on /metrics, which the cluster's scraper reads without the key.
            assert _call_status(f"{base}/metrics") == 401, "/metrics is on the public port: only with the key"
            request = urllib.request.Request(f"{base}/metrics", headers={
                "Authorization": f"Bearer {env_value('gateway')}"})
            with urllib.request.urlopen(request, timeout=10) as response:
                metrics = response.read().decode()
            # llama answered as deepseek-chat's alias and, twice, as gpt-4.1's fallback (its tools; the long prompt).
            assert demand_in(metrics, short) >= 3, metrics[-2000:]
            # Every gateway metric the dashboard and the alerts read (dashboards/metrics.yaml) is one it serves.
            listed = yaml.safe_load((PROJECT_DIR / "dashboards" / "metrics.yaml").read_text())["metrics"]
            served = {line.split("{")[0].split(" ")[0] for line in metrics.splitlines() if not line.startswith("#")}
            for metric in (m for m in listed if m["exporter"] == "litellm"):
                assert {metric["name"], metric["name"] + "_bucket"} & served, metric["name"]
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
    assert CANARY not in log.read_text(), "a key reached the proxy's log"


def demand_in(metrics: str, model: str) -> float:
    """The model's demand as the scaler's activation query reads it: requests the gateway sent its model server."""
    wanted = demand_labels(model).split(",")
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith(DEMAND_METRIC + "{") and all(label in line for label in wanted))


def _call_status(url: str) -> int | None:
    try:
        return _call(url, timeout=2)[0]
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None


@LITELLM_PROBE
def test_a_keyed_gateway_is_scraped_with_its_key_by_its_clouds_kind(keyed_plans):
    """/metrics answers only with the gateway's key: the scrape object presents it from the gateway's Secret, and
    where the scraper reads secrets only when granted (GMP's collectors) it is granted that one Secret."""
    for stack, plan in keyed_plans.items():
        for cloud, graph in gateways(plan).items():
            elastic = profile(cloud).elastic
            api_version, kind = SCRAPE_KINDS[elastic.scrape]
            [scrape] = [r for r in graph if r.inputs.get("kind") == kind]
            [endpoint] = scrape.inputs["spec"]["endpoints"]
            credentials = endpoint["authorization"]["credentials"]
            assert (endpoint["path"], endpoint["authorization"]["type"]) == ("/metrics", "Bearer")
            assert credentials.get("secret", credentials) == {"name": KEYS_SECRET, "key": MASTER_KEY_ENV}
            roles = [r for r in graph if r.inputs.get("kind") == "RoleBinding"]
            if elastic.scraper_account is None:
                assert roles == [], (stack, cloud)
                continue
            [binding] = roles
            namespace, account = elastic.scraper_account
            assert binding.inputs["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]
            [role] = [r for r in graph if r.inputs.get("kind") == "Role"]
            assert role.inputs["rules"][0]["resourceNames"] == [KEYS_SECRET]
