"""The Pulumi program: stack config → validated spec → verdicts → the region component → outputs."""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from .catalog import load_catalog
from .components.region import Region, RegionArgs
from .domain.errors import InvalidInput
from .domain.spec import parse_spec
from .domain.stackfile import display_name
from .domain.decisions import decide_region
from .project import load_project_policy


def run() -> None:
    stack = pulumi.get_stack()
    catalog = load_catalog()
    try:
        spec = parse_spec(_stack_config(), stack, display_name(stack), catalog)
        decided = decide_region(spec, load_project_policy(), catalog)
    except InvalidInput as exc:
        # RunError is reported by the CLI as a plain message, without a Python traceback.
        raise pulumi.RunError(f"invalid input, nothing was registered:\n{exc}") from None
    region = Region(spec.name, RegionArgs(decisions=decided, catalog=catalog))
    pulumi.export("region", spec.name)
    pulumi.export("jurisdiction", list(spec.jurisdiction.countries))
    pulumi.export("clusters", {cloud: {"name": c.cluster_name, "endpoint": c.endpoint, "gpuPools": c.gpu_pools,
                                       "weightsBucket": region.caches[cloud].bucket_name,
                                       "models": region.serving[cloud].endpoints}
                               for cloud, c in region.clusters.items()})
    pulumi.export("sizing", [f.to_dict() for f in decided.fits])
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
    raw = {**get_config_env(), **CONFIG.get()}
    return {key: _decode(value) for key, value in raw.items()}


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
