"""`sovereign drill --stack S --down CLOUD`: prove a DR drill offline, or run it for real (--execute)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import TextIO

from ..clouds import CLOUDS
from ..domain.stackfile import display_name
from ..engine.drill import DrillReport, offline_drill
from ..engine.drill_execute import (
    PULUMI_MISSING, DrillUnavailable, PulumiAutomation, http_probe, run_drill, write_reports,
)
from .project_option import add_project_option, with_project

EXIT_FAILED = 1
EXIT_INVALID = 2


def add_parser(commands: argparse._SubParsersAction) -> None:
    drill = commands.add_parser("drill", help="tear one cloud down: offline proof, or --execute for real")
    drill.add_argument("--stack", required=True, metavar="NAME")
    drill.add_argument("--down", required=True, choices=CLOUDS, help="the cloud to tear down")
    drill.add_argument("--policy", type=Path, metavar="FILE", help="sovereignty policy (default: the project's)")
    drill.add_argument("--execute", action="store_true",
                       help="run it for real through the Pulumi Automation API (needs the Pulumi CLI, the "
                            "stack's backend and cloud credentials)")
    drill.add_argument("--endpoint", metavar="URL", help="with --execute: URL to probe (default: the "
                       "region's failover name + the gateway's health path)")
    drill.add_argument("--timeout", type=float, default=600, help="with --execute: seconds to wait for health")
    drill.add_argument("--report", type=Path, default=Path("build/drills"), metavar="DIR")
    add_project_option(drill, "project holding Pulumi.yaml, stacks/ and policy/")
    drill.set_defaults(run=with_project(run))


def run(args: argparse.Namespace, project: Path, stdout: TextIO, stderr: TextIO) -> int:
    if args.execute and shutil.which("pulumi") is None:  # say so before minutes of offline planning
        print(f"sovereign drill --execute: {PULUMI_MISSING}", file=stderr)
        return EXIT_INVALID
    report, plan = offline_drill(args.stack, args.down, project=project, policy=args.policy)
    if report is None:
        print(f"{display_name(args.stack)}: drill refused, nothing planned:", file=stderr)
        for error in plan.errors:
            print(f"  {error}", file=stderr)
        return EXIT_INVALID
    stdout.write(render(report))
    if not report.ok or not args.execute:
        return 0 if report.ok else EXIT_FAILED
    failover = plan.decisions.failover
    endpoint = args.endpoint or (f"https://{failover.regional_name}/health/liveliness"
                                 if failover.regional_name else None)
    if endpoint is None:
        print("no endpoint to probe: set sovereign:dr.domain or pass --endpoint", file=stderr)
        return EXIT_INVALID
    try:
        automation = PulumiAutomation(args.stack, project)
    except DrillUnavailable as exc:
        print(f"sovereign drill --execute: {exc}", file=stderr)
        return EXIT_INVALID
    timeline = run_drill(args.stack, args.down, endpoint, automation, http_probe, timeout_s=args.timeout)
    paths = write_reports(timeline, args.report)
    stdout.write(timeline.to_markdown() + f"\nreports: {', '.join(map(str, paths))}\n")
    return 0 if timeline.ok else EXIT_FAILED


def render(report: DrillReport) -> str:
    lines = [f"== drill {report.stack}: {report.down} down, {', '.join(report.survivors)} serving"]
    clouds = sorted(set(report.deleted) | set(report.changed))
    for cloud in clouds:
        lines.append(f"   {cloud}: {len(report.deleted.get(cloud, []))} deleted, "
                     f"{len(report.changed.get(cloud, []))} changed")
        lines += [f"     - {urn}" for urn in report.deleted.get(cloud, [])]
        lines += [f"     ~ {change}" for change in report.changed.get(cloud, [])]
    lines.append(f"   retained (protected): {len(report.retained)}")
    lines += [f"     = {urn}" for urn in report.retained]
    lines.append("   checks")
    lines += [f"     {'PASS' if c.ok else 'FAIL'}  {c.name:<20} {c.detail}" for c in report.checks]
    return "\n".join(lines) + "\n"
