"""The Pulumi program: one stack = one region.

Stack config → validated spec → decisions (sovereign.domain) → the region component (components/) → outputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from components.region import Region, RegionArgs
from sovereign.catalog import load_catalog
from sovereign.domain.decisions import RegionDecisions, decide_region
from sovereign.domain.errors import InvalidInput
from sovereign.domain.spec import parse_spec
from sovereign.domain.stackfile import decode_runtime_value, display_name
from sovereign.project import ENGINE_POLICY, load_project_policy
from sovereign.pulumi_internals import runtime_config


def decide() -> RegionDecisions:
    """Stack config → validated spec → every decision, before any resource is registered."""
    stack, catalog = pulumi.get_stack(), load_catalog()
    try:
        spec = parse_spec(_stack_config(), stack, display_name(stack), catalog)
        policy = globals().get(ENGINE_POLICY) or load_project_policy(Path(__file__).parent, catalog=catalog)
        return decide_region(spec, policy, catalog)
    except InvalidInput as exc:
        # RunError is reported by the CLI as a plain message, without a Python traceback; the offline
        # engine reads the errors themselves from its cause.
        raise pulumi.RunError(f"invalid input, nothing was registered:\n{exc}") from exc


def export(decided: RegionDecisions, region: Region) -> None:
    spec = decided.spec
    pulumi.export("region", spec.name)
    pulumi.export("jurisdiction", list(spec.jurisdiction.countries))
    pulumi.export("clusters", {cloud: {"name": c.cluster_name, "endpoint": c.endpoint, "gpuPools": c.gpu_pools,
                                       "weightsBucket": region.caches[cloud].bucket_name,
                                       "models": region.serving[cloud].endpoints}
                               for cloud, c in region.clusters.items()})
    pulumi.export("sizing", [f.to_dict() for f in decided.fits])
    # Per cluster: the one endpoint applications call, its routes (host per managed model), fallbacks,
    # aliases answering denied or unkeyed models with open weights, and keys still to set.
    pulumi.export("gateways", {cloud: g.summary for cloud, g in region.gateways.items()})
    # Hosts per layer exactly as each cloud's fence rendered them into resources.
    pulumi.export("egress", {cloud: fence.hosts for cloud, fence in region.fences.items()})
    pulumi.export("verdicts", {v.provider: {"allowed": v.allowed, "requested": v.requested,
                                            "rules": list(v.rule_ids), "hosts": list(v.hosts)}
                               for v in decided.verdicts})


def _stack_config() -> dict[str, Any]:
    """Every config key of the stack, structured values decoded, as the stack file declares them.

    The whole map is needed (not pulumi.Config lookups of known keys) so a mistyped key is reported
    instead of silently ignored.
    """
    raw, secret = runtime_config()
    return {key: _redacted(decode_runtime_value(value)) if key in secret else decode_runtime_value(value) for key, value in raw.items()}


def _redacted(value: Any) -> Any:
    """A secret key's value as its stack file declares it (`{secure: ...}` leaves, the shape kept), so
    validation sees which entries are secrets and never a secret's value. Pulumi marks a whole key
    secret when any leaf is, so a plaintext leaf beside a secret one is caught offline (`sovereign
    plan` reads the stack file), not here."""
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return {"secure": "[secret]"}


decisions = decide()
# Key values stay secret Outputs all the way into each gateway's Kubernetes Secret; the spec only knows
# which providers are keyed.
api_keys = pulumi.Config("sovereign").require_secret_object("apiKeys") if decisions.spec.api_keys else None
export(decisions, Region(decisions.spec.name, RegionArgs(decisions=decisions, api_keys=api_keys)))
