"""The offline DR drill: plan a stack normally and through the drill's two phases, and prove the drill does only
what it should, and that a real teardown can finish — before anyone runs it against real clouds.

Phases, each a `pulumi up` with `sovereign:drill: <cloud>`:
  release   (`sovereign:drillPhase: release`) the survivors scale to drill capacity and DNS moves to them; the
            downed cloud keeps running but lifts its protections (the DNS Firewall association's mutation
            protection) and deletes what its controllers made outside Pulumi (load balancers, Karpenter's nodes);
  teardown  the downed cloud's resources go; its stateful ones (weight buckets, zones, image repositories the stack
            fills itself) are retained.

Checks (each must hold, else the drill exits non-zero):
  survivors-untouched  no resource of a surviving cloud is deleted, and any that changes changes only
                       in scale (node pool sizes, replica counts) or DNS;
  protected-retained   every protected resource of the normal plan is still in the drill plan;
  teardown-completes   no delete of either phase is one the real cloud refuses or that leaves a controller's
                       resources in the network (sovereign/engine/teardown.py);
  dns-survivors-only   the failover records point only at surviving clouds;
  failover-bound       worst-case failover (interval × threshold + TTL) within the 60 s goal;
  capacity             every model keeps at least dr.minReplicas replicas on the survivors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..clouds import profile
from ..domain.drill_capacity import ClusterCapacity, capacity_changes
from ..domain.failover import FAILOVER_GOAL_S
from .graph import RegisteredResource
from .run import Plan, plan_stack
from .teardown import Blocker, DataFate, blockers, data_fates

# Inputs a drill may change on a survivor: how many nodes or replicas, and where DNS points.
SCALE_INPUTS = {
    "aws:eks/nodeGroup:NodeGroup": {"scalingConfig"},
    "gcp:container/nodePool:NodePool": {"autoscaling", "initialNodeCount"},
    "kubernetes:helm.sh/v4:Chart": {"values"},
    # A Karpenter NodePool's GPU limit follows the drill's replicas; the rest of its spec may not change.
    "kubernetes:karpenter.sh/v1:NodePool": {"spec.limits"},
}
DNS_TYPES = ("aws:route53/record:Record", "aws:route53/healthCheck:HealthCheck")
CHART = "kubernetes:helm.sh/v4:Chart"


# A release may only change its replica count in a drill (fixed, or its scaler's bounds), and the rollout strategy
# that follows from it (serving.rollout: a second replica lets an update replace one at a time). A scaler may appear
# or go whole where the drill's capacity turns min = max into a range or a range into min = max.
SCALE_VALUES = {"replicaCount", "strategy"}
SCALER_BOUNDS = {"enabled", "minReplicas", "maxReplicas"}


def _values_beyond_replicas(before: dict, after: dict) -> bool:
    old, new = before.get("values") or {}, after.get("values") or {}
    strip = lambda values: {k: v for k, v in values.items() if k not in SCALE_VALUES | {"autoscaling"}}  # noqa: E731
    scaler = lambda values: {k: v for k, v in (values.get("autoscaling") or {}).items()  # noqa: E731
                             if k not in SCALER_BOUNDS}
    both = (old.get("autoscaling") or {}).get("enabled") and (new.get("autoscaling") or {}).get("enabled")
    return strip(old) != strip(new) or bool(both and scaler(old) != scaler(new))


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class DrillReport:
    stack: str
    down: str
    survivors: tuple[str, ...]
    deleted: dict[str, list[str]] = field(default_factory=dict)    # cloud → URNs
    retained: list[str] = field(default_factory=list)              # protected URNs kept
    changed: dict[str, list[str]] = field(default_factory=dict)    # cloud → "URN: inputs"
    checks: list[Check] = field(default_factory=list)
    released: list[str] = field(default_factory=list)              # URNs the release phase deletes
    blockers: list[Blocker] = field(default_factory=list)          # deletes a real cloud would refuse
    data: list[DataFate] = field(default_factory=list)             # what holds data: kept or lost
    capacity: list[ClusterCapacity] = field(default_factory=list)  # per survivor: before → during
    dns: str = ""                                                   # where DNS lives during the drill, and why

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "down": self.down, "survivors": list(self.survivors), "ok": self.ok,
                "deleted": self.deleted, "retained": self.retained, "changed": self.changed,
                "released": self.released,
                "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
                "blockers": [{"urn": b.urn, "problem": b.problem, "fix": b.fix, "source": b.source}
                             for b in self.blockers],
                "data": [{"urn": d.urn, "holds": d.holds, "kept": d.kept, "note": d.note} for d in self.data],
                "capacity": [c.to_dict() for c in self.capacity], "dns": self.dns}


def offline_drill(stack: str, down: str, project: Path | None = None, policy: Path | None = None,
                  normal: Plan | None = None) -> tuple[DrillReport | None, Plan]:
    """Plan normal, the release phase and the teardown. Returns (None, the failing plan) when the drill itself is
    refused (plan errors or reality rules)."""
    kwargs = {"project": project} if project else {}
    normal = normal or plan_stack(stack, policy=policy, **kwargs)
    release = plan_stack(stack, policy=policy, drill=down, phase="release", **kwargs)
    drill = plan_stack(stack, policy=policy, drill=down, **kwargs)
    failed = next((p for p in (normal, release, drill) if not p.ok), None)
    if failed is not None:
        return None, failed
    return compare(normal, release, drill, down), drill


def compare(normal: Plan, release: Plan, drill: Plan, down: str) -> DrillReport:
    before = {r.urn: r for r in normal.resources}
    during = {r.urn: r for r in release.resources}
    after = {r.urn: r for r in drill.resources}
    survivors = tuple(c.cloud for c in normal.spec.clouds if c.cloud != down)
    report = DrillReport(normal.stack, down, survivors)
    for urn, resource in sorted(before.items()):
        cloud = cloud_of(resource, normal)
        if urn not in after:
            report.deleted.setdefault(cloud, []).append(urn)
        elif resource.inputs != after[urn].inputs:
            keys = sorted(k for k in set(resource.inputs) | set(after[urn].inputs)
                          if resource.inputs.get(k) != after[urn].inputs.get(k))
            report.changed.setdefault(cloud, []).append(f"{urn}: {', '.join(keys)}")
    report.retained = sorted(u for u, r in before.items() if r.options.get("protect") and u in after)
    report.released = sorted(u for u in before if u not in during)
    # Each phase deletes from the state before it: the release from the normal plan, the teardown from the release's.
    removed = [before[u] for u in report.released] + [r for u, r in during.items() if u not in after]
    report.blockers = blockers(before[u] for u in report.released) + blockers(
        r for u, r in during.items() if u not in after)
    report.data = data_fates(removed, [r for u, r in before.items() if u in after and r.options.get("retainOnDelete")
                                       and cloud_of(r, normal) == down])
    report.capacity = capacity_changes(normal.decisions, drill.decisions)
    report.dns = dns_location(normal, down)
    report.checks = [
        _survivors_untouched(before, after, survivors, normal),
        _survivors_untouched(before, during, survivors, normal, "release-touches-only-scale"),
        _protected_retained(before, after),
        _teardown_completes(report),
        _dns_survivors_only(drill, down),
        _failover_bound(drill),
        _capacity(drill),
    ]
    return report


def dns_location(normal: Plan, down: str) -> str:
    """Where the failover DNS lives while `down` is gone (decided: Route 53 in every drill, an accepted risk)."""
    if normal.decisions.failover.domain is None:
        return "no failover DNS for this region"
    if profile(down).failover_dns:
        return ("Route 53 keeps answering: the zones are global and stay in the stack (protected, retained), the "
                "downed cloud's health check and records go with it; the drill removes AWS's compute, not its DNS. "
                "Accepted risk: an AWS account cut off entirely takes the failover names with it (README, "
                "Cross-cloud failover)")
    return "Route 53 answers, now with the survivors only"


def _teardown_completes(report: DrillReport) -> Check:
    if not report.blockers:
        return Check("teardown-completes", True, f"{len(report.released)} released first, then "
                     f"{sum(len(u) for u in report.deleted.values()) - len(report.released)} deleted; "
                     "no delete a real cloud refuses")
    return Check("teardown-completes", False, "; ".join(f"{b.urn.rsplit('::', 1)[-1]} {b.problem}"
                                                        for b in report.blockers))


def cloud_of(resource: RegisteredResource, plan: Plan) -> str:
    """The cloud a resource belongs to: every per-cloud resource is named `<region>-<cloud>[-…]`."""
    for cloud in (c.cloud for c in plan.spec.clouds):
        prefix = f"{plan.spec.name}-{cloud}"
        if resource.name == prefix or resource.name.startswith(prefix + "-"):
            return cloud
    return "region"


def _changed(before: dict, after: dict, allowed: set[str]) -> set[str]:
    """The inputs that differ, as `key`, or `key.sub` where `allowed` names a sub-key of that input (the rest of
    it then must not differ)."""
    changed = set()
    for key in set(before) | set(after):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        subs = {a.split(".", 1)[1] for a in allowed if a.startswith(f"{key}.")}
        if subs and isinstance(old, dict) and isinstance(new, dict):
            changed |= {f"{key}.{sub}" for sub in subs if old.get(sub) != new.get(sub)}
            if {k: v for k, v in old.items() if k not in subs} != {k: v for k, v in new.items() if k not in subs}:
                changed.add(key)
        else:
            changed.add(key)
    return changed


def _survivors_untouched(before, after, survivors, normal: Plan,
                         name: str = "survivors-untouched") -> Check:
    problems = [u for u, r in before.items() if u not in after and cloud_of(r, normal) in survivors]
    for urn, resource in before.items():
        if urn not in after or cloud_of(resource, normal) not in survivors:
            continue
        allowed = SCALE_INPUTS.get(resource.type, set()) if resource.type not in DNS_TYPES else None
        diff = _changed(resource.inputs, after[urn].inputs, allowed or set())
        if resource.type == CHART and _values_beyond_replicas(resource.inputs, after[urn].inputs):
            diff.add("values (beyond replicaCount)")
        if diff and allowed is not None and not diff <= allowed:
            problems.append(f"{urn}: {', '.join(sorted(diff - allowed))}")
    return Check(name, not problems,
                 "only scale and DNS change on " + ", ".join(survivors) if not problems else "; ".join(problems))


def _protected_retained(before, after) -> Check:
    lost = sorted(u for u, r in before.items() if r.options.get("protect") and u not in after)
    kept = sum(1 for r in before.values() if r.options.get("protect"))
    return Check("protected-retained", not lost, f"{kept} protected resource(s) kept" if not lost
                 else "would delete protected: " + ", ".join(lost))


def _dns_survivors_only(drill: Plan, down: str) -> Check:
    failover = drill.decisions.failover
    records = [r for r in drill.resources if r.type == "aws:route53/record:Record"
               and r.inputs.get("failoverRoutingPolicies")]
    wrong = [r.urn for r in records if r.inputs.get("setIdentifier") == down]
    if failover.domain is None:
        return Check("dns-survivors-only", True, "no failover DNS configured for this region")
    return Check("dns-survivors-only", not wrong and down not in failover.targets,
                 f"{failover.regional_name} → {', '.join(failover.targets)}" if not wrong
                 else "records still point at " + down + ": " + ", ".join(wrong))


def _failover_bound(drill: Plan) -> Check:
    f = drill.decisions.failover
    return Check("failover-bound", f.worst_case_s <= FAILOVER_GOAL_S,
                 f"worst case {f.worst_case_s}s = {f.interval_s}s × {f.failure_threshold} + TTL {f.ttl_s}s "
                 f"(goal ≤ {FAILOVER_GOAL_S}s)")


def _capacity(drill: Plan) -> Check:
    floor = drill.spec.dr.min_replicas
    short = [f"{m.id} {m.replicas.min}" for m in drill.spec.models if m.replicas.min < floor]
    detail = ", ".join(f"{m.id} ×{m.replicas.min}" for m in drill.spec.models)
    return Check("capacity", not short, f"survivors serve {detail} (floor {floor})" if not short
                 else "below floor: " + ", ".join(short))
