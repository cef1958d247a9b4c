"""`sovereign diff --base REF`: every stack planned at REF and at the working tree, compared.

For pull-request review without cloud credentials: resources to create / update / delete with their
property changes, and first of all what each region may reach (verdicts, egress hosts per layer,
gateway routes), sizing and failover. Markdown for one PR comment, or the same facts as JSON.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from ..diff.markdown import COMMENT_RESERVE, GITHUB_COMMENT_LIMIT, render
from ..diff.report import build_report
from ..diff.sides import SideError, plan_sides
from ..engine.snapshot import dumps
from .project_option import add_project_option, with_project

EXIT_CHANGES = 1  # only with --exit-code
EXIT_INVALID = 2  # a head stack is invalid or would fail `pulumi up`; the report is still written
EXIT_FAILED = 3  # no report: a side could not be planned


def add_parser(commands: argparse._SubParsersAction) -> None:
    diff = commands.add_parser(
        "diff", help="compare offline plans of a git ref and the working tree",
        description="Plan every stack at --base (a temporary git worktree, planned by its own code) and at "
                    "the working tree, and report per stack: sovereignty changes (verdicts, egress hosts per "
                    "layer, gateway routes), resources to create / update / delete with property changes, "
                    "sizing and failover. No credentials needed; no secret in the output.",
        epilog="Exit codes: 0 report written; 1 changes found (with --exit-code); 2 a stack is invalid at the "
               "head (report still written); 3 no report (bad ref, a side that cannot be planned).")
    diff.add_argument("--base", required=True, metavar="REF",
                      help="git ref to compare against, e.g. origin/main (planned in a temporary worktree)")
    diff.add_argument("--head", metavar="REF", help="plan this ref as the head instead of the working tree")
    diff.add_argument("--stack", action="append", default=[], metavar="NAME",
                      help="only this stack (repeatable); default: every stack of either side")
    diff.add_argument("--format", choices=("markdown", "json"), default="markdown")
    diff.add_argument("--out", type=Path, metavar="FILE", help="write the report to FILE instead of stdout")
    diff.add_argument("--json-out", type=Path, metavar="FILE",
                      help="also write the JSON report to FILE (e.g. beside the Markdown in CI)")
    diff.add_argument("--max-chars", type=int, default=GITHUB_COMMENT_LIMIT - COMMENT_RESERVE, metavar="N",
                      help="Markdown size budget; details are shortened to fit, never the summary "
                           f"(default {GITHUB_COMMENT_LIMIT - COMMENT_RESERVE}: GitHub's comment limit less room "
                           "for the sticky-comment marker)")
    diff.add_argument("--exit-code", action="store_true", help="exit 1 when any stack changed")
    add_project_option(diff, "the project in its git repository")
    diff.set_defaults(run=with_project(run))


def run(args: argparse.Namespace, project: Path, stdout: TextIO, stderr: TextIO) -> int:
    try:
        base, head = plan_sides(project, args.base, args.head, list(dict.fromkeys(args.stack)))
    except SideError as exc:
        print(f"sovereign diff: {exc}", file=stderr)
        return EXIT_FAILED
    report = build_report(base.snapshots, head.snapshots, base_invalid=base.invalid, head_invalid=head.invalid,
                          base_meta=base.meta, head_meta=head.meta)
    text = dumps(report) if args.format == "json" else render(report, limit=args.max_chars)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    else:
        stdout.write(text)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(dumps(report), encoding="utf-8")
    summary = report["summary"]
    print(f"sovereign diff: {len(summary['changed'])} changed, {len(summary['added'])} added, "
          f"{len(summary['removed'])} removed, {len(summary['invalid'])} invalid, "
          f"{len(summary['unchanged'])} unchanged; sovereignty changes: "
          f"{', '.join(summary['sovereigntyChanged']) or 'none'}", file=stderr)
    if summary["blocked"]:
        print(f"sovereign diff: `pulumi up` would refuse to delete protected resources in "
              f"{', '.join(summary['blocked'])}", file=stderr)
    if summary["invalid"] or summary["blocked"]:
        return EXIT_INVALID
    changed = summary["changed"] or summary["added"] or summary["removed"]
    return EXIT_CHANGES if args.exit_code and changed else 0
