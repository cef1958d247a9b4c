"""Pulumi's internals are reached through sovereign/pulumi_internals.py only; on the pinned Pulumi every
fast path is taken, and when one is gone (an upgrade moved it, or another version is installed) the
plain way is taken instead, a warning names it, and the plan is the same."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import re
import tomllib
import warnings

import pulumi
import pulumi.runtime.resource as pulumi_resource
import pulumi.runtime.stack as pulumi_stack
import pytest

from sovereign import pulumi_internals as internals
from sovereign.engine.lean_runtime import lean_runtime
from sovereign.engine.run import ProgramFailed, plan_stack, run_program
from sovereign.engine.snapshot import snapshot
from tests.support.stacks import PROJECT_DIR

STACK = "sa-east"
WITH_PLAIN_WAY = [key for key, internal in internals.INTERNALS.items() if internal.pinned_only]


@pytest.fixture(autouse=True)
def warn_afresh(monkeypatch):
    """Each test sees the warnings its own fallbacks give (they are given once per process)."""
    monkeypatch.setattr(internals, "_warned", set())


@pytest.fixture(scope="module")
def fast_snapshot():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        document = snapshot(plan_stack(STACK))
    assert not [w for w in caught if issubclass(w.category, internals.PulumiFastPathOff)]
    return document


def moved(monkeypatch, key: str) -> None:
    """Pretend an upgrade moved the piece: the door looks for it under names Pulumi does not have."""
    internal = internals.INTERNALS[key]
    monkeypatch.setitem(internals.INTERNALS, key,
                        dataclasses.replace(internal, attrs=tuple(f"{path}_moved" for path in internal.attrs)))


def warned(caught) -> list[str]:
    """The pieces the PulumiFastPathOff warnings among `caught` name, in order."""
    return [re.match(r"Pulumi fast path off: (\w+) \(", str(w.message))[1] for w in caught
            if issubclass(w.category, internals.PulumiFastPathOff)]


def plan_warned(*keys: str) -> dict:
    """sa-east's snapshot, checking that planning warned once about each of `keys` and nothing else."""
    with pytest.warns(internals.PulumiFastPathOff) as caught:
        document = snapshot(plan_stack(STACK))
    assert sorted(warned(caught)) == sorted(keys)
    return document


def test_the_pinned_version_is_pyprojects_pin_and_installed():
    dependencies = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"pulumi=={internals.PINNED_PULUMI}" in dependencies
    assert internals.installed_pulumi() == internals.PINNED_PULUMI


def test_on_the_pinned_pulumi_every_internal_is_used(fast_snapshot):
    assert {key: internals.why_off(key) for key in internals.INTERNALS} == dict.fromkeys(internals.INTERNALS)
    assert internals.wire_signatures() == internals.PINNED_SIGNATURES  # the literals are the pinned values
    modules, packages = internals.registered_sdk_modules()
    assert modules and packages
    assert internals.is_input_type(pulumi.ResourceOptions) is False
    import pulumi_aws.s3 as s3

    assert internals.is_input_type(s3.BucketArgs) and internals.input_type_names(s3.BucketArgs)["bucket"] == "bucket"
    assert len(fast_snapshot["resources"]) > 50


def test_only_the_door_touches_pulumi_internals():
    private = re.compile(r"pulumi\.runtime\.[a-z_]+\.|from pulumi\.runtime\.\w+ import|import pulumi\.runtime\.\w"
                         r"|from pulumi\.runtime import (?!Mocks|MockResourceArgs|MockCallArgs)|\bpulumi\._|rpc\._")
    sources = [PROJECT_DIR / "__main__.py", *(PROJECT_DIR / "benchmarks").glob("*.py"),
               *(PROJECT_DIR / "sovereign").rglob("*.py"), *(PROJECT_DIR / "components").rglob("*.py")]
    offenders = [f"{path.relative_to(PROJECT_DIR)}: {line.strip()}" for path in sources
                 if path != PROJECT_DIR / "sovereign" / "pulumi_internals.py"
                 for line in path.read_text().splitlines() if private.search(line)]
    assert len(sources) > 20 and offenders == []


def test_without_the_stack_walk_skip_pulumi_walks_and_plans_the_same(monkeypatch, fast_snapshot):
    walks = []
    original = pulumi_resource._get_stack_trace
    monkeypatch.setattr(pulumi_resource, "_get_stack_trace", lambda: walks.append(1) or original())
    moved(monkeypatch, "stack_walk")
    assert "not found" in internals.why_off("stack_walk")
    assert plan_warned("stack_walk") == fast_snapshot
    assert len(walks) > 50  # the walk ran at each registration


def test_without_config_the_program_reads_it_key_by_key_and_plans_the_same(monkeypatch, fast_snapshot):
    asked = []
    get_config = pulumi.runtime.get_config
    monkeypatch.setattr(pulumi.runtime, "get_config", lambda key: asked.append(key) or get_config(key))
    moved(monkeypatch, "config")
    assert plan_warned("config") == fast_snapshot
    assert {"sovereign:region", "sovereign:models", "sovereign:managedApis"} <= set(asked)


