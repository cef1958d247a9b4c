"""Gateway routes never lead to a host the stack's jurisdiction denies.

The inference gateway (LiteLLM proxy, namespace sovereign-gateway) reads its routes from a config file kept in
a ConfigMap (or a Secret). Every ConfigMap or Secret whose data holds a LiteLLM config — a mapping with a
`model_list` — is checked, wherever it lives: a route is denied when its `litellm_params.api_base` host matches
a denied host, or, without an api_base, when its `model: <provider>/<name>` prefix names a provider the stack's
verdicts deny (LiteLLM would call that provider's public endpoint). An api_base always wins over the prefix:
`openai/<model>` with an in-cluster api_base is the sovereign core, not OpenAI.
"""

from __future__ import annotations

import base64
import binascii
from typing import Iterator

import yaml
from sovereign.domain.gateway import LITELLM_PROVIDERS

from .base import resource_policy
from .context import current_fence
from .egress import violations
from .hosts import host_of
from .k8s import CONFIGMAP, SECRET
from .props import Unknown, as_dict, as_list, known



def _documents(resource_type: str, props: dict) -> Iterator[tuple[str, object]]:
    for key, value in as_dict(props.get("data")).items():
        if isinstance(value, Unknown):
            known(value)
        if resource_type == SECRET and isinstance(value, str):
            try:
                value = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                continue
        yield f"data.{key}", value
    if resource_type == SECRET:
        for key, value in as_dict(props.get("stringData")).items():
            yield f"stringData.{key}", value


def _litellm_config(text: object) -> dict | None:
    if not isinstance(text, str) or "model_list" not in text:
        return None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("model_list"), list) else None


def _check(resource_type: str, props: dict, args) -> Iterator[str]:
    fence = None
    for path, text in _documents(resource_type, props):
        config = _litellm_config(text)
        if config is None:
            continue
        fence = fence or current_fence()
        where = f"gateway route in {resource_type.rsplit(':', 1)[-1]} {args.name} {path}"
        if fence.error:
            yield from violations(fence, where, [])
            return
        for i, route in enumerate(as_list(config["model_list"])):
            params = as_dict(as_dict(route).get("litellm_params"))
            name = as_dict(route).get("model_name", f"#{i}")
            api_base = params.get("api_base") or params.get("base_url")
            if isinstance(api_base, str) and api_base.strip():
                if api_base.strip().startswith("os.environ/"):
                    yield (f"{where} model_list[{i}] ({name}): api_base comes from the environment "
                           f"({api_base}), so its host cannot be checked; write the host in the config")
                    continue
                yield from violations(fence, where, [(f"model_list[{i}] ({name}) api_base", host_of(api_base))])
                continue
            model = params.get("model")
            prefix = model.split("/", 1)[0] if isinstance(model, str) and "/" in model else ""
            provider = LITELLM_PROVIDERS.get(prefix)
            if provider and provider not in fence.allowed_providers:
                yield (f"{where} model_list[{i}] ({name}) routes `{model}` to {provider}'s public endpoint, "
                       f"which is denied for {fence.describe()}. Remove the route or serve the model in the "
                       f"sovereign core.")


gateway_routes = resource_policy(
    "gateway-routes-no-denied-host",
    "Inference gateway routes (LiteLLM model_list) never lead to a host or provider the stack's jurisdiction "
    "denies.",
    (CONFIGMAP, SECRET), _check)

POLICIES = [gateway_routes]
