"""The diff report: every stack of both sides compared, summarised, and the egress matrix before/after.

The report is one JSON document (`sovereign diff --format json`); the Markdown is rendered from it, so
both formats state the same facts. Nothing in it comes from outside the two sides' snapshots, which
are secret-free by construction; `scrub` still masks anything that looks like a mock secret before
the report is built, so a leak upstream can never reach a PR comment.
"""

from __future__ import annotations

from typing import Any, Mapping

from .compare import compare_stack, verdict_state

REPORT_VERSION = 1
SECRET_CANARY = "mock-secret-for-"
SECRET_MASK = "[secret]"
NOTES = (
    "Planned offline under Pulumi mocks: ids, ARNs and endpoints are the mocks' deterministic values; "
    "`pulumi preview --diff` against the real state can still differ (drift, provider defaults, replacements).",
    "Secret values are masked as [secret] on both sides: a change to a secret's value does not show here.",
)


def scrub(value: Any) -> tuple[Any, int]:
    """`value` with every string holding a mock secret replaced by [secret]; and how many were."""
    if isinstance(value, dict):
        items = [(k, scrub(v)) for k, v in value.items()]
        return {k: v for k, (v, _) in items}, sum(n for _, (_, n) in items)
    if isinstance(value, list):
        items = [scrub(v) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    if isinstance(value, str) and SECRET_CANARY in value:
        return SECRET_MASK, 1
    return value, 0


def build_report(base: Mapping[str, dict], head: Mapping[str, dict], *,
                 base_invalid: Mapping[str, list[str]] | None = None,
                 head_invalid: Mapping[str, list[str]] | None = None,
                 base_meta: dict[str, Any] | None = None, head_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Compare `{stack: snapshot}` of the base and the head (plus the stacks invalid on each side)."""
    base_invalid, head_invalid = dict(base_invalid or {}), dict(head_invalid or {})
    (base, n_base), (head, n_head) = scrub(dict(base)), scrub(dict(head))
    (base_invalid, n_bi), (head_invalid, n_hi) = scrub(base_invalid), scrub(head_invalid)
    names = sorted(set(base) | set(head) | set(base_invalid) | set(head_invalid))
    stacks = []
    for name in names:
        if name in head_invalid:
            report = compare_stack(name, base.get(name), base.get(name))  # nothing comparable at head
            # Unknown, not "unchanged": the head planned nothing to compare, so no diagram, no verdicts.
            report.update(status="invalid", counts={"create": 0, "update": 0, "delete": 0},
                          errors=head_invalid[name], sovereigntyChanged=None, blocked=[], warnings=[],
                          topology={"before": None, "after": None},
                          cost={"before": report["cost"]["before"], "after": None})
        else:
            report = compare_stack(name, base.get(name), head.get(name))
            if name in base_invalid:
                report["note"] = "invalid at the base: " + "; ".join(base_invalid[name])
                if name in head:
                    report["status"] = "changed"
        stacks.append(report)
    notes = list(NOTES)
    if n_base + n_head + n_bi + n_hi:
        notes.append(f"{n_base + n_head + n_bi + n_hi} value(s) holding a mock secret placeholder were masked by "
                     "the diff: the plan should have masked them (report this as a bug).")
    return {
        "version": REPORT_VERSION,
        "base": base_meta or {},
        "head": head_meta or {},
        "summary": summarize(stacks),
        "egressMatrix": egress_matrix(base, head, names),
        "stacks": stacks,
        "notes": notes,
    }


def summarize(stacks: list[dict[str, Any]]) -> dict[str, Any]:
    by = {s: [r["stack"] for r in stacks if r["status"] == s]
          for s in ("changed", "added", "removed", "invalid", "unchanged")}
    return {
        "stacks": len(stacks),
        **by,
        "sovereigntyChanged": [r["stack"] for r in stacks if r["sovereigntyChanged"]],
        "blocked": [r["stack"] for r in stacks if r["blocked"]],
        "resources": {k: sum(r["counts"][k] for r in stacks) for k in ("create", "update", "delete")},
        "rows": [summary_row(r) for r in stacks if r["status"] != "unchanged"],
    }


def summary_row(report: dict[str, Any]) -> dict[str, Any]:
    """One line of the summary table: counts and the short sovereignty / sizing / failover story."""
    sov = report["sovereignty"]
    verdicts = [f"{v['provider']} {_state_word(v['before'])}→{_state_word(v['after'])}"
                for v in sov["verdicts"] if verdict_state(v["before"]) != verdict_state(v["after"])]
    hosts = [f"{v['provider']} hosts" for v in sov["verdicts"]
             if verdict_state(v["before"]) == verdict_state(v["after"]) and "hosts" in v["fields"]]
    # Same state, another entry deciding it (e.g. a new ban over a rule that already denied): a reviewer
    # must see the policy now rests on a different entry.
    hosts += [f"{v['provider']} now decided by {', '.join((v['after'] or {}).get('rules') or [])}"
              for v in sov["verdicts"]
              if verdict_state(v["before"]) == verdict_state(v["after"]) and "rules" in v["fields"]]
    added = sorted({h for e in sov["egress"] for h in e["added"] if e["list"] == "allowed"})
    removed = sorted({h for e in sov["egress"] for h in e["removed"] if e["list"] == "allowed"})
    denied_added = sorted({h for e in sov["egress"] for h in e["added"] if e["list"] == "denied"})
    denied_removed = sorted({h for e in sov["egress"] for h in e["removed"] if e["list"] == "denied"})
    egress = []
    if added or removed:
        egress.append(f"allowed +{len(added)}/−{len(removed)}")
    if denied_added or denied_removed:
        egress.append(f"denied +{len(denied_added)}/−{len(denied_removed)}")
    parts = verdicts + hosts + ([f"egress {', '.join(egress)}"] if egress else [])
    if sov["gateway"]:
        parts.append(f"gateway {len(sov['gateway'])} change(s)")
    if sov["jurisdiction"]:
        parts.append("jurisdiction")
    if sov["requests"]:
        parts.append("API requests")
    if report["status"] == "invalid":
        parts = ["unknown: the head is invalid"]
    cost = report["cost"]
    return {
        "stack": report["stack"], "status": report["status"], **report["counts"],
        "sovereignty": parts, "blocked": len(report["blocked"]), "warnings": list(report["warnings"]),
        "costPerHour": _cost_delta(cost["before"], cost["after"]),
        "sizing": len(report["sizing"]), "failover": len(report["failover"]),
        "other": len(report["spec"]) + len(report["outputs"]) + sum(len(v) for v in report["sections"].values()),
    }


def _cost_delta(before: dict[str, float] | None, after: dict[str, float] | None) -> str | None:
    """`+$12.40/h (min)` style: the change of the GPU nodes' $/h at min and max replicas, None if none."""
    b, a = before or {"min": 0.0, "max": 0.0}, after or {"min": 0.0, "max": 0.0}
    if b == a:
        return None
    return f"{a['min'] - b['min']:+,.2f} $/h at min, {a['max'] - b['max']:+,.2f} at max"


def _state_word(verdict: dict[str, Any] | None) -> str:
    return {"reachable": "allowed", "denied": "denied", "allowed-unrequested": "allowed (unrequested)",
            "denied-unrequested": "denied (unrequested)", None: "absent"}[verdict_state(verdict)]


def egress_matrix(base: Mapping[str, dict], head: Mapping[str, dict], names: list[str]) -> dict[str, Any]:
    """Region × provider verdict states before and after (reachable / denied / …unrequested / null)."""
    def states(snap: dict | None) -> dict[str, str | None]:
        return {v["provider"]: verdict_state(v) for v in (snap or {}).get("verdicts", [])}
    rows = {}
    providers: set[str] = set()
    for name in names:
        b, a = states(base.get(name)), states(head.get(name))
        providers |= set(b) | set(a)
        rows[name] = {p: {"before": b.get(p), "after": a.get(p)} for p in sorted(set(b) | set(a))}
    return {"providers": sorted(providers), "rows": rows}