def test_without_run_pulumi_func_the_tasks_are_awaited_and_plan_the_same(monkeypatch, fast_snapshot):
    calls = []
    original = pulumi_stack.run_pulumi_func

    async def counting(func):
        calls.append(1)
        await original(func)

    monkeypatch.setattr(pulumi_stack, "run_pulumi_func", counting)
    moved(monkeypatch, "runner")
    assert plan_warned("runner") == fast_snapshot
    assert calls == []


def test_a_reshaped_run_pulumi_func_is_not_called(monkeypatch, fast_snapshot):
    calls = []
    monkeypatch.setattr(pulumi_stack, "run_pulumi_func", lambda func: calls.append(func))  # no longer async
    assert "changed shape" in internals.why_off("runner")
    assert plan_warned("runner") == fast_snapshot
    assert calls == []


def test_the_plain_runner_reraises_what_the_program_raised(monkeypatch):
    moved(monkeypatch, "runner")
    config = {"pulumi:disable-default-providers": ["*"], "sovereign:region": "bad",
              "sovereign:clouds": {"aws": {"region": "eu-central-1"}}, "sovereign:models": [{"id": "nope"}]}
    with pytest.warns(internals.PulumiFastPathOff, match="runner"), pytest.raises(ProgramFailed, match="invalid input"):
        run_program(PROJECT_DIR, "bad", config, (), PROJECT_DIR / "policy" / "sovereignty.yaml")


def test_the_plain_runner_waits_for_everything_the_program_started_and_raises_its_failures(monkeypatch):
    # Outside a plan: a registration failing under plan_stack leaves failed tasks in Pulumi's
    # process-wide state, and the next plan in the process would trip over them.
    moved(monkeypatch, "runner")
    finished = []

    async def step(name: str, then=None, ticks: int = 1):
        for _ in range(ticks):
            await asyncio.sleep(0)
        finished.append(name)
        if then is not None:
            asyncio.ensure_future(then)  # started while the runner is already waiting
        if name == "fails":
            raise RuntimeError("registration failed")

    def program():
        asyncio.ensure_future(step("first", then=step("spawned", ticks=20)))
        asyncio.ensure_future(step("fails"))

    loop = asyncio.new_event_loop()
    try:
        with pytest.warns(internals.PulumiFastPathOff), pytest.raises(RuntimeError, match="registration failed"):
            loop.run_until_complete(internals.run_pulumi_func(program))
    finally:
        loop.close()
    assert sorted(finished) == ["fails", "first", "spawned"]


def test_on_another_pulumi_version_every_plain_way_is_taken_and_plans_the_same(monkeypatch, fast_snapshot):
    monkeypatch.setattr(internals, "installed_pulumi", lambda: "3.999.0")
    for key, internal in internals.INTERNALS.items():
        reason = internals.why_off(key)
        assert (reason is not None and "3.999.0" in reason) == internal.pinned_only, key
    assert plan_warned(*WITH_PLAIN_WAY) == fast_snapshot


def test_the_collector_is_paused_on_the_pinned_version_only(monkeypatch):
    with lean_runtime():
        assert not gc.isenabled()
    assert gc.isenabled()
    monkeypatch.setattr(internals, "installed_pulumi", lambda: None)  # no package metadata at all
    with pytest.warns(internals.PulumiFastPathOff) as caught:
        with lean_runtime():
            assert gc.isenabled()
    assert warned(caught) == ["stack_walk", "gc_pause"]
    assert f"(version unknown) is installed, the project pins {internals.PINNED_PULUMI}" in str(caught[-1].message)


def test_a_fallback_warns_once_per_process(monkeypatch):
    moved(monkeypatch, "stack_walk")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            with lean_runtime():
                pass
    assert warned(caught) == ["stack_walk"]


def test_moved_signatures_fall_back_to_the_pinned_literals(monkeypatch):
    moved(monkeypatch, "signatures")
    with pytest.warns(internals.PulumiFastPathOff, match="signatures"):
        assert internals.wire_signatures() == internals.PINNED_SIGNATURES


def test_a_moved_sdk_registry_finds_no_class_and_says_so(monkeypatch):
    moved(monkeypatch, "sdk_registry")
    moved(monkeypatch, "input_types")
    with pytest.warns(internals.PulumiFastPathOff) as caught:
        assert internals.registered_sdk_modules() == ([], [])
        import pulumi_aws.s3 as s3

        assert internals.is_input_type(s3.BucketArgs) is False
    assert warned(caught) == ["sdk_registry", "input_types"]


def test_a_moved_mock_monitor_stops_planning_with_the_reason(monkeypatch):
    moved(monkeypatch, "mock_monitor")
    with pytest.warns(internals.PulumiFastPathOff), \
            pytest.raises(internals.PulumiInternalMissing, match=rf"mock_monitor .*pulumi=={internals.PINNED_PULUMI}"):
        internals.mock_monitor_class()
