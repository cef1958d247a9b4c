"""`sovereign drill --execute`: the real drill through the Pulumi Automation API.

Sequence: preview with the drill → up with the drill → probe the regional endpoint until it answers
(timed) → restore (up without the drill) → timeline report (JSON + Markdown). Restore runs whatever
happened before it, so a failed probe never leaves a region torn down. Needs the Pulumi CLI, the
stack's backend login and cloud credentials; tests drive it through the `Automation` and `Probe`
seams with fakes.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

DRILL_KEY = "sovereign:drill"


class Automation(Protocol):
    def preview(self, drill: str | None) -> str: ...
    def up(self, drill: str | None) -> str: ...


class Probe(Protocol):
    def __call__(self, url: str) -> bool: ...


@dataclass
class Timeline:
    stack: str
    down: str
    endpoint: str
    events: list[dict] = field(default_factory=list)
    ok: bool = False
    recovery_seconds: float | None = None

    def add(self, step: str, status: str, at: float, detail: str = "") -> None:
        self.events.append({"step": step, "status": status, "at": round(at, 3), "detail": detail})

    def to_json(self) -> str:
        return json.dumps({"stack": self.stack, "down": self.down, "endpoint": self.endpoint, "ok": self.ok,
                           "recoverySeconds": self.recovery_seconds, "events": self.events}, indent=2) + "\n"

    def to_markdown(self) -> str:
        rows = "\n".join(f"| {e['at']:.1f} s | {e['step']} | {e['status']} | {e['detail']} |" for e in self.events)
        verdict = "passed" if self.ok else "FAILED"
        recovery = f"{self.recovery_seconds:.1f} s" if self.recovery_seconds is not None else "never"
        return (f"# DR drill {verdict}: {self.stack} without {self.down}\n\n"
                f"Endpoint `{self.endpoint}` answered after: **{recovery}**\n\n"
                f"| t | step | status | detail |\n| --- | --- | --- | --- |\n{rows}\n")


def run_drill(stack: str, down: str, endpoint: str, automation: Automation, probe: Probe,
              timeout_s: float = 600, poll_s: float = 5, clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> Timeline:
    timeline = Timeline(stack, down, endpoint)
    start = clock()
    try:
        for step, action in (("preview", automation.preview), ("up", automation.up)):
            timeline.add(step, "started", clock() - start)
            timeline.add(step, "done", clock() - start, action(down))
        torn_down = clock()
        while clock() - torn_down <= timeout_s:
            if probe(endpoint):
                timeline.recovery_seconds = clock() - torn_down
                timeline.add("probe", "healthy", clock() - start)
                break
            sleep(poll_s)
        else:
            timeline.add("probe", "never healthy", clock() - start, f"gave up after {timeout_s:.0f} s")
    except Exception as exc:  # noqa: BLE001 - recorded, then the region is restored below
        timeline.add("drill", "error", clock() - start, str(exc))
    finally:
        timeline.add("restore", "started", clock() - start)
        try:
            timeline.add("restore", "done", clock() - start, automation.up(None))
        except Exception as exc:  # noqa: BLE001 - reported; the operator must restore by hand
            timeline.add("restore", "error", clock() - start, str(exc))
    timeline.ok = timeline.recovery_seconds is not None and timeline.events[-1]["status"] == "done"
    return timeline


def write_reports(timeline: Timeline, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"drill-{timeline.stack}-{timeline.down}"
    stem.with_suffix(".json").write_text(timeline.to_json())
    stem.with_suffix(".md").write_text(timeline.to_markdown())
    return stem.with_suffix(".json"), stem.with_suffix(".md")


def http_probe(url: str) -> bool:
    """Healthy = the endpoint answers 2xx within 5 s."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - operator-given https URL
            return 200 <= response.status < 300
    except (urllib.error.URLError, TimeoutError, OSError):
        return False


PULUMI_MISSING = ("the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/), log in to the "
                  "stack's backend, then run the drill again")


class DrillUnavailable(Exception):
    """The drill cannot run for real here; the message says what to install or set up."""


class PulumiAutomation:
    """The real thing: the stack's Pulumi program with `sovereign:drill` set or removed."""

    def __init__(self, stack: str, project_dir: Path):
        from pulumi import automation as auto  # imported here: needs the Pulumi CLI only when executing
        if shutil.which("pulumi") is None:
            raise DrillUnavailable(PULUMI_MISSING)
        self._auto = auto
        try:
            self._stack = auto.select_stack(stack_name=stack, work_dir=str(project_dir))
        except auto.errors.CommandError as exc:
            raise DrillUnavailable(f"`pulumi stack select {stack}` failed: {str(exc).strip()[:500]}; create the "
                                   f"stack (`pulumi stack init {stack}`) and log in to its backend") from None

    def _configure(self, drill: str | None) -> None:
        if drill is None:
            self._stack.remove_config(DRILL_KEY)
        else:
            self._stack.set_config(DRILL_KEY, self._auto.ConfigValue(value=drill))

    def preview(self, drill: str | None) -> str:
        self._configure(drill)
        return str(self._stack.preview(diff=True).change_summary)

    def up(self, drill: str | None) -> str:
        self._configure(drill)
        return str(self._stack.up().summary.resource_changes)
