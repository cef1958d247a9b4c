"""`sovereign plan`: every (or the named) stack planned offline under mocks, summarised or as JSON."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence, TextIO

from ..catalog import load_catalog
from ..domain.errors import InvalidInput
from ..domain.fleet import geolocation_conflicts
from ..domain.spec import RegionSpec, parse_spec
from ..domain.stackfile import display_name, list_stacks, read_stack_config
from ..engine.parallel import plan_stacks
from ..engine.run import Plan
from ..engine.snapshot import dumps, snapshot
from ..project import load_project_policy
from .project_option import add_project_option, with_project
from .readiness import details, egress_grid, image_pins, readiness

EXIT_INVALID = 2


def add_parser(commands: argparse._SubParsersAction) -> None:
    plan = commands.add_parser("plan", help="plan stacks offline under Pulumi mocks")
    plan.add_argument("--stack", action="append", default=[], metavar="NAME",
                      help="stack to plan (repeatable); default: every stacks/Pulumi.*.yaml")
    plan.add_argument("--out", type=Path, metavar="DIR", help="write DIR/<stack>.json snapshots")
    plan.add_argument("--json", action="store_true", help="print the snapshots as JSON instead of a summary")
    plan.add_argument("--verbose", "-v", action="store_true",
                      help="after each stack's readiness: sizing, node pools, releases, resource types, every verdict")
    plan.add_argument("--policy", type=Path, metavar="FILE",
                      help="sovereignty policy (default: <project>/policy/sovereignty.yaml)")
    add_project_option(plan, "project holding Pulumi.yaml, stacks/ and policy/")
    plan.set_defaults(run=with_project(lambda args, project, stdout, stderr: run_plan(
        args.stack, args.out, args.json, args.policy, project, stdout, stderr, args.verbose)))


def run_plan(stacks: Sequence[str], out: Path | None, as_json: bool, policy: Path | None, project: Path,
             stdout: TextIO, stderr: TextIO, verbose: bool = False) -> int:
    try:
        parsed = load_project_policy(project, policy)  # a broken policy fails every stack alike: report it once
    except InvalidInput as exc:
        print(f"invalid sovereignty policy, no stack planned:\n{exc}", file=stderr)
        return EXIT_INVALID
    names = list(dict.fromkeys(stacks)) or list(list_stacks(project))
    # Across every stack of the project, planned now or not: one global zone, one stack per location.
    conflicts = [e for e in geolocation_conflicts(_valid_specs(project)) if e.file in {display_name(n) for n in names}]
    if conflicts:
        print("stacks that would collide in the global zone, nothing planned:", file=stderr)
        for error in conflicts:
            print(f"  {error}", file=stderr)
        return EXIT_INVALID
    # One worker process per core; each writes the snapshots of the stacks it planned.
    finished = iter(range(1, len(names) + 1))

    def progress(plan: Plan) -> None:  # planning takes seconds per stack: say which are done
        print(f"planned {plan.stack} ({next(finished)}/{len(names)}){'' if plan.ok else ': invalid' if plan.errors else ': fails reality rules'}", file=stderr,
              flush=True)
    plans = plan_stacks(names, project=project, policy=parsed, out=out, progress=progress)
    for p in plans:
        if not p.ok:
            if p.errors:
                print(f"{display_name(p.stack)}: invalid, nothing planned:", file=stderr)
            else:
                print(f"{display_name(p.stack)}: a real `pulumi up` would fail (reality rules):", file=stderr)
            for problem in (*p.errors, *p.violations):
                print(f"  {problem}", file=stderr)
            if out is not None:  # a snapshot from an earlier valid run would read as this run's plan
                (out / f"{p.stack}.json").unlink(missing_ok=True)
    if as_json:
        stdout.write(dumps({"stacks": [snapshot(p) for p in plans if p.ok],
                            "invalid": {p.stack: [str(e) for e in p.errors] for p in plans if not p.ok}}))
    else:
        for p in plans:
            if p.ok:
                stdout.write(readiness(p) + (details(p) if verbose else ""))
        if sum(p.ok for p in plans) > 1:
            stdout.write(egress_grid([p for p in plans if p.ok]))
        valid = sum(p.ok for p in plans)
        if valid:   # about what the planned stacks pull
            stdout.write(image_pins())
        stdout.write(f"{valid} of {len(plans)} stack(s) planned" + (f"; snapshots in {out}/" if out else "") + "\n")
    return 0 if all(p.ok for p in plans) else EXIT_INVALID


def _valid_specs(project: Path) -> list[RegionSpec]:
    """Every stack's spec that parses (an invalid stack reports itself when planned)."""
    catalog, specs = load_catalog(), []
    for stack in list_stacks(project):
        try:
            config, _ = read_stack_config(project, stack)
            specs.append(parse_spec(config, stack, display_name(stack), catalog))
        except InvalidInput:
            continue
    return specs
