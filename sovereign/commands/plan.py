"""`sovereign plan`: every (or the named) stack planned offline under mocks, summarised or as JSON."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Sequence, TextIO

from ..domain.errors import InvalidInput
from ..domain.serving import release_name
from ..domain.stackfile import display_name, list_stacks
from ..engine.parallel import plan_stacks
from ..engine.run import Plan
from ..engine.snapshot import dumps, snapshot
from ..project import load_project_policy
from .project_option import add_project_option, with_project

EXIT_INVALID = 2


def add_parser(commands: argparse._SubParsersAction) -> None:
    plan = commands.add_parser("plan", help="plan stacks offline under Pulumi mocks")
    plan.add_argument("--stack", action="append", default=[], metavar="NAME",
                      help="stack to plan (repeatable); default: every stacks/Pulumi.*.yaml")
    plan.add_argument("--out", type=Path, metavar="DIR", help="write DIR/<stack>.json snapshots")
    plan.add_argument("--json", action="store_true", help="print the snapshots as JSON instead of a summary")
    plan.add_argument("--policy", type=Path, metavar="FILE",
                      help="sovereignty policy (default: <project>/policy/sovereignty.yaml)")
    add_project_option(plan, "project holding Pulumi.yaml, stacks/ and policy/")
    plan.set_defaults(run=with_project(lambda args, project, stdout, stderr: run_plan(
        args.stack, args.out, args.json, args.policy, project, stdout, stderr)))


def run_plan(stacks: Sequence[str], out: Path | None, as_json: bool, policy: Path | None, project: Path,
             stdout: TextIO, stderr: TextIO) -> int:
    try:
        parsed = load_project_policy(project, policy)  # a broken policy fails every stack alike: report it once
    except InvalidInput as exc:
        print(f"invalid sovereignty policy, no stack planned:\n{exc}", file=stderr)
        return EXIT_INVALID
    names = list(dict.fromkeys(stacks)) or list(list_stacks(project))
    # One worker process per core; each writes the snapshots of the stacks it planned.
    plans = plan_stacks(names, project=project, policy=parsed, out=out)
    for p in plans:
        if not p.ok:
            print(f"{display_name(p.stack)}: invalid, nothing planned:", file=stderr)
            for error in p.errors:
                print(f"  {error}", file=stderr)
            if out is not None:  # a snapshot from an earlier valid run would read as this run's plan
                (out / f"{p.stack}.json").unlink(missing_ok=True)
    if as_json:
        stdout.write(dumps({"stacks": [snapshot(p) for p in plans if p.ok],
                            "invalid": {p.stack: [str(e) for e in p.errors] for p in plans if not p.ok}}))
    else:
        for p in plans:
            if p.ok:
                stdout.write(summary(p))
        if sum(p.ok for p in plans) > 1:
            stdout.write(verdict_matrix([p for p in plans if p.ok]))
        valid = sum(p.ok for p in plans)
        stdout.write(f"{valid} of {len(plans)} stack(s) planned" + (f"; snapshots in {out}/" if out else "") + "\n")
    return 0 if all(p.ok for p in plans) else EXIT_INVALID


def summary(plan: Plan) -> str:
    spec = plan.spec
    j = spec.jurisdiction
    lines = [
        f"== {plan.stack} ({display_name(plan.stack)})",
        f"   region        {spec.name}",
        f"   jurisdiction  {', '.join(j.countries)} "
        + ("(from the cloud regions)" if j.derived else f"(overridden: {j.reason})"),
        "   clouds        " + " · ".join(f"{c.cloud} {c.region.name} ({c.region.country})" for c in spec.clouds),
        "   models        " + " · ".join(f"{m.id} ×{m.replicas.min}-{m.replicas.max}" for m in spec.models),
        f"   failover      worst case {spec.dr.worst_case_failover_s}s "
        f"({spec.dr.health_check_interval_s}s × {spec.dr.failure_threshold} + TTL {spec.dr.dns_ttl_s}s)",
        f"   resources     {len(plan.resources)}",
    ]
    lines.append("   sizing        (per cloud: GPU × TP per replica on machine type; per-GPU need / budget)")
    for f in plan.decisions.fits:
        lines.append(f"     {f.cloud:<4} {f.model:<32} {f.tensor_parallel} × {f.gpu:<18} on {f.machine_type:<16} "
                     f"{f.need_per_gpu_gib:5.1f} / {f.budget_per_gpu_gib:5.1f} GiB "
                     f"(headroom {f.headroom_gib:.1f}), ${f.usd_per_replica_hour:.2f}/replica-h")
    lines.append("   node pools")
    for c in plan.decisions.clusters:
        for p in c.plan.gpu_pools:
            lines.append(f"     {c.cloud:<4} {p.name:<14} {p.machine_type:<16} nodes {p.min_nodes}-{p.max_nodes}"
                         f"{' spot' if p.spot else ''}  ({', '.join(p.models)})")
    lines.append("   releases      (charts/model-server in namespace sovereign-serving, per cluster)")
    for f in plan.decisions.fits:
        model = next(m for m in spec.models if m.id == f.model)
        lines.append(f"     {f.cloud:<4} {release_name(f.model):<32} {f.tensor_parallel} GPU/replica × "
                     f"{model.replicas.min}-{model.replicas.max} replicas on {f.gpu}")
    counts = Counter(r.type for r in plan.resources)
    lines += [f"     {n:>4} × {t}" for t, n in sorted(counts.items())]
    lines.append("   managed APIs  (requested first; rule that decided; hosts reached or reason)")
    for v in sorted(plan.verdicts, key=lambda v: (not v.requested, v.provider)):
        state = ("ALLOW" if v.allowed else "DENY") + ("" if v.requested else " (not requested)")
        detail = ", ".join(v.hosts) if v.reachable else ("" if v.allowed else v.decided_by[0].reason)
        if v.residency:
            detail += f"  [residency {v.residency}]"
        lines.append(f"     {v.provider:<18} {state:<22} {', '.join(v.rule_ids):<26} {detail}")
    return "\n".join(lines) + "\n\n"


def verdict_matrix(plans: Sequence[Plan]) -> str:
    """Region × provider: allowed (+) or denied (-), the deciding entry; '·' marks not requested."""
    providers = [v.provider for v in plans[0].verdicts]
    cells = {(p.stack, v.provider): f"{'+' if v.allowed else '-'}{'' if v.requested else '·'} {v.rule_ids[0]}"
             for p in plans for v in p.verdicts}
    width = max(len(c) for c in cells.values())
    lines = ["== egress matrix (+ allowed, - denied, · not requested; entry that decided)",
             "   " + f"{'provider':<18} " + " ".join(f"{p.stack:<{width}}" for p in plans)]
    lines += ["   " + f"{provider:<18} " + " ".join(f"{cells[(p.stack, provider)]:<{width}}" for p in plans)
              for provider in providers]
    return "\n".join(lines) + "\n\n"
