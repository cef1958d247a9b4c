"""The execute path of `sovereign drill`, through fakes of the Automation API and the probe: the phases
preview → release → probe → teardown → probe → restore, each update with its own time limit, a restore that runs
whatever failed before it, and a report that says what it could not restore."""

from __future__ import annotations

import json

from sovereign.engine.drill_execute import Limits, PhaseTimeout, run_drill, write_reports


class FakeAutomation:
    def __init__(self, calls: list, fail: str | None = None, fail_restore: bool = False):
        self.calls, self.fail, self.fail_restore = calls, fail, fail_restore

    def preview(self, drill, phase):
        self.calls.append(("preview", drill, phase))
        return "preview ok"

    def up(self, drill, phase, timeout_s):
        self.calls.append(("up", drill, phase, timeout_s))
        if phase is not None and phase == self.fail:
            raise PhaseTimeout(f"cancelled after {timeout_s:.0f} s") if phase == "teardown" else \
                RuntimeError("update failed: quota exceeded")
        if phase is None and self.fail_restore:
            raise RuntimeError("cluster create failed: no capacity")
        return "up ok"


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def probe_healthy_after(calls: list, clock: FakeClock, seconds: float):
    def probe(url):
        calls.append(("probe", url))
        return clock.now >= seconds
    return probe


LIMITS = Limits(release_s=100, teardown_s=200, restore_s=300, probe_s=120)


def test_phases_in_order_each_with_its_limit_and_the_recovery_clients_see(tmp_path):
    calls, clock = [], FakeClock()
    timeline = run_drill("eu-central", "aws", "https://eu-central.example.com/health", FakeAutomation(calls),
                         probe_healthy_after(calls, clock, 25), limits=LIMITS, poll_s=5, clock=clock,
                         sleep=clock.sleep)
    updates = [c for c in calls if c[0] != "probe"]
    assert updates == [("preview", "aws", "release"), ("up", "aws", "release", 100), ("up", "aws", "teardown", 200),
                       ("up", None, None, 300)]
    assert sum(1 for c in calls if c[0] == "probe") == 7   # 0, 5, …, 25 s after the release, once after teardown
    assert timeline.ok and timeline.recovery_seconds == 25 and timeline.unrestored is None
    json_path, md_path = write_reports(timeline, tmp_path)
    report = json.loads(json_path.read_text())
    assert [e["step"] for e in report["events"]] == [
        "preview", "preview", "release", "release", "probe after release", "teardown", "teardown",
        "probe after teardown", "restore", "restore"]
    assert "passed" in md_path.read_text() and "25.0 s" in md_path.read_text()


def test_survivors_never_healthy_skip_the_teardown_and_restore():
    calls, clock = [], FakeClock()
    timeline = run_drill("eu-central", "gcp", "https://x/health", FakeAutomation(calls),
                         probe_healthy_after(calls, clock, 10_000), limits=LIMITS, poll_s=10, clock=clock,
                         sleep=clock.sleep)
    assert not any(c[0] == "up" and c[2] == "teardown" for c in calls)   # nothing torn down on a sick survivor
    assert calls[-1] == ("up", None, None, 300) and not timeline.ok and timeline.recovery_seconds is None
    assert any(e["status"] == "never healthy" and e["detail"] == "gave up after 120 s" for e in timeline.events)
    assert "FAILED" in timeline.to_markdown()


def test_a_failed_or_overrunning_phase_still_restores():
    for phase, words in (("release", "quota"), ("teardown", "cancelled after 200 s")):
        calls, clock = [], FakeClock()
        timeline = run_drill("eu-central", "aws", "https://x/health", FakeAutomation(calls, fail=phase),
                             probe_healthy_after(calls, clock, 0), limits=LIMITS, clock=clock, sleep=clock.sleep)
        assert calls[-1] == ("up", None, None, 300) and not timeline.ok
        assert any(e["status"] == "error" and words in e["detail"] for e in timeline.events)


def test_a_restore_that_fails_says_what_is_left_and_how_to_finish():
    calls, clock = [], FakeClock()
    timeline = run_drill("eu-central", "aws", "https://x/health", FakeAutomation(calls, fail_restore=True),
                         probe_healthy_after(calls, clock, 0), limits=LIMITS, clock=clock, sleep=clock.sleep)
    assert not timeline.ok and "no capacity" in timeline.unrestored
    assert "pulumi config rm -s eu-central sovereign:drill" in timeline.unrestored
    assert "Not restored" in timeline.to_markdown()


def test_execute_without_the_pulumi_cli_is_one_clear_error(tmp_path, monkeypatch):
    """No Pulumi CLI on PATH (as on this machine): the real drill stops before touching anything, exit 2."""
    from tests.support.cli import run_cli

    monkeypatch.setenv("PATH", str(tmp_path))  # nothing named pulumi there
    result = run_cli("drill", "--stack", "eu-central", "--down", "aws", "--execute", "--report", str(tmp_path / "r"))
    assert result.returncode == 2
    assert "the Pulumi CLI is not on PATH: install it" in result.stderr
    assert not (tmp_path / "r").exists()


FAKE_CLI = """import signal, sys, time
def interrupted(*_):
    print("cancelling: waiting for in-flight operations", flush=True)
    time.sleep(float(sys.argv[2]))
    sys.exit(255)
signal.signal(signal.SIGINT, interrupted)
print("Updating (stack):", flush=True)
time.sleep(float(sys.argv[1]))
print("Resources: 3 changed", flush=True)
"""


def test_an_update_that_overruns_is_interrupted_gracefully_then_reported(tmp_path):
    """A fake `pulumi up`: it finishes in time, or gets SIGINT at its limit and stops (or is terminated)."""
    import sys

    from sovereign.engine.drill_execute import run_update
    cli = tmp_path / "pulumi.py"
    cli.write_text(FAKE_CLI)
    assert run_update([sys.executable, str(cli), "0", "0"], tmp_path, timeout_s=10) == "Resources: 3 changed"
    try:
        run_update([sys.executable, str(cli), "30", "0"], tmp_path, timeout_s=0.5, grace_s=10)
        raise AssertionError("an overrunning update must raise")
    except PhaseTimeout as exc:
        assert "overran 0 s" in str(exc) and "stopped gracefully" in str(exc) and "in-flight" in str(exc)
    try:
        run_update([sys.executable, str(cli), "30", "30"], tmp_path, timeout_s=0.5, grace_s=0.5)
        raise AssertionError("an update that ignores SIGINT must raise")
    except PhaseTimeout as exc:
        assert "did not stop within 0 s of SIGINT, terminated" in str(exc)
