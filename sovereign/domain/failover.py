"""Cross-cloud failover and DR drills, decided once per region.

A region's clients resolve `<region>.<domain>`: a Route 53 failover pair over the gateways of the
region's clouds, each behind a health check on the gateway's liveness endpoint; a global
`api.<domain>` routes by geolocation to the regions allowed to serve a client's country, with one
default. Worst-case failover = interval × threshold (detection) + TTL (resolvers holding the old
answer), printed by `sovereign plan`.

A drill (`sovereign:drill: <cloud>`) tears one cloud down for real: its clusters, pools, releases,
fences and gateway are left out of the graph, its stateful resources (weight bucket, zones, the image repositories it
fills itself) kept, DNS points only at the survivors, and each model on a survivor runs at the region's drill capacity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from .errors import InputError, InvalidInput
from .policy import Policy, serving_violations
from .spec import Replicas, RegionSpec

HEALTH_PATH = "/health/liveliness"  # LiteLLM's liveness endpoint: the gateway process answers
HTTPS_PORT = 443
FAILOVER_GOAL_S = 60


@dataclass(frozen=True)
class FailoverPlan:
    domain: str | None             # parent DNS domain; None = no failover DNS for this region
    regional_name: str | None
    global_name: str | None
    interval_s: int
    failure_threshold: int
    ttl_s: int
    targets: tuple[str, ...]       # clouds whose gateways the regional name points at, primary first
    serves: tuple[str, ...]        # client countries routed here by the global name
    default: bool                  # the global name's answer for every other country
    drill: str | None              # the cloud torn down, if this is a drill
    # The names the gateways' TLS certificates cover: the regional name and the global one. Every public endpoint
    # serves TLS on 443 only (spec.py requires the domain's zone, which delegates the region's zone where the
    # certificates are validated on the first `pulumi up`).
    tls_names: tuple[str, ...] = ()
    # Who may reach the public endpoints besides Route 53's health checkers (the stack adds their published ranges);
    # () = anyone.
    source_ranges: tuple[str, ...] = ()

    @property
    def worst_case_s(self) -> int:
        return self.interval_s * self.failure_threshold + self.ttl_s

    def to_dict(self) -> dict[str, Any]:
        return {"domain": self.domain, "regionalName": self.regional_name, "globalName": self.global_name,
                "healthCheck": {"path": HEALTH_PATH, "intervalSeconds": self.interval_s,
                                "failureThreshold": self.failure_threshold},
                "ttlSeconds": self.ttl_s, "worstCaseFailoverSeconds": self.worst_case_s,
                "withinGoal": self.worst_case_s <= FAILOVER_GOAL_S, "targets": list(self.targets),
                "serves": list(self.serves), "default": self.default, "drill": self.drill,
                "tlsNames": list(self.tls_names), "sourceRanges": list(self.source_ranges)}


def failover_plan(spec: RegionSpec, policy: Policy) -> FailoverPlan:
    """Raises InvalidInput when the region would serve clients the policy's serving rules keep elsewhere."""
    dr = spec.dr
    serves = dr.serves or spec.jurisdiction.countries
    refused = serving_violations(policy, serves, spec.jurisdiction.countries)
    if refused:
        raise InvalidInput([InputError(spec.file, "sovereign:dr.serves", f"{country} clients may not be served "
                                       f"from {', '.join(spec.jurisdiction.countries)} ({policy.file}: {rule})",
                                       "serve only clients this region's jurisdiction may serve, or change the "
                                       "policy's serving rules in a reviewed PR") for country, rule in refused])
    targets = tuple(c.cloud for c in spec.clouds if c.cloud != spec.drill)
    return FailoverPlan(
        domain=dr.domain, regional_name=f"{spec.name}.{dr.domain}" if dr.domain else None,
        global_name=f"api.{dr.domain}" if dr.domain else None, interval_s=dr.health_check_interval_s,
        failure_threshold=dr.failure_threshold, ttl_s=dr.dns_ttl_s, targets=targets,
        serves=serves, default=dr.default, drill=spec.drill,
        tls_names=(f"{spec.name}.{dr.domain}", f"api.{dr.domain}") if dr.domain else (),
        source_ranges=dr.source_ranges)


def drilled(spec: RegionSpec) -> RegionSpec:
    """The spec as a drill runs it: the torn-down cloud gone, each model at its drill capacity.

    Refused (InvalidInput, before anything is built) when the drill capacity of a model falls below
    the region's declared minimum.
    """
    if spec.drill is None:
        return spec
    survivors = tuple(c for c in spec.clouds if c.cloud != spec.drill)  # the spec refused a last-cloud drill
    errors, models = [], []
    for index, model in enumerate(spec.models):
        capacity = drill_capacity(spec, model.id)
        if capacity < spec.dr.min_replicas:
            errors.append(InputError(spec.file, f"sovereign:models[{index}]", f"{model.id} would run "
                                     f"{capacity} replica(s) on the survivors, below dr.minReplicas "
                                     f"{spec.dr.min_replicas}", "raise dr.drillCapacity or lower dr.minReplicas"))
        models.append(replace(model, replicas=Replicas(capacity, max(capacity, model.replicas.max))))
    if errors:
        raise InvalidInput(errors)
    return replace(spec, clouds=survivors, models=tuple(models))


def drill_capacity(spec: RegionSpec, model_id: str) -> int:
    """Replicas per surviving cloud: the declared drill capacity, else the region's normal floor
    (min replicas summed over its clouds) spread over the survivors."""
    declared = spec.dr.drill_capacity.get(model_id)
    if declared is not None:
        return declared
    model = next(m for m in spec.models if m.id == model_id)
    survivors = sum(1 for c in spec.clouds if c.cloud != spec.drill)
    return math.ceil(model.replicas.min * len(spec.clouds) / max(survivors, 1))
