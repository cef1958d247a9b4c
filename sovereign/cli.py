"""`sovereign` command line. Each subcommand lives in sovereign/commands/<name>.py."""

from __future__ import annotations

import argparse
from typing import Sequence

from .commands import diff, drill, images, plan

COMMANDS = (plan, diff, drill, images)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sovereign", description="Sovereign LLM inference: offline plans, "
                                     "diffs and DR drills of region stacks, and the images they run.")
    subcommands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(subcommands)
    args = parser.parse_args(argv)
    return args.run(args)
