"""No plaintext secrets where anyone with read access to the namespace, the chart or the state can see them.

A value is secret-looking when it matches a credential format (OpenAI / Anthropic `sk-…`, AWS access key ids,
GitHub, Hugging Face, Google API keys, Slack, xAI, Groq, GitLab, Stripe, JWTs, PEM private keys, passwords in
URLs) or when it sits under a credential-named key (…api_key, …token, …secret, …password, …private_key,
master_key…) as a literal. A reference is not a secret: empty, `os.environ/NAME` (LiteLLM), `${…}` / `$(…)`,
an ALL_CAPS environment variable name, a secret-manager path, a Kubernetes `valueFrom` (which has no `value`).

The engine hands policies the plaintext of Pulumi secrets, so a Pulumi secret written into a ConfigMap or an env
literal is flagged like any literal: both end up readable in the cluster. Keep credentials in a Kubernetes
Secret (referenced with secretKeyRef / envFrom) or a secret manager.

configmaps-hold-no-secrets — `data` and `binaryData` of ConfigMaps, including keys inside YAML/JSON documents
  (a LiteLLM config.yaml).
container-env-holds-no-secrets — `env[].value`, `command` and `args` of every container of every workload.
chart-values-hold-no-secrets — `values` of helm charts and releases (Chart v4/v3, Release).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Iterator

import yaml

from .base import resource_policy
from .k8s import CHART_TYPES, CONFIGMAP, WORKLOAD_TYPES, containers, pod_spec
from .props import Unknown, as_dict, as_list, show, walk

TOKEN_PATTERNS = {
    "OpenAI/Anthropic API key": r"\bsk-(?:ant-|proj-|svcacct-)?[A-Za-z0-9_-]{16,}",
    "AWS access key id": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "GitHub token": r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})",
    "Hugging Face token": r"\bhf_[A-Za-z0-9]{30,}",
    "Google API key": r"\bAIza[0-9A-Za-z_-]{35}",
    "Slack token": r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
    "xAI API key": r"\bxai-[A-Za-z0-9]{20,}",
    "Groq API key": r"\bgsk_[A-Za-z0-9]{20,}",
    "GitLab token": r"\bglpat-[A-Za-z0-9_-]{20,}",
    "Stripe key": r"\b[rs]k_live_[A-Za-z0-9]{16,}",
    "JSON web token": r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
    "private key": r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----",
    "password in a URL": r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@",
}
_TOKENS = [(label, re.compile(pattern)) for label, pattern in TOKEN_PATTERNS.items()]
# Normalised key names (lower case, letters and digits only) that hold credentials.
_SECRET_KEY_ENDINGS = ("apikey", "apitoken", "token", "secret", "password", "passwd", "passphrase",
                       "privatekey", "secretkey", "secretaccesskey", "masterkey", "saltkey", "signingkey",
                       "encryptionkey", "licensekey", "credential", "credentials")
_REFERENCE = re.compile(r"^(?:os\.environ/\S+|\$\{.+\}|\$\(.+\)|[A-Z][A-Z0-9_]*|"
                        r"arn:aws[a-z-]*:(?:secretsmanager|ssm|kms):\S+|projects/[^/]+/secrets/\S+|"
                        r"(?:vault|secret|env|file)://?\S+|\{\{.+\}\})$")


def secret_key(name: str) -> bool:
    norm = re.sub(r"[^a-z0-9]", "", name.lower())
    return bool(norm) and norm.endswith(_SECRET_KEY_ENDINGS)


def token_kind(text: str) -> str | None:
    for label, regex in _TOKENS:
        if regex.search(text):
            return label
    return None


def literal(value: object) -> bool:
    return isinstance(value, str) and value.strip() != "" and not _REFERENCE.match(value.strip())


def findings(value: object, where: str, key: str = "") -> Iterator[str]:
    """Secret-looking leaves of `value` (a string, or nested dicts/lists), named by path."""
    for path, leaf in walk(value):
        if isinstance(leaf, Unknown) or not isinstance(leaf, str):
            continue
        name = path[-1] if path else key
        at = f"{where}.{show(path)}" if path else where
        kind = token_kind(leaf)
        if kind:
            yield f"{at} holds a value in {kind} format"
        elif secret_key(name) and literal(leaf):
            yield f"{at} is a credential-named key with a literal value"


def _document(text: str) -> object:
    """A ConfigMap value that is itself YAML/JSON (a config file), parsed; None when it is not."""
    if "\n" not in text and not text.lstrip().startswith(("{", "[")):
        return None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return doc if isinstance(doc, (dict, list)) else None


def _check_configmap(resource_type: str, props: dict, args) -> Iterator[str]:
    where = f"ConfigMap {args.name}"
    for key, value in as_dict(props.get("data")).items():
        if not isinstance(value, str):
            continue
        doc = _document(value)
        if doc is not None:
            yield from findings(doc, f"{where} data.{key}")
        else:
            yield from findings(value, f"{where} data.{key}", key)
    for key, value in as_dict(props.get("binaryData")).items():
        if isinstance(value, str):
            try:
                text = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                continue
            yield from findings(text, f"{where} binaryData.{key}", key)


def _explain(messages: Iterator[str], fix: str) -> Iterator[str]:
    for message in messages:
        yield f"{message}. {fix}"


configmaps = resource_policy(
    "configmaps-hold-no-secrets",
    "ConfigMaps hold no secret-looking values; credentials belong in Secrets or a secret manager.",
    (CONFIGMAP,),
    lambda t, p, a: _explain(_check_configmap(t, p, a),
                             "Move it to a Secret (or os.environ/<NAME> in a LiteLLM config) and reference it"))


def _check_env(resource_type: str, props: dict, args) -> Iterator[str]:
    spec = pod_spec(resource_type, props)
    if spec is None:
        return
    what = f"{resource_type.rsplit(':', 1)[-1]} {args.name}"
    for kind, container in containers(spec):
        cname = container.get("name")
        for env in as_list(container.get("env")):
            env = as_dict(env)
            name, value = env.get("name"), env.get("value")
            if isinstance(value, str) and isinstance(name, str):
                yield from findings(value, f"{what} {kind} {cname} env {name}", name)
        for field in ("command", "args"):
            for i, item in enumerate(as_list(container.get(field))):
                if isinstance(item, str) and token_kind(item):
                    yield f"{what} {kind} {cname} {field}[{i}] holds a value in {token_kind(item)} format"


container_env = resource_policy(
    "container-env-holds-no-secrets",
    "Container env literals, commands and args hold no secret-looking values; use secretKeyRef/envFrom.",
    WORKLOAD_TYPES,
    lambda t, p, a: _explain(_check_env(t, p, a),
                             "Reference a Secret with env[].valueFrom.secretKeyRef or envFrom.secretRef"))


def _check_values(resource_type: str, props: dict, args) -> Iterator[str]:
    values = props.get("values")
    if isinstance(values, (dict, list)):
        yield from findings(values, f"{resource_type.rsplit(':', 1)[-1]} {args.name} values")


chart_values = resource_policy(
    "chart-values-hold-no-secrets",
    "Helm chart and release values hold no secret-looking values; charts take the name of an existing Secret.",
    CHART_TYPES,
    lambda t, p, a: _explain(_check_values(t, p, a),
                             "Pass the name of an existing Secret instead (e.g. model.hfTokenSecret.name)"))

POLICIES = [configmaps, container_env, chart_values]
