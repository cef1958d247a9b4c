"""Planning one side of a diff: the working tree, or a git ref checked out in a temporary worktree.

Each side is planned by its own code: a subprocess of the same interpreter (`sys.executable`, so the
same virtualenv and pinned dependencies) runs that tree's `sovereign plan --json` with the tree first
on PYTHONPATH. PYTHONPATH wins over the editable install of the working tree, so a base ref plans with
the `sovereign` package it had — a PR that changes the program is compared against what the base
program really produced. Both sides run at once, each with half the cores.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..engine.parallel import WORKERS_ENV, default_workers

PLAN_TIMEOUT_S = 1800
# Runs `sovereign plan` of whatever `sovereign` package PYTHONPATH puts first. Older trees may lack
# sovereign/__main__.py, every tree has sovereign.cli.main.
_PLAN_DRIVER = "import sys; from sovereign.cli import main; sys.exit(main(sys.argv[1:]))"


class SideError(Exception):
    """A side that could not be planned at all (bad ref, no sovereign/ package, crash, bad policy)."""


@dataclass
class Side:
    label: str  # "base" | "head"
    ref: str | None  # None: the working tree
    meta: dict[str, Any] = field(default_factory=dict)
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)
    invalid: dict[str, list[str]] = field(default_factory=dict)


def git(repo: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SideError(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def repo_root(project: Path) -> Path:
    try:
        return Path(git(project, "rev-parse", "--show-toplevel"))
    except (SideError, FileNotFoundError) as exc:
        raise SideError(f"{project} is not inside a git repository (needed to check out the base): {exc}") from None


def resolve(repo: Path, ref: str) -> str:
    sha = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if not sha:
        raise SideError(f"'{ref}' is not a commit in {repo}. Fetch it first, e.g. "
                        f"`git fetch origin {ref.removeprefix('origin/')}` (CI: actions/checkout with fetch-depth: 0)")
    return sha


@contextmanager
def worktree(repo: Path, sha: str) -> Iterator[Path]:
    """A detached, temporary `git worktree` of `sha`, removed afterwards whatever happens."""
    scratch = Path(tempfile.mkdtemp(prefix="sovereign-diff-"))
    tree = scratch / "tree"
    try:
        git(repo, "worktree", "add", "--detach", "--force", "--quiet", str(tree), sha)
        yield tree
    finally:
        git(repo, "worktree", "remove", "--force", str(tree), check=False)
        shutil.rmtree(scratch, ignore_errors=True)
        git(repo, "worktree", "prune", check=False)


class Runs:
    """The planning subprocesses of a diff, so a failure on one side stops the other at once."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen] = []
        self._lock = threading.Lock()
        self._aborted = False

    def run(self, args: list[str], **kwargs: Any) -> tuple[int, str, str]:
        with self._lock:
            if self._aborted:
                raise SideError("stopped: the other side failed")
            # Its own process group: stopping it also stops the fork server and workers it started.
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    start_new_session=True, **kwargs)
            self._procs.append(proc)
        try:
            out, err = proc.communicate(timeout=PLAN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._stop(proc)
            raise
        return proc.returncode, out, err

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            procs = list(self._procs)
        for proc in procs:
            self._stop(proc)

    @staticmethod
    def _stop(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass


def plan_tree(tree: Path, side: Side, stacks: Sequence[str] = (), workers: int | None = None,
              runs: Runs | None = None) -> Side:
    """Run `tree`'s own `sovereign plan --json` and read its snapshots into `side`."""
    where = side.ref or "the working tree"
    if not (tree / "sovereign" / "cli.py").is_file():
        raise SideError(f"{side.label} ({where}) has no sovereign/ package at {tree.name or tree}: "
                        "nothing to plan it with. Is the base older than the project?")
    present = set(_stack_names(tree))
    wanted = [s for s in stacks if s in present] if stacks else sorted(present)
    if not wanted:
        return side
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [os.environ.get("PYTHONPATH")])])
    env[WORKERS_ENV] = str(workers or 1)
    args = [sys.executable, "-c", _PLAN_DRIVER, "plan", "--json"]
    for name in (wanted if stacks else []):
        args += ["--stack", name]
    try:
        code, stdout, stderr = (runs or Runs()).run(args, cwd=tree, env=env)
    except subprocess.TimeoutExpired:
        raise SideError(f"planning {side.label} ({where}) took over {PLAN_TIMEOUT_S}s") from None
    doc = None
    if code in (0, 2) and stdout.strip():
        try:
            doc = json.loads(stdout)
        except ValueError:
            doc = None
    if not isinstance(doc, dict) or "stacks" not in doc:
        tail = "\n".join((stderr or stdout).strip().splitlines()[-25:])
        raise SideError(f"planning {side.label} ({where}) failed (exit {code}):\n{tail}")
    side.snapshots = {s["stack"]: s for s in doc["stacks"]}
    side.invalid = {k: list(v) for k, v in (doc.get("invalid") or {}).items()}
    return side


def _stack_names(tree: Path) -> list[str]:
    prefix, suffix = "Pulumi.", ".yaml"
    return sorted(p.name[len(prefix):-len(suffix)] for p in (tree / "stacks").glob("Pulumi.*.yaml"))


def plan_sides(project: Path, base_ref: str, head_ref: str | None = None,
               stacks: Sequence[str] = ()) -> tuple[Side, Side]:
    """Plan the base ref and the head (a ref, or the working tree at `project`), both at once."""
    project = project.resolve()
    repo = repo_root(project)
    inside = project.relative_to(repo)
    base = Side("base", base_ref)
    head = Side("head", head_ref)
    base_sha = resolve(repo, base_ref)
    base.meta = {"ref": base_ref, "commit": base_sha}
    if head_ref:
        head.meta = {"ref": head_ref, "commit": resolve(repo, head_ref)}
    else:
        head_sha = git(repo, "rev-parse", "--verify", "--quiet", "HEAD", check=False)
        dirty = bool(git(repo, "--no-optional-locks", "status", "--porcelain", "--untracked-files=normal", "--", str(inside) or ".",
                         check=False))
        head.meta = {"ref": "working tree", "commit": head_sha or None, "dirty": dirty}
    half = max(1, default_workers() // 2)
    with ExitStack() as stack:
        # Worktrees one after the other (git locks its admin files), then both sides planned at once.
        trees = {side.label: (stack.enter_context(worktree(repo, side.meta["commit"])) / inside
                              if side.ref else project) for side in (base, head)}
        runs = Runs()
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(plan_tree, trees[side.label], side, stacks, half, runs) for side in (base, head)]
            wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in futures if f.done() and f.exception() is not None]
            if failed:
                runs.abort()
                raise failed[0].exception()
            done = [f.result() for f in futures]
    return done[0], done[1]
