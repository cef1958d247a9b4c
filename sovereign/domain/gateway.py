"""The inference gateway of each cluster, decided from the spec and the verdicts as plain data.

Applications in a region call one OpenAI-compatible endpoint (`GatewayConfig.endpoint`) and name a
model; the gateway decides who answers:

* every open-weight model the cluster serves is a route to its in-cluster vLLM server;
* every managed-API model of a provider that is requested, allowed and keyed is a route to the host
  the verdict chose (the residency host where the policy prefers one), with the verdict's request
  parameters (Anthropic `inference_geo`), and falls back to the open-weight model the stack names for
  it when the provider fails, times out or is cooling down;
* a managed model whose provider is denied (or allowed but has no key yet) has no route at all: its
  name is an alias of its open-weight fallback, so applications keep the name and get open weights.
  A denied provider appears nowhere in the configuration: no route, no host, no key variable.

The gateway is LiteLLM's proxy, pinned to `LITELLM_VERSION` (image and the test's PyPI install):
- it speaks the OpenAI API to applications and the native API of each provider we list, including
  Anthropic request parameters, Bedrock bearer keys and regional Vertex endpoints;
- routes, fallbacks and aliases are one YAML file, which makes the configuration a pure function of
  the verdicts that a test loads with the gateway's own config loader;
- it is widely deployed and maintained (frequent releases, LTS line, signed images). Envoy AI Gateway
  would add the Gateway API and Envoy Gateway controllers to every cluster for the same routes.

Authentication: applications present the gateway key (`sovereign:apiKeys.gateway`, LiteLLM's master
key) as their OpenAI API key. The proxy refuses to start without one, so a stack without it renders the
gateway whose pods wait for the key (fail-closed, never an open gateway to paid APIs) and says so in
`warnings`.

Unkeyed providers: a route whose key is missing can only fail authentication, so every request would
first wait on a failing call and then fall back. The gateway routes a provider only once its key is
set; until then its models answer from open weights through the alias, and `warnings` says which key
to set (`pulumi config set --secret --path 'sovereign:apiKeys.<provider>' <key>`).

Cross-cluster fallback is deliberately absent. Every cluster of a region serves every open-weight
model of the stack, so a cluster's own copy is always the first open-weight answer. The other cloud's
copy is a ClusterIP Service in another VPC: there is no peering, VPN or exposed endpoint between the
clouds, and the pod fence lets the gateway reach only model servers in its own cluster and the
allowed managed-API hosts. A route to it could never succeed. Losing a whole cluster is handled one
level up, by DR failover of the region's gateway endpoint between clusters, not by this config.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Mapping

import yaml

from ..catalog import Catalog
from ..clouds import profile
from .errors import InputError, InvalidInput
from .hosts import default_host_names, reachable_hosts
from .serving import release_name
from .spec import GATEWAY_KEY, ManagedApiRequest, RegionSpec
from .topology import ClusterPlan
from .verdict import Verdict
from .workloads import GATEWAY_NAMESPACE, GATEWAY_POD_LABELS, SERVING_KEY_ENV, SERVING_NAMESPACE, SERVING_PORT

# One version for the image the clusters run and the package tests/components/k8s/test_gateway.py loads configs with
# (tools/setup-litellm.sh reads it from this line). 1.108.7 is an LTS release with a published image
# tag, and the newest whose `litellm[proxy]` pins (litellm-proxy-extras, litellm-enterprise) all
# resolve on the package index the project's machines reach; 1.108.8+ and 1.109+ pin versions it lacks.
LITELLM_VERSION = "1.108.7"
GATEWAY_NAME = GATEWAY_POD_LABELS["app.kubernetes.io/name"]   # Deployment, Service, PDB, HPA, account
GATEWAY_PORT = 4000
CONFIG_DIR = "/etc/litellm"
CONFIG_FILE = "config.yaml"
KEYS_SECRET = f"{GATEWAY_NAME}-api-keys"
LIVENESS_PATH = "/health/liveliness"   # LiteLLM's spelling
READINESS_PATH = "/health/readiness"
OPEN_WEIGHT_PREFIX = "hosted_vllm"     # LiteLLM's provider for vLLM's OpenAI-compatible server
# The key applications present (`Authorization: Bearer <key>`), from `sovereign:apiKeys.gateway`.
# LiteLLM's proxy refuses to start without one, so until it is set the pods wait, fail-closed.
MASTER_KEY_ENV = "LITELLM_MASTER_KEY"

# Router behaviour: one retry on the same deployment, then the fallback; a provider failing 3 times
# in a minute is skipped for 30 s, so requests go straight to open weights while it is down.
ROUTER_SETTINGS = {"num_retries": 1, "timeout": 120, "allowed_fails": 3, "cooldown_time": 30}


@dataclass(frozen=True)
class _Adapter:
    """How LiteLLM reaches one provider: model prefix, the API base built from the verdict's host, and
    which parameter carries the credential."""
    prefix: str
    base: str | None                 # "https://{host}/v1"; None when the host goes in another parameter
    credential: str = "api_key"
    # Other LiteLLM prefixes that reach the same provider: never generated here, but a config carrying
    # one still calls that provider (the policy pack's gateway check reads them).
    other_prefixes: tuple[str, ...] = ()


_ADAPTERS: Mapping[str, _Adapter] = {
    "openai": _Adapter("openai", "https://{host}/v1", other_prefixes=("text-completion-openai",)),
    "anthropic": _Adapter("anthropic", "https://{host}"),
    "google_gemini_api": _Adapter("gemini", "https://{host}/v1beta"),
    # The "key" is a service-account JSON; the regional host is the API base, the path is LiteLLM's.
    "google_vertex_ai": _Adapter("vertex_ai", "https://{host}", credential="vertex_credentials",
                                 other_prefixes=("vertex_ai_beta",)),
    # Bedrock API keys are bearer tokens; the runtime endpoint pins the host.
    "aws_bedrock": _Adapter("bedrock", None),
    "azure_openai": _Adapter("azure", "https://{host}"),
    "mistral": _Adapter("mistral", "https://{host}/v1"),
    "cohere": _Adapter("cohere_chat", "https://{host}/v1/chat", other_prefixes=("cohere",)),
    "xai": _Adapter("xai", "https://{host}/v1"),
    "together_ai": _Adapter("together_ai", "https://{host}/v1"),
    "deepseek": _Adapter("deepseek", "https://{host}/v1"),
}
# LiteLLM model prefix → the catalog provider it calls: every prefix of every adapter.
LITELLM_PROVIDERS: Mapping[str, str] = {prefix: provider for provider, adapter in _ADAPTERS.items()
                                        for prefix in (adapter.prefix, *adapter.other_prefixes)}
AZURE_API_VERSION = "2024-10-21"  # Azure OpenAI GA data-plane version


@dataclass(frozen=True)
class Route:
    """One deployment in LiteLLM's model_list."""
    model_name: str                  # what applications send as `model`
    provider: str | None             # None for an open-weight model served in the cluster
    params: Mapping[str, Any]        # litellm_params; a credential only as "os.environ/<VAR>"

    @property
    def open_weight(self) -> bool:
        return self.provider is None

    @property
    def host(self) -> str:
        """The one hostname this route sends requests to."""
        url = self.params.get("aws_bedrock_runtime_endpoint") or self.params["api_base"]
        return url.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "litellm_params": dict(self.params)}


