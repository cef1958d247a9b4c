"""What `sovereign plan` prints: one screen per stack that says whether the region is ready, then details.

The readiness view answers a reviewer's questions in that order: what answers each model name, what is
still missing, is there failover (and its real bound), what each fence layer lets out, what the GPU
nodes cost. `--verbose` adds sizing, node pools, releases, resource types and every provider's verdict.
Lines stay within WIDTH columns.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from typing import Sequence

from ..diff.compare import gpu_cost
from ..domain.decisions import RegionDecisions
from ..domain.egress import declared_host_reasons, platform_host_reasons
from ..domain.elastic import QUEUE_METRIC, QUEUE_TARGET, ModelScaling
from ..domain.gateway import GatewayConfig
from ..domain.images import IMAGES, ClusterImages
from ..domain.serving import release_name
from ..domain.spec import GATEWAY_KEY
from ..domain.stackfile import display_name
from ..engine.run import Plan

WIDTH = 100
LABEL = 17   # "   " + the label column
NAME = 30    # the model-name column, wider names push their answer to the next line


def readiness(plan: Plan) -> str:
    decided = plan.decisions
    spec = decided.spec
    j = spec.jurisdiction
    lines = [f"== {plan.stack} ({display_name(plan.stack)})"]
    _field(lines, "jurisdiction", ", ".join(j.countries) + (" (from the cloud regions)" if j.derived
                                                            else f" (overridden: {j.reason})"))
    _field(lines, "clusters", " · ".join(f"{c.cloud} {c.plan.cloud.region.name}" for c in decided.clusters)
           + (f" (drill: {spec.drill} torn down)" if spec.drill else ""))
    lines.append(f"   {'model names':<{LABEL - 4}} (who answers each name sent to the gateway; [cloud] where "
                 "clusters differ)")
    by_name: dict[str, dict[str, str]] = {}
    for c in decided.clusters:
        for name, answer in _answers(decided, c.gateway):
            by_name.setdefault(name, {})[c.cloud] = answer
    for name, answers in by_name.items():
        shown = [answers.popitem()[1]] if len(set(answers.values())) == 1 else [
            f"[{cloud}] {answer}" for cloud, answer in answers.items()]
        if len(name) > NAME:
            lines.append(f"     {name}")
            name = ""
        for answer in shown:
            lines += _wrap(answer, f"     {name:<{NAME}} ", 6 + NAME)
            name = ""
    _field(lines, "context", _context(decided))
    missing = _missing(decided)
    _field(lines, "missing", f"keys: {', '.join(missing)}" if missing else "nothing")
    for key in missing:  # each as the command that sets it (it prompts for the value: none in shell history)
        lines.append(f"     pulumi config set -s {plan.stack} --secret --path 'sovereign:apiKeys.{key.split(' ')[0]}'")
    _field(lines, "failover", _failover(decided))
    for c in decided.clusters:
        fence = c.fence
        _field(lines, f"fence {c.cloud}", f"gateway → {_hosts(fence.gateway)}; model servers → "
               f"{len(fence.serving)} platform hosts; network (every pod and node) blocks {len(fence.denied)} "
               f"name(s) of {', '.join(sorted(decided.egress.denied_by_provider)) or 'no denied provider'}, "
               f"allows {len(fence.allowed)} ({len(fence.allowed) - len(fence.gateway)} declared for the cloud: "
               "--verbose), blocks every other name")
    _field(lines, "capacity", _capacity(decided))
    lines.append(f"   {'scaling':<{LABEL - 4}} (per cluster and model: replicas, nodes, $/h at min–max, "
                 "new replica's cold start)")
    for c in decided.clusters:
        elastic = c.profile.elastic
        lines += _wrap(f"KEDA scales on {QUEUE_METRIC} > {QUEUE_TARGET} per replica from {elastic.metrics_pipeline}; "
                       f"{elastic.node_autoscaler} adds GPU nodes", f"     {c.cloud:<4} ", 10)
        for s in c.scaling:
            lines += _wrap(_scaling(s), f"       {s.model:<{NAME}} ", 8 + NAME)
    _field(lines, "cost", _cost(decided))
    _field(lines, "disruption", _disruption(decided))
    for c in decided.clusters:
        _field(lines, f"images {c.cloud}", _images(c.images))
    _field(lines, "resources", f"{len(plan.resources)} registered (--verbose: sizing, pools, releases, types)")
    return "\n".join(lines) + "\n\n"


def details(plan: Plan) -> str:
    """The verbose part: sizing, node pools, releases, resource types, every provider's verdict."""
    decided, spec = plan.decisions, plan.spec
    lines = ["   sizing        (per cloud: GPU × TP per replica on machine type; per-GPU need / budget)"]
    for f in decided.fits:
        lines.append(f"     {f.cloud:<4} {f.model:<30} {f.tensor_parallel} × {f.gpu} on {f.machine_type}: "
                     f"{f.need_per_gpu_gib:.1f} / {f.budget_per_gpu_gib:.1f} GiB, ${f.usd_per_replica_hour:.2f}/replica-h")
    lines.append("   node pools")
    for c in decided.clusters:
        for p in c.plan.gpu_pools:
            lines.append(f"     {c.cloud:<4} {p.name:<14} {p.machine_type:<16} nodes {p.min_nodes}-{p.max_nodes}"
                         f"{' spot' if p.spot else ''}, {p.disk_gib} GiB disk, {', '.join(p.zones)}  "
                         f"({', '.join(p.models)})")
    lines.append("   releases      (charts/model-server in namespace sovereign-serving, per cluster)")
    for f in decided.fits:
        model = next(m for m in spec.models if m.id == f.model)
        lines.append(f"     {f.cloud:<4} {release_name(f.model):<32} {f.tensor_parallel} GPU/replica × "
                     f"{model.replicas.min}-{model.replicas.max} replicas on {f.gpu}")
    lines.append("   egress        (per cloud and layer: the hosts each fence layer renders, as the plan registered them, "
                 "in the order the layer evaluates them)")
    for cloud, layers in sorted((plan.outputs.get("egress") or {}).items()):
        for layer, hosts in sorted(layers.items()):
            for verb, listed in hosts.items():
                if listed:
                    lines += _wrap(", ".join(listed), f"     {cloud:<4} {layer:<8} {verb:<8} ", 28)
    lines.append("   declared      (hosts allowed for the cloud, not for a managed API, and why)")
    for c in decided.clusters:
        serving = platform_host_reasons(c.plan.cloud)
        for host, why in declared_host_reasons(c.plan.cloud).items():
            who = "serving" if host in serving else "nodes"
            lines += _wrap(f"{host}: {why}", f"     {c.cloud:<4} {who:<8} ", 19)
    lines.append("   resources by type")
    lines += [f"     {n:>4} × {t}" for t, n in sorted(Counter(r.type for r in plan.resources).items())]
    lines.append("   managed APIs  (requested first; rule that decided; hosts reached or reason)")
    for v in sorted(plan.verdicts, key=lambda v: (not v.requested, v.provider)):
        state = ("ALLOW" if v.allowed else "DENY") + ("" if v.requested else " (not requested)")
        detail = ", ".join(v.hosts) if v.reachable else ("" if v.allowed else v.decided_by[0].reason)
        if v.residency:
            detail += f"  [residency {v.residency}]"
        lines += _wrap(f"{v.provider:<18} {state:<22} {', '.join(v.rule_ids)}  {detail}", "     ", 9)
    return "\n".join(lines) + "\n\n"


