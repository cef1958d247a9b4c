"""The execute path of `sovereign drill`, through fakes of the Automation API and the probe: the order
preview → up → probe → restore → report, and a restore that runs whatever failed before it."""

from __future__ import annotations

import json

from sovereign.engine.drill_execute import run_drill, write_reports


class FakeAutomation:
    def __init__(self, calls: list, fail_up_with_drill: bool = False):
        self.calls, self.fail = calls, fail_up_with_drill

    def preview(self, drill):
        self.calls.append(("preview", drill))
        return "preview ok"

    def up(self, drill):
        self.calls.append(("up", drill))
        if drill and self.fail:
            raise RuntimeError("update failed: quota exceeded")
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


def test_order_and_timing_when_the_region_recovers(tmp_path):
    calls, clock = [], FakeClock()
    timeline = run_drill("eu-central", "aws", "https://eu-central.example.com/health", FakeAutomation(calls),
                         probe_healthy_after(calls, clock, 25), timeout_s=120, poll_s=5, clock=clock,
                         sleep=clock.sleep)
    steps = [c[0] for c in calls]
    assert steps[:2] == ["preview", "up"] and calls[1] == ("up", "aws")
    assert steps[2:-1] == ["probe"] * 6 and calls[-1] == ("up", None)  # probes at 0, 5, …, 25 s, then restore
    assert timeline.ok and timeline.recovery_seconds == 25
    json_path, md_path = write_reports(timeline, tmp_path)
    report = json.loads(json_path.read_text())
    assert [e["step"] for e in report["events"]] == ["preview", "preview", "up", "up", "probe", "restore", "restore"]
    assert "passed" in md_path.read_text() and "25.0 s" in md_path.read_text()


def test_probe_never_healthy_still_restores_and_fails(tmp_path):
    calls, clock = [], FakeClock()
    timeline = run_drill("eu-central", "gcp", "https://x/health", FakeAutomation(calls),
                         probe_healthy_after(calls, clock, 10_000), timeout_s=60, poll_s=10, clock=clock,
                         sleep=clock.sleep)
    assert calls[-1] == ("up", None) and not timeline.ok and timeline.recovery_seconds is None
    assert {"step": "probe", "status": "never healthy", "at": 70.0, "detail": "gave up after 60 s"} in timeline.events
    assert "FAILED" in timeline.to_markdown()


def test_failed_drill_update_still_restores():
    calls, clock = [], FakeClock()
    timeline = run_drill("eu-central", "aws", "https://x/health", FakeAutomation(calls, fail_up_with_drill=True),
                         probe_healthy_after(calls, clock, 0), clock=clock, sleep=clock.sleep)
    assert calls == [("preview", "aws"), ("up", "aws"), ("up", None)]
    assert not timeline.ok
    assert any(e["status"] == "error" and "quota" in e["detail"] for e in timeline.events)


def test_execute_without_the_pulumi_cli_is_one_clear_error(tmp_path, monkeypatch):
    """No Pulumi CLI on PATH (as on this machine): the real drill stops before touching anything, exit 2."""
    from tests.support.cli import run_cli

    monkeypatch.setenv("PATH", str(tmp_path))  # nothing named pulumi there
    result = run_cli("drill", "--stack", "eu-central", "--down", "aws", "--execute", "--report", str(tmp_path / "r"))
    assert result.returncode == 2
    assert "the Pulumi CLI is not on PATH: install it" in result.stderr
    assert not (tmp_path / "r").exists()