@dataclass(frozen=True)
class GatewayConfig:
    cluster: str                                  # "<region>-<cloud>"
    cloud: str
    routes: tuple[Route, ...]                     # open-weight first, then managed; each sorted by name
    fallbacks: Mapping[str, tuple[str, ...]]      # routed managed model → open-weight models, in order
    aliases: Mapping[str, str]                    # managed model without a route → open-weight model
    key_env: Mapping[str, str]                    # provider → env var holding its key (routed only)
    warnings: tuple[str, ...]
    unkeyed: tuple[str, ...] = ()                 # allowed, requested providers waiting for their key
    authenticated: bool = True                    # the gateway key is set in sovereign:apiKeys
    identity: tuple[str, ...] = ()                # routed providers reached as the gateway's workload identity
    # open-weight model → those served with a longer context, shortest first: where a request too long for it goes
    context_fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def secret_entries(self) -> dict[str, str]:
        """What the keys Secret holds, env var → `sovereign:apiKeys` entry: the gateway key when set,
        then the routed providers' keys (never a denied or unrouted provider's)."""
        return {**({MASTER_KEY_ENV: GATEWAY_KEY} if self.authenticated else {}),
                **{env: provider for provider, env in self.key_env.items()}}

    @property
    def endpoint(self) -> str:
        return f"http://{GATEWAY_NAME}.{GATEWAY_NAMESPACE}.svc:{GATEWAY_PORT}/v1"

    def document(self) -> dict[str, Any]:
        """LiteLLM's proxy config (model_list, router_settings, litellm_settings): no secret in it."""
        return {
            "model_list": [r.to_dict() for r in self.routes],
            "router_settings": {
                **ROUTER_SETTINGS,
                "fallbacks": [{model: list(targets)} for model, targets in self.fallbacks.items()],
                "model_group_alias": dict(self.aliases),
                # vLLM refuses a prompt + output over its max_model_len (ContextWindowExceededError in LiteLLM):
                # such a request goes to an open-weight model served with a longer context, if the region has one.
                "context_window_fallbacks": [{m: list(t)} for m, t in self.context_fallbacks.items()],
            },
            # Applications send OpenAI parameters whoever answers; drop what a backend cannot take
            # instead of failing the request (the point of the gateway is that they need not care).
            # Prometheus metrics on /metrics (no licence needed in this version): the demand that wakes a model scaled
            # to zero (elastic.demand_query) and the dashboard's gateway panels. Only with the gateway's key, as /v1:
            # the port is the public endpoint's on EKS, and the labels carry client addresses and user agents.
            "litellm_settings": {"drop_params": True, "json_logs": True, "callbacks": ["prometheus"]},
            "general_settings": {"master_key": f"os.environ/{MASTER_KEY_ENV}"},
        }

    def render(self) -> str:
        header = (f"# LiteLLM {LITELLM_VERSION} proxy config for {self.cluster}, generated by sovereign-inference\n"
                  "# from the stack and the sovereignty policy's verdicts. Do not edit: change those instead.\n")
        return header + yaml.safe_dump(self.document(), sort_keys=False, default_flow_style=False, width=120)

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.render().encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """The summary exported per cluster (`gateways` output) and written to snapshots."""
        return {
            "endpoint": self.endpoint, "version": LITELLM_VERSION,
            "routes": {r.model_name: ("open-weight" if r.open_weight else r.host) for r in self.routes},
            "fallbacks": {m: list(t) for m, t in self.fallbacks.items()},
            "aliases": dict(self.aliases),
            "keyEnv": dict(self.key_env),
            "authenticated": self.authenticated, "identity": list(self.identity),
            "warnings": list(self.warnings),
        }