def _images(images: ClusterImages) -> str:
    """How a cluster's pods name their images: by digest, or by tag and why."""
    by_digest = [i for i, ref in images.refs.items() if ref.digest]
    by_tag = [i for i, ref in images.refs.items() if not ref.digest]
    through_cache = [i for i in by_tag if images.refs[i].image.digest]   # recorded, but the mirror serves tags only
    parts = [f"by digest: {', '.join(by_digest)}"] if by_digest else []
    if through_cache:
        parts.append(f"by tag through a pull-through cache that serves first pulls by tag only: "
                     f"{', '.join(through_cache)}")
    if unrecorded := [i for i in by_tag if i not in through_cache]:
        parts.append(f"by tag, no digest recorded: {', '.join(unrecorded)}")
    return "; ".join(parts)


def image_pins() -> str:
    """Which workload images have a recorded digest, on what evidence, and which have none."""
    by_kind: dict[str, list[str]] = {}
    for image_id, image in IMAGES.items():
        by_kind.setdefault("none" if image.digest is None else image.evidence, []).append(image_id)
    lines = [f"digests  read from the registries: {', '.join(by_kind['registry'])}"] if "registry" in by_kind else []
    if "public-records" in by_kind:
        lines.append(f"digests  from public records: {', '.join(by_kind['public-records'])} "
                     "(`sovereign images --check` confirms)")
    if "none" in by_kind:
        lines.append(f"digests  NONE RECORDED: {', '.join(by_kind['none'])} (`sovereign images --record`)")
    return "\n".join(lines) + "\n"


