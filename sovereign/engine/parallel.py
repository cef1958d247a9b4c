"""Plan many stacks at once: one worker process per core, each planning whole stacks under mocks.

`plan_stack` is CPU-bound Python (the program, the Pulumi runtime, the mocks), so threads would not
help; processes do. Workers start from a fork server (spawn where there is none), never by forking
the caller: a caller that has planned before holds asyncio executor threads and gRPC state, and a
fork of a threaded process can deadlock. Each worker keeps its imports warm across the stacks it
plans (the provider SDKs cost seconds to import), and `plan_stack` isolates one run from the next
(fresh contextvars context and event loop), so a worker's results are byte-identical to sequential
ones — tests/sovereign/engine/test_parallel.py checks that for every stack.

A stack whose program raises comes back as a `Plan` whose `errors` say so; a worker process that
dies takes only its own stack with it: the stacks it had not finished are planned again, one per
fresh worker, so one bad stack never loses the others.

A script that plans in parallel needs the `if __name__ == "__main__":` guard: workers import the
caller's main module (as with any spawn or fork-server start).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import traceback
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, Sequence

from ..domain.errors import InputError
from ..domain.stackfile import display_name, stack_file
from ..domain.policy import Policy
from ..project import find_project, load_project_policy
from .run import Plan, plan_stack
from .snapshot import write_snapshot

# Caps the workers (`sovereign diff` gives each of its two sides half the cores).
WORKERS_ENV = "SOVEREIGN_PLAN_WORKERS"
# Imported once by the fork server, so every worker it forks starts with them loaded (the provider SDKs
# cost seconds each; the program's own modules load in the first run).
PRELOAD = ("sovereign.engine.run", "pulumi_aws", "pulumi_gcp", "pulumi_kubernetes")


def default_workers() -> int:
    """$SOVEREIGN_PLAN_WORKERS, else one worker per core the process may use."""
    if os.environ.get(WORKERS_ENV, "").strip().isdigit() and int(os.environ[WORKERS_ENV]) > 0:
        return int(os.environ[WORKERS_ENV])
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def mp_context(method: str | None = None, preload: Sequence[str] = PRELOAD) -> multiprocessing.context.BaseContext:
    """The fork server where the platform has one (Linux, macOS), else spawn. Never plain fork."""
    methods = multiprocessing.get_all_start_methods()
    method = method or ("forkserver" if "forkserver" in methods else "spawn")
    if method == "fork":
        raise ValueError("fork is unsafe here: the caller may hold gRPC and asyncio threads")
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(list(preload))
    return context


def failed_plan(stack: str, problem: str) -> Plan:
    """A stack whose planning raised: reported like an invalid stack, nothing registered."""
    return Plan(stack, None, (), {}, (InputError(display_name(stack), "(program)", problem,
                                                 "see the traceback printed above; fix the program or the "
                                                 "stack"),))


def _plan_one(stack: str, project: str, policy: Policy, out: str | None = None) -> Plan:
    """Worker entry point; writes the stack's snapshot into `out` (so the workers serialize in parallel).
    Exceptions become a failed plan so they pickle and name their stack; the traceback goes to stderr
    (inherited from the caller)."""
    try:
        plan = plan_stack(stack, project=Path(project), policy=policy)
        if out is not None and plan.ok:
            write_snapshot(plan, Path(out))
        return plan
    except Exception as exc:  # noqa: BLE001 - any failure of one stack must not lose the others
        print(f"{display_name(stack)}: planning raised:", file=sys.stderr)
        traceback.print_exc()
        first_line = (str(exc).strip().splitlines() or [""])[0]
        return failed_plan(stack, f"planning raised {type(exc).__name__}: {first_line}".rstrip(": "))
    finally:
        if multiprocessing.parent_process() is not None:
            settle_heap()


_settled_modules = 0


def settle_heap() -> None:
    """In a worker, after each stack: collect what the run left (the program runs with the collector
    paused, engine/lean_runtime.py), then, once a stack has loaded new modules, `gc.freeze()` what is left.

    The provider SDKs leave ~500,000 long-lived objects (classes, typing constructs) that every full
    collection would walk again; frozen, they never are. Only what is alive after a collection is
    frozen, and only when the module set grew (the first stack on each cloud), so nothing planned
    later is kept alive.
    """
    global _settled_modules
    gc.collect()
    if len(sys.modules) != _settled_modules:
        gc.freeze()
        _settled_modules = len(sys.modules)


def plan_stacks(stacks: Sequence[str], project: Path | None = None, policy: Path | Policy | None = None,
                max_workers: int | None = None, start_method: str | None = None,
                out: Path | None = None, progress: Callable[[Plan], None] | None = None) -> list[Plan]:
    """Plan `stacks` in parallel; the result is in the order of `stacks`, one Plan per name. With
    `out`, each valid stack's snapshot is written to `out/<stack>.json` by the worker that planned it;
    `progress` sees each plan as it completes.

    A single stack, or `max_workers=1`, plans in this process without a pool; otherwise at least one
    worker process plans (even where $SOVEREIGN_PLAN_WORKERS=1), so a crash stays isolated.
    """
    project = find_project() if project is None else Path(project).resolve()
    # Parsed once here; every worker gets the parsed policy with the stacks it plans.
    parsed = policy if isinstance(policy, Policy) else load_project_policy(project, policy)
    names = list(stacks)
    target = str(Path(out).resolve()) if out is not None else None
    done = progress or (lambda plan: None)
    if len(names) <= 1 or max_workers == 1:
        return [_reported(_plan_one(name, str(project), parsed, target), done) for name in names]
    workers = min(max_workers or default_workers(), len(names))  # one worker still isolates and settles
    # Largest stack files first (more clouds and models, more resources), so no big stack is left for last.
    order = sorted(range(len(names)), key=lambda i: -_size(stack_file(project, names[i])))
    planned = run_parallel(_plan_one, [(names[i], str(project), parsed, target) for i in order], workers,
                           start_method=start_method,
                           on_lost=lambda args, why: failed_plan(args[0], why), on_result=done)
    results: list[Plan] = [None] * len(names)  # type: ignore[list-item]
    for i, plan in zip(order, planned):
        results[i] = plan
    return results


def _reported(plan: Plan, progress: Callable[[Plan], None]) -> Plan:
    progress(plan)
    return plan


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def run_parallel(function: Callable[..., Any], calls: Sequence[tuple], workers: int | None = None,
                 start_method: str | None = None, on_lost: Callable[[tuple, str], Any] | None = None,
                 preload: Sequence[str] = PRELOAD, on_result: Callable[[Any], None] | None = None) -> list[Any]:
    """`[function(*args) for args in calls]` across worker processes, in order.

    `function` must be a module-level function and should catch its own exceptions. Calls lost with
    a worker that died are retried once each in a fresh single-worker pool; a call that kills its
    worker again yields `on_lost(args, reason)` (or re-raises when no `on_lost` is given).
    """
    context = mp_context(start_method, preload)
    workers = max(1, min(workers or default_workers(), len(calls)))
    results: dict[int, Any] = {}
    report = on_result or (lambda result: None)
    lost = _run_pool(function, dict(enumerate(calls)), workers, context, results, report)
    for index in lost:  # isolate: a crash now belongs to this call alone
        retry = _run_pool(function, {index: calls[index]}, 1, context, results, report)
        if retry:
            if on_lost is None:
                raise BrokenProcessPool(f"worker died running {function.__name__}{calls[index]!r}")
            results[index] = on_lost(calls[index], "the worker process planning it exited abruptly (killed, "
                                                   "out of memory, or a crash in native code); see stderr")
            report(results[index])
    return [results[i] for i in range(len(calls))]


def _run_pool(function: Callable[..., Any], calls: dict[int, tuple], workers: int,
              context: multiprocessing.context.BaseContext, results: dict[int, Any],
              report: Callable[[Any], None]) -> list[int]:
    """Run `calls` into `results`; return the indexes lost to a broken pool."""
    lost: list[int] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures: dict[Future, int] = {pool.submit(function, *args): i for i, args in calls.items()}
        for future in as_completed(futures):
            try:
                results[futures[future]] = future.result()
                report(results[futures[future]])
            except BrokenProcessPool:
                lost.append(futures[future])
    return sorted(lost)