def serving_url(model_id: str) -> str:
    """The in-cluster OpenAI-compatible base of a model's vLLM server (charts/model-server Service)."""
    return f"http://{release_name(model_id)}.{SERVING_NAMESPACE}.svc:{SERVING_PORT}/v1"


def key_env(provider: str) -> str:
    """Env var (and Secret key) holding a provider's key. Namespaced, so LiteLLM never picks up a key
    by its own conventional name (OPENAI_API_KEY …) for a deployment we did not configure."""
    return f"API_KEY_{provider.upper()}"


def gateway_config(spec: RegionSpec, verdicts: tuple[Verdict, ...], plan: ClusterPlan,
                   catalog: Catalog) -> GatewayConfig:
    """Raises InvalidInput when the stack names a managed model so that the gateway could not tell
    which answer it means."""
    served = tuple(sorted(m.id for m in spec.models))
    routes = [Route(m, None, {"model": f"{OPEN_WEIGHT_PREFIX}/{m}", "api_base": serving_url(m),
                              "api_key": f"os.environ/{SERVING_KEY_ENV}"}) for m in served]
    by_provider = {v.provider: v for v in verdicts}
    fallback_of: dict[str, str] = {}
    routed: dict[str, list[Route]] = {}
    unrouted: set[str] = set()
    unkeyed: list[str] = []
    warnings = []
    authenticated = GATEWAY_KEY in spec.api_keys
    if not authenticated:
        warnings.append("the gateway has no key, so its pods wait for one (LiteLLM will not serve unauthenticated): "
                        "`pulumi config set --secret --path 'sovereign:apiKeys.gateway' <key>` and give "
                        "applications that key as their OpenAI API key")
    keys: dict[str, str] = {}
    errors = []
    # Providers the cluster's own workload identity reaches (Vertex on GKE): routed without a key.
    ambient = dict(profile(plan.cloud.cloud).identity_providers)
    identity: list[str] = []
    for i, request in enumerate(spec.managed_apis):
        verdict = by_provider[request.provider]
        keyed = request.provider in spec.api_keys or request.provider in ambient
        for j, model in enumerate(request.models):
            key = f"sovereign:managedApis[{i}].models[{j}]"
            if fallback_of.setdefault(model.name, model.fallback) != model.fallback:
                errors.append(InputError(spec.file, f"{key}.fallback", f"'{model.name}' is requested from several "
                                         f"providers with different fallbacks ({fallback_of[model.name]}, "
                                         f"{model.fallback})", "give the model one fallback everywhere it is listed"))
            if model.name in served:
                errors.append(InputError(spec.file, f"{key}.name", f"'{model.name}' is also the name of an "
                                         "open-weight model this region serves; the gateway could not tell them apart",
                                         "list the managed model under its provider's own name"))
        if not verdict.reachable or not verdict.hosts:
            unrouted.update(m.name for m in request.models)
            continue
        provider = catalog.providers[request.provider]
        for param, value in sorted(verdict.request_params.items()):
            if without := [m.name for m in request.models if not provider.accepts(param, m.name)]:
                warnings.append(f"{request.provider} {param}={value} (residency {verdict.residency}) is not sent with "
                                f"{', '.join(without)}: the provider refuses it for those models, so they run "
                                "wherever it places them")
        if not keyed:
            unrouted.update(m.name for m in request.models)
            unkeyed.append(request.provider)
            warnings.append(f"{request.provider} is allowed but has no key: {', '.join(m.name for m in request.models)} "
                            f"answered by open weights until `pulumi config set --secret --path "
                            f"'sovereign:apiKeys.{request.provider}' <key>`")
            continue
        if request.provider in ambient:
            identity.append(request.provider)
        else:
            keys[request.provider] = key_env(request.provider)
        for model in request.models:
            routed.setdefault(model.name, []).append(Route(model.name, request.provider, _managed_params(
                model.name, request, verdict, spec, catalog, keyed=request.provider not in ambient)))
    if errors:
        raise InvalidInput(errors)
    for name in sorted(routed):
        routes += sorted(routed[name], key=lambda r: r.provider)
    return GatewayConfig(
        cluster=plan.name, cloud=plan.cloud.cloud, routes=tuple(routes),
        fallbacks={m: (fallback_of[m],) for m in sorted(routed)},
        # A model also offered by a routed provider is answered by that route, not the alias.
        aliases={m: fallback_of[m] for m in sorted(unrouted - set(routed))},
        key_env=dict(sorted(keys.items())), warnings=tuple(warnings), unkeyed=tuple(unkeyed),
        authenticated=authenticated, identity=tuple(identity), context_fallbacks=context_fallbacks(spec))