def egress_grid(plans: Sequence[Plan]) -> str:
    """Stack × provider, one row per stack so it stays narrow however many stacks there are."""
    providers = [v.provider for v in plans[0].verdicts]
    width = max(len(p.stack) for p in plans)
    codes = {p: f"p{i + 1}" for i, p in enumerate(providers)}
    lines = ["== egress per stack (+ allowed, - denied, ! requested by the stack)"]
    lines += _wrap(", ".join(f"{codes[p]} {p}" for p in providers), "   providers: ", 5)
    lines.append(f"   {'stack':<{width}}  " + " ".join(f"{codes[p]:>3}" for p in providers))
    for plan in plans:
        verdicts = {v.provider: v for v in plan.verdicts}
        cells = [("+" if verdicts[p].allowed else "-") + ("!" if verdicts[p].requested else " ") for p in providers]
        lines.append(f"   {plan.stack:<{width}}  " + " ".join(f"{c:>3}" for c in cells))
    return "\n".join(lines) + "\n\n"


def _scaling(s: ModelScaling) -> str:
    low, high = s.replicas
    how = f"{low}–{high} replicas" if s.scaler else f"{low} replica(s), fixed (replicas.max = min)"
    if s.scaler and low == 0:
        how += " (to zero when idle: the gateway's requests wake it, answered with errors until it has loaded)"
    machines = s.machine_types[0] + (f" (without capacity: {', '.join(s.machine_types[1:])})"
                                     if len(s.machine_types) > 1 else "")
    start = s.cold_start
    return (f"{how}; nodes {s.nodes[0]}–{s.nodes[1]} {machines}; ${s.usd_per_hour[0]:,.2f}–{s.usd_per_hour[1]:,.2f}/h; "
            f"cold start {_duration(start.total_s)} (image {start.image_s:.0f} s, weights {start.weights_s:.0f} s, "
            f"engine {start.engine_s:.0f} s; modelled)")


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _capacity(decided: RegionDecisions) -> str:
    """How each GPU pool's nodes are bought, and the pools of scarce machine families without a reservation."""
    parts = []
    for c in decided.clusters:
        for p in c.plan.gpu_pools:
            part = f"{c.cloud} {p.machine_type} × {p.min_nodes}-{p.max_nodes} {p.capacity}"
            if p.needs_reservation:
                part += (f" (rarely available on demand: reserve {p.min_nodes}, or {p.max_nodes} to scale, in one of "
                         f"{', '.join(p.zones)}"
                         + (f" and set sovereign:clouds.{c.cloud}.capacityReservations"
                            if "capacityReservations" in c.profile.optional_keys else "") + ")")
            parts.append(part)
    return "; ".join(parts)


def _cost(decided: RegionDecisions) -> str:
    def of(clusters) -> dict[str, float]:
        return gpu_cost({"clusters": [c.plan.to_dict() for c in clusters], "sizing": [f.to_dict() for f in decided.fits]})
    total = of(decided.clusters)
    per_cloud = "; ".join(f"{c.cloud} ${cost['min']:,.2f}–{cost['max']:,.2f}"
                          for c, cost in ((c, of([c])) for c in decided.clusters))
    return (f"${total['min']:,.2f}/h at min replicas, ${total['max']:,.2f}/h at max"
            + (f" ({per_cloud})" if len(decided.clusters) > 1 else "")
            + ": GPU nodes at reference-region list prices (system nodes, load balancers, NAT and storage not included)")


def _disruption(decided: RegionDecisions) -> str:
    """What an update of a model and a node upgrade take down: the rollout the pool's spare GPUs allow
    (serving.rollout), and single replicas, which a drain evicts with nothing else serving."""
    modes: dict[str, list[str]] = {}
    for c in decided.clusters:
        for release in c.releases:
            strategy = release.values["strategy"]
            mode = ("surge" if strategy.get("maxSurge") else "one at a time" if strategy["type"] == "RollingUpdate"
                    else "Recreate")
            modes.setdefault(mode, []).append(f"{release.model} ({c.cloud})")
    parts = [f"updates {mode}: {', '.join(models)}" for mode, models in modes.items() if mode != "surge"]
    single = sorted({m.id for m in decided.spec.models if m.replicas.min == 1})
    if single:
        parts.append(f"1 replica, down while its node drains for an upgrade: {', '.join(single)} (raise replicas.min "
                     "to 2 to serve through both)")
    window = decided.spec.maintenance
    for c in (c for c in decided.clusters if c.profile.upgrades_in_window):
        parts.append(f"{c.profile.kubernetes} upgrades nodes by surge only {','.join(window.days)} {window.start_hour:02d}:00 UTC for "
                     f"{window.hours} h (sovereign:maintenance)")
    return "; ".join(parts) or "none: updates surge onto spare GPUs and every model keeps a replica through a drain"


