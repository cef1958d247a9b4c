"""`sovereign drill --stack S --down CLOUD`: prove a DR drill offline, or run it for real (--execute)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import TextIO

from ..clouds import CLOUDS
from ..domain.gateway import LIVENESS_PATH
from ..domain.stackfile import display_name
from ..engine.drill import DrillReport, offline_drill
from ..engine.drill_execute import (
    PULUMI_MISSING, DrillUnavailable, Limits, PulumiAutomation, http_probe, run_drill, write_reports,
)
from .project_option import add_project_option, with_project

EXIT_FAILED = 1
EXIT_INVALID = 2


def add_parser(commands: argparse._SubParsersAction) -> None:
    drill = commands.add_parser(
        "drill", help="tear one cloud down: offline proof and operator report, or --execute for real")
    drill.add_argument("--stack", required=True, metavar="NAME", help="the stack (stacks/Pulumi.<NAME>.yaml)")
    drill.add_argument("--down", required=True, choices=CLOUDS, help="the cloud to tear down")
    drill.add_argument("--policy", type=Path, metavar="FILE", help="sovereignty policy (default: the project's)")
    output = drill.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the report as JSON (for machines)")
    output.add_argument("--markdown", action="store_true", help="print the report as Markdown (for the drill's ticket)")
    drill.add_argument("--execute", action="store_true",
                       help="run it for real through the Pulumi Automation API, phase by phase (needs the Pulumi CLI, "
                            "the stack's backend and cloud credentials)")
    drill.add_argument("--endpoint", metavar="URL", help="with --execute: URL to probe (default: the "
                       "region's failover name + the gateway's health path)")
    defaults = Limits()
    for flag, attribute, what in (("--release-timeout", "release_s", "the release phase's update"),
                                  ("--teardown-timeout", "teardown_s", "the teardown phase's update"),
                                  ("--restore-timeout", "restore_s", "the restoring update"),
                                  ("--probe-timeout", "probe_s", "the endpoint to answer after each phase")):
        drill.add_argument(flag, type=float, default=getattr(defaults, attribute), metavar="SECONDS",
                           help=f"with --execute: seconds allowed for {what} (default {getattr(defaults, attribute):.0f})")
    drill.add_argument("--report", type=Path, default=Path("build/drills"), metavar="DIR",
                       help="with --execute: where the timeline's JSON and Markdown go (default build/drills)")
    add_project_option(drill, "project holding Pulumi.yaml, stacks/ and policy/")
    drill.set_defaults(run=with_project(run))


def run(args: argparse.Namespace, project: Path, stdout: TextIO, stderr: TextIO) -> int:
    if args.execute and shutil.which("pulumi") is None:  # say so before minutes of offline planning
        print(f"sovereign drill --execute: {PULUMI_MISSING}", file=stderr)
        return EXIT_INVALID
    report, plan = offline_drill(args.stack, args.down, project=project, policy=args.policy)
    if report is None:
        print(f"{display_name(args.stack)}: drill refused, nothing planned:", file=stderr)
        for problem in (*plan.errors, *plan.violations):
            print(f"  {problem}", file=stderr)
        return EXIT_INVALID
    stdout.write(json.dumps(report.to_dict(), indent=2) + "\n" if args.json
                 else markdown(report) if args.markdown else render(report))
    if not report.ok or not args.execute:
        return 0 if report.ok else EXIT_FAILED
    failover = plan.decisions.failover
    endpoint = args.endpoint or (f"https://{failover.regional_name}{LIVENESS_PATH}"
                                 if failover.regional_name else None)
    if endpoint is None:
        print("no endpoint to probe: set sovereign:dr.domain or pass --endpoint", file=stderr)
        return EXIT_INVALID
    try:
        automation = PulumiAutomation(args.stack, project)
    except DrillUnavailable as exc:
        print(f"sovereign drill --execute: {exc}", file=stderr)
        return EXIT_INVALID
    limits = Limits(args.release_timeout, args.teardown_timeout, args.restore_timeout, args.probe_timeout)
    timeline = run_drill(args.stack, args.down, endpoint, automation, http_probe, limits=limits)
    paths = write_reports(timeline, args.report)
    if args.json:  # one JSON document on stdout: the offline report and the real drill's timeline
        print(f"reports: {', '.join(map(str, paths))}", file=stderr)
        stdout.write(json.dumps({"timeline": timeline.to_dict()}, indent=2) + "\n")
    else:
        stdout.write(timeline.to_markdown() + f"\nreports: {', '.join(map(str, paths))}\n")
    return 0 if timeline.ok else EXIT_FAILED


def _minutes(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _capacity_lines(report: DrillReport) -> list[str]:
    lines = []
    for c in report.capacity:
        lines.append(f"{c.cloud}: replicas {c.replicas[0]} → {c.replicas[1]}, GPU nodes {c.nodes[0]} → {c.nodes[1]}, "
                     f"GPUs {c.gpus[0]} → {c.gpus[1]}, ${c.usd_per_hour[0]:,.2f} → ${c.usd_per_hour[1]:,.2f}/h; "
                     f"drill capacity after {_minutes(c.capacity_s)} (new GPU node {c.node_s} s + cold start "
                     f"{c.cold_start_s:.0f} s, modelled); recovery {_minutes(c.recovery_s)} (DNS {c.detection_s} s + "
                     "capacity, from the drill's release or a real outage's scale-up)")
    return lines


def _data_lines(report: DrillReport) -> list[str]:
    return [f"{'kept' if d.kept else 'LOST'}: {d.urn.rsplit('::', 1)[-1]} ({d.holds}{': ' + d.note if d.note else ''})"
            for d in report.data]


def render(report: DrillReport) -> str:
    lines = [f"== drill {report.stack}: {report.down} down, {', '.join(report.survivors)} serving"]
    lines.append(f"   release phase: {len(report.released)} deleted first (protections lifted beside it)")
    lines += [f"     - {urn}" for urn in report.released]
    clouds = sorted(set(report.deleted) | set(report.changed))
    for cloud in clouds:
        lines.append(f"   {cloud}: {len(report.deleted.get(cloud, []))} deleted, "
                     f"{len(report.changed.get(cloud, []))} changed")
        lines += [f"     - {urn}" for urn in report.deleted.get(cloud, [])]
        lines += [f"     ~ {change}" for change in report.changed.get(cloud, [])]
    lines.append(f"   retained (protected): {len(report.retained)}")
    lines += [f"     = {urn}" for urn in report.retained]
    lines.append("   capacity (per survivor, before → during)")
    lines += [f"     {line}" for line in _capacity_lines(report)]
    lines.append("   data")
    lines += [f"     {line}" for line in _data_lines(report)]
    lines.append(f"   dns           {report.dns}")
    lines.append("   checks")
    lines += [f"     {'PASS' if c.ok else 'FAIL'}  {c.name:<26} {c.detail}" for c in report.checks]
    lines += [f"       {b.urn}: {b.problem}. Fix: {b.fix} ({b.source})" for b in report.blockers]
    return "\n".join(lines) + "\n"


def markdown(report: DrillReport) -> str:
    """The drill's ticket: verdict, what it costs and how long, what is lost, then every check."""
    verdict = "passes" if report.ok else "FAILS"
    out = [f"# DR drill {verdict}: {report.stack} without {report.down}", "",
           f"Survivors: {', '.join(report.survivors)}. Phases: release ({len(report.released)} resources deleted "
           f"first: what controllers made outside Pulumi; protections lifted), then teardown.", "",
           "## Capacity and cost", "", "| survivor | replicas | GPU nodes | GPUs | $/h | drill capacity after | "
           "recovery |", "| --- | --- | --- | --- | --- | --- | --- |"]
    out += [f"| {c.cloud} | {c.replicas[0]} → {c.replicas[1]} | {c.nodes[0]} → {c.nodes[1]} | {c.gpus[0]} → "
            f"{c.gpus[1]} | {c.usd_per_hour[0]:,.2f} → {c.usd_per_hour[1]:,.2f} | {_minutes(c.capacity_s)} | "
            f"{_minutes(c.recovery_s)} |" for c in report.capacity]
    out += ["", "Drill capacity = a new GPU node (where needed) + the slowest new replica's cold start, both modelled; "
            "recovery = DNS detection + TTL + drill capacity. The release phase raises the survivors' minimums and "
            "moves DNS in one update that does not wait for the new replicas: clients fail over within the DNS bound, "
            "then run on the survivors' current replicas until drill capacity. In a real outage the clock starts when "
            "someone raises the survivors (this drill's release, or KEDA up to the normal maximum).", "",
            "## Data", ""]
    out += [f"- {line}" for line in _data_lines(report)] or ["- nothing holding data is removed"]
    out += ["", "## DNS", "", report.dns, "", "## Checks", "", "| check | result | detail |", "| --- | --- | --- |"]
    out += [f"| {c.name} | {'pass' if c.ok else 'FAIL'} | {c.detail} |" for c in report.checks]
    if report.blockers:
        out += ["", "## What a real teardown would refuse", ""]
        out += [f"- `{b.urn}`: {b.problem}. Fix: {b.fix}. Source: {b.source}" for b in report.blockers]
    return "\n".join(out) + "\n"
