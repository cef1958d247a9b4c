"""Parallel planning: one worker process per core gives exactly the sequential snapshots, keeps the
order, and one failing (or dying) stack never loses the others. (`sovereign plan` of every stack, through the
same workers, is held byte-identical to the sequential plans in tests/sovereign/commands/test_plan.py.)"""

from __future__ import annotations

import multiprocessing
import os

import pytest

from sovereign.engine import parallel
from sovereign.engine.parallel import WORKERS_ENV, default_workers, mp_context, plan_stacks, run_parallel
from sovereign.engine.snapshot import dumps, snapshot
from sovereign.project import load_project_policy

from tests.support.groups import PARALLEL_RUN
from tests.support.stacks import PROJECT_DIR


INVALID = "no-such-stack"
# One stack of each shape: AWS only, GCP only, both clouds, AWS China.
SAMPLE = ("sa-east", "me-central", "eu-central", "cn-north")


@pytest.fixture(scope="module")
def parallel_run(tmp_path_factory):
    """Stacks of every shape and one that does not exist, planned by two workers writing their snapshots."""
    out = tmp_path_factory.mktemp("parallel")
    return plan_stacks([*SAMPLE[:2], INVALID, *SAMPLE[2:]], max_workers=2, out=out), out


@PARALLEL_RUN
def test_parallel_snapshots_are_byte_identical_to_sequential_ones(plans, parallel_run):
    results, out = parallel_run
    valid = [p for p in results if p.stack != INVALID]
    assert [p.stack for p in valid] == list(SAMPLE)
    for p in valid:
        assert p.ok, (p.stack, p.errors)
        assert dumps(snapshot(p)) == dumps(snapshot(plans[p.stack])), p.stack
        # The workers wrote the snapshots, exactly what the parent would have written.
        assert (out / f"{p.stack}.json").read_text() == dumps(snapshot(plans[p.stack])), p.stack


def test_workers_start_from_a_fork_server_never_by_forking_the_caller():
    # The caller holds asyncio executor threads (and gRPC state) after planning once; fork would copy them.
    assert mp_context().get_start_method() == (
        "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn")
    with pytest.raises(ValueError, match="fork is unsafe"):
        mp_context("fork")


def test_spawn_gives_the_same_snapshot(plans):
    # One spawned worker: it imports everything afresh, as on a platform without a fork server.
    [p] = run_parallel(parallel._plan_one, [("sa-east", str(PROJECT_DIR), load_project_policy(PROJECT_DIR))], 1,
                       start_method="spawn")
    assert dumps(snapshot(p)) == dumps(snapshot(plans["sa-east"]))


@PARALLEL_RUN
def test_an_invalid_stack_does_not_lose_the_others(parallel_run):
    results, out = parallel_run
    assert [p.stack for p in results] == [*SAMPLE[:2], INVALID, *SAMPLE[2:]]
    assert [p.ok for p in results] == [p.stack != INVALID for p in results]
    assert f"no stack '{INVALID}'" in str(results[2].errors[0])
    assert sorted(f.name for f in out.iterdir()) == sorted(f"{stack}.json" for stack in SAMPLE)


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