def _field(lines: list[str], label: str, text: str) -> None:
    lines += _wrap(text, f"   {label:<{LABEL - 4}} ", LABEL)


def _wrap(text: str, first: str, indent: int) -> list[str]:
    """Wrapped at spaces only: host names and rule ids stay whole."""
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=" " * indent,
                         break_on_hyphens=False, break_long_words=False) or [first.rstrip()]


def _answers(decided: RegionDecisions, gateway: GatewayConfig) -> list[tuple[str, str]]:
    """Each model name one cluster's gateway takes, and who answers it there."""
    verdicts = {v.provider: v for v in decided.verdicts}
    served = {m.id: m.model for m in decided.spec.models}
    answers = [(r.model_name, "open weights, served in every cluster") for r in gateway.routes if r.open_weight]
    for request in decided.spec.managed_apis:
        verdict = verdicts[request.provider]
        for model in request.models:
            routed = [r for r in gateway.routes if r.model_name == model.name and r.provider == request.provider]
            if routed:
                answer = f"{request.provider} via {routed[0].host}" + (
                    " as the gateway's workload identity" if request.provider in gateway.identity else "") + \
                    f"; falls back to {model.fallback}"
                dropped = sorted(k for k in verdict.request_params if k not in routed[0].params)
                if dropped:
                    answer += f" (no {', '.join(dropped)}: the model does not take it)"
            elif not verdict.allowed:
                answer = f"{model.fallback} (open weights): {request.provider} denied by {verdict.rule_ids[0]}"
            elif request.provider not in decided.spec.api_keys:
                answer = f"{model.fallback} (open weights) until sovereign:apiKeys.{request.provider} is set"
            else:
                answer = f"{model.fallback} (open weights): {request.provider} has no host here"
            if not served[model.fallback].tool_call_parser:
                answer += f"; requests with tools refused when {model.fallback} answers (it takes none)"
            answers.append((model.name, answer))
    return answers


def _context(decided: RegionDecisions) -> str:
    """What each open-weight model takes (prompt + output tokens), where a longer request goes, and that a longer
    one is refused: a managed model's wider context is lost whenever open weights answer in its place."""
    fallbacks = decided.clusters[0].gateway.context_fallbacks if decided.clusters else {}
    parts = [f"{m.id} {m.context_length}" + (f" → {fallbacks[m.id][0]}" if m.id in fallbacks else "")
             for m in sorted(decided.spec.models, key=lambda m: (m.context_length, m.id))]
    longest = max(decided.spec.models, key=lambda m: m.context_length)
    return (f"tokens per request: {'; '.join(parts)}; over {longest.context_length} refused (sovereign:models[]"
            ".contextLength), also for managed models answered by open weights")


def _missing(decided: RegionDecisions) -> list[str]:
    """sovereign:apiKeys entries still to set: the gateway's own (its pods wait for it), and the allowed providers
    a cluster's gateway leaves unrouted until keyed (its own decision), with the clusters that need it when not all."""
    gateways = {c.cloud: c.gateway for c in decided.clusters}
    needed = dict.fromkeys(([] if all(g.authenticated for g in gateways.values()) else [GATEWAY_KEY])
                           + [p for g in gateways.values() for p in g.unkeyed])
    return [key if key == GATEWAY_KEY or all(key in g.unkeyed for g in gateways.values())
            else f"{key} ({', '.join(c for c, g in gateways.items() if key in g.unkeyed)})" for key in needed]


def _failover(decided: RegionDecisions) -> str:
    f = decided.failover
    if not f.domain:
        return "none: no sovereign:dr.domain, so no health-checked name moves clients between clouds"
    bound = (f"worst case {f.worst_case_s}s ({f.interval_s}s × {f.failure_threshold} checks + TTL {f.ttl_s}s)")
    if len(f.targets) < 2:
        return (f"{f.regional_name} on {f.targets[0]} only, TLS on 443: health-checked, but no other cloud to "
                "fail over to")
    return f"{f.regional_name}: {f.targets[0]} primary, {', '.join(f.targets[1:])} secondary, TLS on 443; {bound}"


def _hosts(hosts: Sequence[str], shown: int = 3) -> str:
    if not hosts:
        return "nothing"
    more = f" (+{len(hosts) - shown} more)" if len(hosts) > shown else ""
    return ", ".join(hosts[:shown]) + more
