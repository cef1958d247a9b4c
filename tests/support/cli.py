"""`sovereign <args>` run in the test process: the entry point a user's command runs (sovereign.cli.main), its
output captured, without a new interpreter importing the provider SDKs again for every call. Parallel planning
still runs in worker processes, forked from this process's fork server (started once, then reused).
A few tests keep a real subprocess, for the console entry point itself."""

from __future__ import annotations

import contextlib
import io
import subprocess
from pathlib import Path

from sovereign.cli import main


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), contextlib.chdir(cwd or Path.cwd()):
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code if isinstance(exit_.code, int) else 2
    return subprocess.CompletedProcess(["sovereign", *args], code, out.getvalue(), err.getvalue())
