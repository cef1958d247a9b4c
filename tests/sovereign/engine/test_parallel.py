"""Parallel planning: one worker process per core gives exactly the sequential snapshots, keeps the
order, and one failing (or dying) stack never loses the others."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from sovereign.engine import parallel
from sovereign.engine.parallel import WORKERS_ENV, default_workers, mp_context, plan_stacks, run_parallel
from sovereign.engine.snapshot import dumps, snapshot

from tests.support.stacks import STACKS


@pytest.fixture(scope="module")
def parallel_plans():
    return plan_stacks(STACKS, max_workers=2)


def test_parallel_snapshots_are_byte_identical_to_sequential_ones(plans, parallel_plans):
    assert [p.stack for p in parallel_plans] == list(STACKS)
    for p in parallel_plans:
        assert p.ok, (p.stack, p.errors)
        assert dumps(snapshot(p)) == dumps(snapshot(plans[p.stack])), p.stack


def test_workers_start_from_a_fork_server_never_by_forking_the_caller():
    # The caller holds asyncio executor threads (and gRPC state) after planning once; fork would copy them.
    assert mp_context().get_start_method() == (
        "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn")
    with pytest.raises(ValueError, match="fork is unsafe"):
        mp_context("fork")


def test_spawn_gives_the_same_snapshot(plans):
    [p, q] = plan_stacks(["sa-east", "cn-north"], max_workers=2, start_method="spawn")
    assert dumps(snapshot(p)) == dumps(snapshot(plans["sa-east"]))
    assert dumps(snapshot(q)) == dumps(snapshot(plans["cn-north"]))


def test_an_invalid_stack_does_not_lose_the_others(tmp_path, plans):
    results = plan_stacks(["sa-east", "no-such-stack", "cn-north"], max_workers=2, out=tmp_path / "out")
    assert [p.stack for p in results] == ["sa-east", "no-such-stack", "cn-north"]
    assert [p.ok for p in results] == [True, False, True]
    assert "no stack 'no-such-stack'" in str(results[1].errors[0])
    # The workers wrote the valid stacks' snapshots, exactly what the parent would have written.
    assert sorted(f.name for f in (tmp_path / "out").iterdir()) == ["cn-north.json", "sa-east.json"]
    assert (tmp_path / "out" / "sa-east.json").read_text() == dumps(snapshot(plans["sa-east"]))


def test_a_stack_whose_planning_raises_comes_back_as_a_failed_plan(monkeypatch, capsys):
    real = parallel.plan_stack

    def flaky(stack, project, policy):
        if stack == "cn-north":
            raise RuntimeError("mock exploded\nsecond line")
        return real(stack, project=project, policy=policy)

    monkeypatch.setattr(parallel, "plan_stack", flaky)  # in-process path: one worker
    results = plan_stacks(["cn-north", "sa-east"], max_workers=1)
    assert [p.ok for p in results] == [False, True]
    assert str(results[0].errors[0]) == ("stacks/Pulumi.cn-north.yaml: (program): planning raised RuntimeError: "
                                         "mock exploded. Fix: see the traceback printed above; fix the program "
                                         "or the stack")
    assert "Traceback" in capsys.readouterr().err


def _square_or_die(n: int) -> int:
    if n == 3:
        os._exit(17)  # a worker dying mid-task (segfault, OOM kill) breaks the whole pool
    return n * n


def test_a_dying_worker_takes_only_its_own_call():
    results = run_parallel(_square_or_die, [(n,) for n in range(6)], 2,
                           on_lost=lambda args, why: f"lost {args[0]}: {why}")
    assert results[:3] == [0, 1, 4] and results[4:] == [16, 25]
    assert results[3].startswith("lost 3: the worker process planning it exited abruptly")


def test_worker_count_follows_the_cores_unless_capped(monkeypatch):
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    assert default_workers() == len(os.sched_getaffinity(0))
    monkeypatch.setenv(WORKERS_ENV, "1")
    assert default_workers() == 1