def context_fallbacks(spec: RegionSpec) -> dict[str, tuple[str, ...]]:
    """Each open-weight model → the region's models served with a longer context, shortest first."""
    by_context = sorted(spec.models, key=lambda m: (m.context_length, m.id))
    return {m.id: longer for m in by_context
            if (longer := tuple(o.id for o in by_context if o.context_length > m.context_length))}


def _managed_params(model: str, request: ManagedApiRequest, verdict: Verdict, spec: RegionSpec,
                    catalog: Catalog, keyed: bool) -> dict[str, Any]:
    """`keyed`: the route presents the provider's key; else LiteLLM authenticates as the pod's workload identity
    (Google's application default credentials from the GKE metadata server)."""
    adapter = _ADAPTERS[request.provider]
    host = api_host(verdict, request, catalog)
    params: dict[str, Any] = {"model": f"{adapter.prefix}/{model}"}
    if adapter.base:
        params["api_base"] = adapter.base.format(host=host)
    if request.provider == "aws_bedrock":
        params["aws_region_name"] = request.endpoint_region
        params["aws_bedrock_runtime_endpoint"] = f"https://{host}"
    if request.provider == "google_vertex_ai":
        regional = host.endswith("-aiplatform.googleapis.com")
        params["vertex_location"] = request.endpoint_region if regional else "global"
        gcp = spec.cloud("gcp")
        if gcp is not None:
            params["vertex_project"] = gcp.project   # else the credentials' own project
    if request.provider == "azure_openai":
        params["api_version"] = AZURE_API_VERSION
    if keyed:
        params[adapter.credential] = f"os.environ/{key_env(request.provider)}"
    # e.g. Anthropic inference_geo: us, only for the models the provider takes it for (others answer 400)
    provider = catalog.providers[request.provider]
    params.update(sorted((k, v) for k, v in verdict.request_params.items() if provider.accepts(k, model)))
    return params


def api_host(verdict: Verdict, request: ManagedApiRequest, catalog: Catalog) -> str:
    """The host the route calls: the verdict's only host, else the first in the catalog's order
    (a provider's primary API host before its secondary names)."""
    if len(verdict.hosts) == 1:
        return verdict.hosts[0]
    for name in default_host_names(catalog.providers[verdict.provider]):
        for host in reachable_hosts((name,), request, catalog):
            if host in verdict.hosts:
                return host
    return verdict.hosts[0]
