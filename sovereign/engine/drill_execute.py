"""`sovereign drill --execute`: the real drill through the Pulumi Automation API, in the offline drill's phases.

    release   `pulumi up` with `sovereign:drill` and `sovereign:drillPhase: release`: survivors at drill capacity,
              DNS on them, the downed cloud's protections lifted and its controllers' load balancers and nodes gone;
    probe     the regional endpoint answers through the survivors (timed: the recovery clients see);
    teardown  `pulumi up` with the drill's teardown phase: the downed cloud's resources go;
    probe     still answering with the cloud gone;
    restore   `pulumi up` without the drill: the region as it normally runs.

The stack's config and previews go through the Automation API; each `up` runs the Pulumi CLI itself, with its own
time limit: one that overruns gets SIGINT, Pulumi's graceful stop (it finishes the operations in flight and saves the
state, then exits), and, if it has not ended after a grace period, SIGTERM. (The Automation API's `cancel` would not
do: on a self-managed backend it only removes the update's lock while it keeps running.) Whatever fails, restore
runs: a failed phase never leaves a region half torn down unnoticed, and the report names what could not be restored
and the commands to finish it by hand. Needs the Pulumi CLI, the stack's backend login and cloud credentials; tests
drive it through the `Automation` and `Probe` seams with fakes, and `run_update` with a fake CLI.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

DRILL_KEY = "sovereign:drill"
PHASE_KEY = "sovereign:drillPhase"
RELEASE, TEARDOWN = "release", "teardown"


class Automation(Protocol):
    def preview(self, drill: str | None, phase: str | None) -> str: ...
    def up(self, drill: str | None, phase: str | None, timeout_s: float) -> str: ...


class Probe(Protocol):
    def __call__(self, url: str) -> bool: ...


class PhaseTimeout(Exception):
    """An update overran its time limit and was cancelled."""


@dataclass
class Timeline:
    stack: str
    down: str
    endpoint: str
    events: list[dict] = field(default_factory=list)
    ok: bool = False
    recovery_seconds: float | None = None     # from the release's end to the endpoint answering through survivors
    unrestored: str | None = None             # what restore could not do, and how to finish it

    def add(self, step: str, status: str, at: float, detail: str = "") -> None:
        self.events.append({"step": step, "status": status, "at": round(at, 3), "detail": detail})

    def to_dict(self) -> dict:
        return {"stack": self.stack, "down": self.down, "endpoint": self.endpoint, "ok": self.ok,
                "recoverySeconds": self.recovery_seconds, "unrestored": self.unrestored, "events": self.events}

    def to_markdown(self) -> str:
        rows = "\n".join(f"| {e['at']:.1f} s | {e['step']} | {e['status']} | {e['detail']} |" for e in self.events)
        verdict = "passed" if self.ok else "FAILED"
        recovery = f"{self.recovery_seconds:.1f} s" if self.recovery_seconds is not None else "never"
        restore = f"\n**Not restored:** {self.unrestored}\n" if self.unrestored else ""
        return (f"# DR drill {verdict}: {self.stack} without {self.down}\n\n"
                f"Endpoint `{self.endpoint}` answered through the survivors after: **{recovery}**\n{restore}\n"
                f"| t | step | status | detail |\n| --- | --- | --- | --- |\n{rows}\n")


@dataclass(frozen=True)
class Limits:
    """Seconds each step may take: an `up` of the release and teardown phases, and the wait for health."""
    release_s: float = 3600       # a node class's delete waits for its nodes' drain (30 min at most) and termination
    teardown_s: float = 3600      # an EKS or GKE cluster and its network take 10-20 min to delete
    restore_s: float = 3600       # a cluster and its pools come back in 15-30 min
    probe_s: float = 600


def run_drill(stack: str, down: str, endpoint: str, automation: Automation, probe: Probe,
              limits: Limits = Limits(), poll_s: float = 5, clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> Timeline:
    timeline = Timeline(stack, down, endpoint)
    start = clock()

    def step(name: str, action: Callable[[], str]) -> None:
        timeline.add(name, "started", clock() - start)
        timeline.add(name, "done", clock() - start, action())

    def healthy(name: str) -> float | None:
        since = clock()
        while clock() - since <= limits.probe_s:
            if probe(endpoint):
                timeline.add(name, "healthy", clock() - start)
                return clock() - since
            sleep(poll_s)
        timeline.add(name, "never healthy", clock() - start, f"gave up after {limits.probe_s:.0f} s")
        return None

    try:
        step("preview", lambda: automation.preview(down, RELEASE))
        step(RELEASE, lambda: automation.up(down, RELEASE, limits.release_s))
        timeline.recovery_seconds = healthy("probe after release")
        if timeline.recovery_seconds is not None:
            step(TEARDOWN, lambda: automation.up(down, TEARDOWN, limits.teardown_s))
            healthy("probe after teardown")
    except Exception as exc:  # noqa: BLE001 - recorded, then the region is restored below
        timeline.add("drill", "error", clock() - start, str(exc))
    finally:
        try:
            step("restore", lambda: automation.up(None, None, limits.restore_s))
        except Exception as exc:  # noqa: BLE001 - reported with the command that finishes it
            timeline.add("restore", "error", clock() - start, str(exc))
            timeline.unrestored = (f"{exc}; finish by hand: pulumi config rm -s {stack} {DRILL_KEY} && "
                                   f"pulumi config rm -s {stack} {PHASE_KEY} && pulumi up -s {stack}")
    probes = [e for e in timeline.events if e["step"].startswith("probe")]
    timeline.ok = (timeline.unrestored is None and len(probes) == 2
                   and all(e["status"] == "healthy" for e in probes) and timeline.events[-1]["status"] == "done")
    return timeline


def write_reports(timeline: Timeline, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"drill-{timeline.stack}-{timeline.down}"
    stem.with_suffix(".json").write_text(json.dumps(timeline.to_dict(), indent=2) + "\n")
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
    """The real thing: the stack's Pulumi program with the drill's config set or removed."""

    def __init__(self, stack: str, project_dir: Path):
        from pulumi import automation as auto  # imported here: needs the Pulumi CLI only when executing
        if shutil.which("pulumi") is None:
            raise DrillUnavailable(PULUMI_MISSING)
        self._auto, self._name, self._project = auto, stack, project_dir
        try:
            self._stack = auto.select_stack(stack_name=stack, work_dir=str(project_dir))
        except auto.errors.CommandError as exc:
            raise DrillUnavailable(f"`pulumi stack select {stack}` failed: {str(exc).strip()[:500]}; create the "
                                   f"stack (`pulumi stack init {stack}`) and log in to its backend") from None

    def _configure(self, drill: str | None, phase: str | None) -> None:
        for key, value in ((DRILL_KEY, drill), (PHASE_KEY, phase)):
            if value is None:
                self._stack.remove_config(key)
            else:
                self._stack.set_config(key, self._auto.ConfigValue(value=value))

    def preview(self, drill: str | None, phase: str | None) -> str:
        self._configure(drill, phase)
        return str(self._stack.preview(diff=True).change_summary)

    def up(self, drill: str | None, phase: str | None, timeout_s: float) -> str:
        self._configure(drill, phase)
        return run_update(["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--stack", self._name],
                          self._project, timeout_s)


GRACE_S = 600   # after SIGINT, how long Pulumi may take to finish the operations in flight


def run_update(command: list[str], cwd: Path, timeout_s: float, grace_s: float = GRACE_S) -> str:
    """Run an update to its end; past `timeout_s` interrupt it as Ctrl-C would, and raise PhaseTimeout once it has
    stopped (SIGTERM after `grace_s` more). Returns the last line of its output; raises RuntimeError if it fails."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=grace_s)
            stopped = "stopped gracefully"
        except subprocess.TimeoutExpired:
            process.terminate()
            output, _ = process.communicate()
            stopped = f"did not stop within {grace_s:.0f} s of SIGINT, terminated"
        raise PhaseTimeout(f"overran {timeout_s:.0f} s, interrupted; {stopped}: {output.strip()[-300:]}") from None
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:2])} exited {process.returncode}: {output.strip()[-500:]}")
    return output.strip().splitlines()[-1] if output.strip() else ""
