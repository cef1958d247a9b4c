"""`--project DIR`, shared by every subcommand: the project is found from the current directory unless given."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, TextIO

from ..project import ProjectNotFound, project_dir

EXIT_INVALID = 2


def add_project_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--project", type=Path, default=None, metavar="DIR",
                        help=f"{help_text} (default: the folder holding Pulumi.yaml at or above the current one)")


def with_project(run: Callable[[argparse.Namespace, Path, TextIO, TextIO], int]
                 ) -> Callable[[argparse.Namespace], int]:
    """Resolve `--project` before the command runs; a project that is not there is one clear line, exit 2."""
    def resolved(args: argparse.Namespace) -> int:
        try:
            project = project_dir(args.project)
        except ProjectNotFound as exc:
            print(f"sovereign {args.command}: {exc}", file=sys.stderr)
            return EXIT_INVALID
        return run(args, project, sys.stdout, sys.stderr)
    return resolved
