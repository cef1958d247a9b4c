"""Inputs for the pure domain tests, built inline: a stack's `config:` as a dict, a policy as YAML text.

sovereign/domain/ is pure Python, so its tests state what they need in a few lines — one cloud, one model,
two rules — and call the domain directly, without the engine or the real stack and policy files (those are
tested too, elsewhere, as the real thing).

    spec = region_spec(clouds={"gcp": {"region": "europe-west3", "project": "p-test-1"}},
                       managedApis=[{"provider": "openai", "models": [{"name": "gpt-4.1", "fallback": LLAMA}]}])
    decided = decide(spec, policy_of(ALLOW_EEA))
"""

from __future__ import annotations

from typing import Any

import yaml

from sovereign.catalog import load_catalog
from sovereign.domain.decisions import RegionDecisions, decide_region
from sovereign.domain.policy import Policy, parse_policy
from sovereign.domain.spec import RegionSpec, parse_spec
from sovereign.domain.stackfile import display_name

CATALOG = load_catalog()
LLAMA = "llama-3.1-8b-instruct"
FRANKFURT_AWS = {"aws": {"region": "eu-central-1"}}
def registry_credentials(region: str) -> dict[str, str]:
    """What every AWS cloud declares for its registry mirrors (spec.py, registryCredentials): Secrets Manager ARNs
    in the cloud's own region."""
    return {key: f"arn:aws:secretsmanager:{region}:111122223333:secret:ecr-pullthroughcache/{name}-a1B2c3"
            for key, name in (("dockerHub", "docker-hub"), ("ghcr", "ghcr"))}


def stack_config(region: str = "test", clouds: dict | None = None, models: list | None = None,
                 **sovereign: Any) -> dict[str, Any]:
    """A valid stack `config:`: one AWS cloud in Frankfurt serving Llama 3.1 8B unless told otherwise.
    Keyword arguments set `sovereign:<key>` (managedApis=[…], jurisdiction={…}, dr={…}, apiKeys={…}).
    An AWS cloud without `registryCredentials` gets registry_credentials(its region), as every valid AWS stack outside
    AWS China has that pulls through ECR's caches (not `imageMirror: prefilled`)."""
    clouds = clouds or FRANKFURT_AWS
    aws = clouds.get("aws") if isinstance(clouds, dict) else None
    pulls_through = isinstance(aws, dict) and aws.get("imageMirror") != "prefilled"
    if pulls_through and not str(aws.get("region")).startswith("cn-"):  # AWS China: no pull-through cache
        clouds = {**clouds, "aws": {"registryCredentials": registry_credentials(str(aws.get("region"))), **aws}}
    return {"pulumi:disable-default-providers": ["*"], "sovereign:region": region,
            "sovereign:clouds": clouds, "sovereign:models": models or [{"id": LLAMA}],
            **{f"sovereign:{key}": value for key, value in sovereign.items()}}


def region_spec(stack: str = "test", **config: Any) -> RegionSpec:
    """parse_spec over `stack_config(**config)`, as the stack file `stacks/Pulumi.<stack>.yaml`."""
    return parse_spec(stack_config(**config), stack, display_name(stack), CATALOG)


def policy_of(text: str) -> Policy:
    """A policy from YAML text; `version: 1` is implied."""
    return parse_policy({"version": 1, **yaml.safe_load(text)}, "policy.yaml", CATALOG)


def decide(spec: RegionSpec, policy: Policy) -> RegionDecisions:
    return decide_region(spec, policy, CATALOG)
