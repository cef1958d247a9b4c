"""The diff report as Markdown for one pull-request comment.

Order: summary table, egress matrix before → after, then one section per changed stack with its
sovereignty changes, a Mermaid diagram of the region and collapsed details. GitHub rejects comments
over 65,536 characters, so `render` fits the text into a budget by shortening the per-stack sections
— details first, then diagrams, the largest section first — and says so; the summary and the matrix
are never cut.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from ..clouds import PROFILES
from .compare import verdict_state

GITHUB_COMMENT_LIMIT = 65_536
# Room left for the marker the sticky-comment action appends, so the posted body stays under the limit.
COMMENT_RESERVE = 512
MARKER = "<!-- sovereign-diff -->"
MAX_VALUE = 160  # characters of one before/after value shown
MAX_CHANGES_PER_RESOURCE = 40
STATE_CELL = {"reachable": "✅", "denied": "⛔", "allowed-unrequested": "·", "denied-unrequested": "✕", None: "—"}
LEVELS = ("full", "compact", "minimal")


def render(report: dict[str, Any], limit: int = GITHUB_COMMENT_LIMIT - COMMENT_RESERVE) -> str:
    """The whole comment, at most `limit` characters unless the summary alone is longer."""
    head = header(report) + summary_table(report) + matrix(report)
    stacks = [s for s in report["stacks"] if s["status"] != "unchanged"]
    levels = {s["stack"]: 0 for s in stacks}
    blocks = {s["stack"]: [stack_section(s, level) for level in LEVELS] for s in stacks}

    def text(note: str = "") -> str:
        body = "".join(blocks[s["stack"]][levels[s["stack"]]] for s in stacks)
        return head + body + note + footer(report)

    shortened = 0
    out = text()
    while len(out) > limit:
        candidates = [s for s in levels if levels[s] < len(LEVELS) - 1]
        if not candidates:
            break
        largest = max(candidates, key=lambda s: len(blocks[s][levels[s]]))
        levels[largest] += 1
        shortened = sum(1 for s in levels if levels[s] > 0)
        out = text(truncation_note(shortened, len(stacks)))
    if len(out) > limit:  # even one line per stack is too much: keep the summary, drop the sections
        out = head + truncation_note(len(stacks), len(stacks), dropped=True) + footer(report)
    return out


def truncation_note(shortened: int, total: int, dropped: bool = False) -> str:
    what = "were left out" if dropped else f"of {shortened} of {total} changed stack(s) were shortened"
    return (f"\n> **Note:** details {what} to keep this comment under GitHub's "
            f"{GITHUB_COMMENT_LIMIT:,}-character limit. The full report: `sovereign diff --format json` "
            "(the `sovereign-diff` artifact of this workflow run).\n")


def header(report: dict[str, Any]) -> str:
    s = report["summary"]
    base, head = report.get("base") or {}, report.get("head") or {}
    verdict = ("No stack changes." if not (s["changed"] or s["added"] or s["removed"] or s["invalid"]) else
               f"**{len(s['changed'])} changed**, {len(s['added'])} added, {len(s['removed'])} removed, "
               f"{len(s['invalid'])} invalid, {len(s['unchanged'])} unchanged of {s['stacks']} stack(s); "
               f"sovereignty changes in **{len(s['sovereigntyChanged'])}**. Resources: "
               f"+{s['resources']['create']} ~{s['resources']['update']} −{s['resources']['delete']}.")
    blocked = ""
    if s.get("blocked"):
        blocked = ("> **⛔ `pulumi up` would stop here:** " + ", ".join(f"`{n}`" for n in s["blocked"])
                   + " delete(s) protected resources (weight buckets, DNS zones). Pulumi refuses to delete a "
                   "protected resource; keep the cloud's stateful resources, or unprotect them in a reviewed "
                   "change first (`pulumi state unprotect`).\n\n")
    return (f"{MARKER}\n## Infra diff — {_side(base, 'base')} → {_side(head, 'head')}\n\n{verdict}\n\n{blocked}")


def _side(meta: dict[str, Any], default: str) -> str:
    ref = meta.get("ref") or default
    commit = (meta.get("commit") or "")[:10]
    dirty = " + uncommitted changes" if meta.get("dirty") else ""
    return f"`{_code(ref)}`" + (f" ({commit}{dirty})" if commit else dirty)


def summary_table(report: dict[str, Any]) -> str:
    s = report["summary"]
    lines = []
    if s["rows"]:
        lines += ["| stack | change | +create | ~update | −delete | sovereignty change | GPU $/h | "
                  "sizing / failover / other |",
                  "| --- | --- | ---: | ---: | ---: | --- | --- | --- |"]
        for r in s["rows"]:
            sov = "; ".join(r["sovereignty"]) or "—"
            other = " · ".join(f"{r[k]} {k}" for k in ("sizing", "failover", "other") if r[k]) or "—"
            other = " · ".join([*(f"**⚠ {w}**" for w in r["warnings"]), other])
            flag = "**⚠ " + _cell(sov) + "**" if r["sovereignty"] else "—"
            delete = f"**{r['delete']} (⛔ {r['blocked']} protected)**" if r["blocked"] else str(r["delete"])
            lines.append(f"| `{r['stack']}` | {r['status']} | {r['create']} | {r['update']} | {delete} | "
                         f"{flag} | {_cell(r['costPerHour'] or '—')} | {_cell(other)} |")
    if s["unchanged"]:
        lines.append("")
        lines.append("Unchanged: " + ", ".join(f"`{n}`" for n in s["unchanged"]) + ".")
    for r in report["stacks"]:
        if r["status"] == "invalid":
            lines.append("")
            lines.append(f"**`{r['stack']}` is invalid at the head — nothing planned:**")
            lines += [f"- {_cell(e)}" for e in r.get("errors", [])]
    return "### Summary\n\n" + "\n".join(lines) + "\n\n"


def matrix(report: dict[str, Any]) -> str:
    m = report["egressMatrix"]
    if not m["providers"]:
        return ""
    lines = ["### Egress matrix (before → after)", "",
             "✅ reachable (requested, allowed) · ⛔ requested, denied · `·` allowed, not requested · "
             "✕ denied, not requested · — no such stack. Changed cells are bold.", "",
             "| region | " + " | ".join(m["providers"]) + " |",
             "| --- |" + " :---: |" * len(m["providers"])]
    for stack, cells in m["rows"].items():
        row = []
        for p in m["providers"]:
            c = cells.get(p) or {"before": None, "after": None}
            before, after = STATE_CELL[c["before"]], STATE_CELL[c["after"]]
            row.append(after if c["before"] == c["after"] else f"**{before}→{after}**")
        changed = any((cells.get(p) or {}).get("before") != (cells.get(p) or {}).get("after") for p in m["providers"])
        name = f"**`{stack}`**" if changed else f"`{stack}`"
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n\n"


def footer(report: dict[str, Any]) -> str:
    return "\n---\n" + "\n".join(f"<sub>{_cell(n)}</sub><br>" for n in report.get("notes", [])) + "\n"


# ---- one stack ------------------------------------------------------------------------------------

def stack_section(r: dict[str, Any], level: str) -> str:
    title = f"### `{r['stack']}` — {r['status']}"
    c = r["counts"]
    counts = f"+{c['create']} create · ~{c['update']} update · −{c['delete']} delete"
    parts = [title, "", counts + (f" · _{_cell(r['note'])}_" if r.get("note") else ""), ""]
    if level == "minimal":
        parts.append("_Details shortened (comment size limit)._")
        return "\n".join(parts) + "\n\n"
    parts += [f"- ⛔ **`pulumi up` refuses this delete** (protected): `{_code(urn)}`" for urn in r["blocked"]]
    parts += [f"- **⚠ {_cell(w)}**" for w in r["warnings"]]
    parts += sovereignty_lines(r)
    diagram = mermaid(r)
    if diagram:
        parts += ["", diagram]
    if level == "full":
        parts += ["", details(r)]
    else:
        parts += ["", "_Resource and property details shortened (comment size limit)._"]
    return "\n".join(parts) + "\n\n"


def sovereignty_lines(r: dict[str, Any]) -> list[str]:
    sov = r["sovereignty"]
    lines = []
    for v in sov["verdicts"]:
        lines.append(f"- **{v['provider']}**: {_verdict_text(v['before'])} → **{_verdict_text(v['after'])}**")
    for (added, removed), where in _group_egress(sov["egress"]).items():
        parts = [f"+`{h}`" for h in added] + [f"−`{h}`" for h in removed]
        lines.append(f"- egress {', '.join(where)}: {' '.join(_limit_items(parts, 12))}")
    for key, label in (("jurisdiction", "jurisdiction"), ("requests", "managed API requests"), ("gateway", "gateway")):
        for ch in sov[key][:20]:
            lines.append(f"- {label}: {change_text(ch)}")
        if len(sov[key]) > 20:
            lines.append(f"- {label}: … {len(sov[key]) - 20} more")
    if r["status"] == "invalid":
        lines.append("- sovereignty: unknown — the head is invalid, so nothing was planned to compare")
    elif not lines:
        lines.append("- no sovereignty change")
    for key, label in (("sizing", "sizing"), ("failover", "failover")):
        for ch in r[key][:15]:
            lines.append(f"- {label}: {change_text(ch)}")
        if len(r[key]) > 15:
            lines.append(f"- {label}: … {len(r[key]) - 15} more")
    return lines


def _verdict_text(v: dict[str, Any] | None) -> str:
    state = verdict_state(v)
    if state is None:
        return "absent"
    text = {"reachable": "allowed", "denied": "denied", "allowed-unrequested": "allowed, not requested",
            "denied-unrequested": "denied, not requested"}[state]
    rules = ", ".join(v.get("rules") or [])
    hosts = ", ".join(f"`{h}`" for h in v.get("hosts") or [])
    return text + (f" ({rules})" if rules else "") + (f" via {hosts}" if hosts and state == "reachable" else "")


def _group_egress(entries: list[dict[str, Any]]) -> dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]]:
    """Identical host changes on several clouds / layers are listed once, naming where."""
    grouped: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for e in entries:
        key = (tuple(e["added"]), tuple(e["removed"]))
        grouped.setdefault(key, []).append(f"{e['cloud']}/{e['layer']} {e['list']}")
    return grouped


def details(r: dict[str, Any]) -> str:
    res = r["resources"]
    out = []
    if res["create"] or res["delete"]:
        rows = [f"| + | `{_code(x['type'])}` | `{_code(x['name'])}` |" for x in res["create"]]
        rows += [f"| − | `{_code(x['type'])}` | `{_code(x['name'])}` |" for x in res["delete"]]
        out.append(_details(f"{len(res['create'])} to create, {len(res['delete'])} to delete",
                            "| | type | name |\n| --- | --- | --- |\n" + "\n".join(rows)))
    if res["update"]:
        body = []
        for x in res["update"]:
            body.append(f"**~ `{_code(x['type'])}` `{_code(x['name'])}`**\n")
            body.append("| property | before | after |\n| --- | --- | --- |")
            for ch in x["changes"][:MAX_CHANGES_PER_RESOURCE]:
                body.append(f"| `{_code(ch['path'])}` | {_value(ch, 'before')} | {_value(ch, 'after')} |")
            if len(x["changes"]) > MAX_CHANGES_PER_RESOURCE:
                body.append(f"| … {len(x['changes']) - MAX_CHANGES_PER_RESOURCE} more | | |")
            body.append("")
        out.append(_details(f"{len(res['update'])} to update (property changes)", "\n".join(body)))
    other = [*r["spec"], *r["outputs"], *(c for v in r["sections"].values() for c in v)]
    if other:
        rows = [f"| `{_code(ch['path'])}` | {_value(ch, 'before')} | {_value(ch, 'after')} |" for ch in other[:200]]
        if len(other) > 200:
            rows.append(f"| … {len(other) - 200} more | | |")
        out.append(_details(f"{len(other)} other change(s): spec, outputs, sections",
                            "| path | before | after |\n| --- | --- | --- |\n" + "\n".join(rows)))
    return "\n".join(out)


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{summary}</summary>\n\n{body}\n\n</details>\n"


def change_text(ch: dict[str, Any]) -> str:
    if "added" in ch or "removed" in ch:
        items = [f"+`{_code(_short(v))}`" for v in ch.get("added", [])] + \
            [f"−`{_code(_short(v))}`" for v in ch.get("removed", [])]
        return f"`{_code(ch['path'])}` " + " ".join(_limit_items(items, 10))
    if ch.get("kind") in ("create", "update", "delete"):
        return f"{ch['kind']} {_code(ch['path'])}"
    return f"`{_code(ch['path'])}` {_value(ch, 'before')} → {_value(ch, 'after')}"


def _value(ch: dict[str, Any], side: str) -> str:
    if side not in ch:
        return "_(none)_"
    if side == "after" and "added" in ch and (ch.get("added") or ch.get("removed")):
        items = [f"+`{_code(_short(v))}`" for v in ch["added"]] + [f"−`{_code(_short(v))}`" for v in ch["removed"]]
        return " ".join(_limit_items(items, 8))
    return f"`{_code(_short(ch[side]))}`"


def _short(value: Any) -> str:
    value = _readable(value)
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def _readable(value: Any) -> Any:
    """URNs as `<type>::<name>` (the stack and project are the same on both sides)."""
    if isinstance(value, str) and value.startswith("urn:pulumi:"):
        parts = value.split("::", 3)
        if len(parts) == 4:
            return f"{parts[2].rsplit('$', 1)[-1]}::{parts[3]}"
    if isinstance(value, list):
        return [_readable(v) for v in value]
    if isinstance(value, dict):
        return {k: _readable(v) for k, v in value.items()}
    return value


def _limit_items(items: list[str], n: int) -> list[str]:
    return items if len(items) <= n else items[:n] + [f"… {len(items) - n} more"]


def _code(text: str) -> str:
    """Safe inside a single-backtick code span in a table cell."""
    return str(text).replace("`", "'").replace("|", "\\|").replace("\n", " ")


def _cell(text: str) -> str:
    """Plain text safe in a table cell and in HTML-ish Markdown."""
    return (str(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " "))


# ---- Mermaid ---------------------------------------------------------------------------------------

def mermaid(r: dict[str, Any]) -> str:
    """```mermaid flowchart of the region: clouds → cluster → GPU pools → releases (→ gateway), the
    managed APIs as edges: solid reachable and routed, thick newly reachable, dotted arrow allowed but not routed
    by that cluster's gateway (no key: open weights answer), dotted-cross denied or newly closed."""
    topo = r["topology"]["after"] or r["topology"]["before"]
    if not topo:
        return ""
    before = r["topology"]["before"] or {"clouds": [], "apis": []}
    removed_stack = r["topology"]["after"] is None
    old_api = {a["provider"]: a for a in before.get("apis", [])}
    old_pools = {(c["cloud"], p["name"]): p for c in before.get("clouds", []) for p in c["pools"]}
    lines = ["```mermaid", "flowchart LR"]
    edges: list[str] = []
    classes: list[str] = []
    for c in topo["clouds"]:
        cid = _id(c["cloud"])
        kind = PROFILES[c["cloud"]].kubernetes if c["cloud"] in PROFILES else "cluster"
        lines.append(f'  subgraph {cid}["{_label(c["cloud"].upper() + " · " + str(c["region"]))}"]')
        lines.append(f'    {cid}_cluster["{_label(kind + " " + str(c["cluster"]))}"]')
        for i, p in enumerate(c["pools"]):
            pid = f"{cid}_pool{i}"
            nodes = f'{p["minNodes"]}–{p["maxNodes"]} nodes'
            lines.append(f'    {pid}["{_label(str(p["name"]) + " · " + str(p["machineType"]) + " · " + nodes)}"]')
            edges.append(f"  {cid}_cluster --> {pid}")
            if (c["cloud"], p["name"]) in old_pools and old_pools[(c["cloud"], p["name"])] != p:
                classes.append(f"  class {pid} changed")
            elif before["clouds"] and (c["cloud"], p["name"]) not in old_pools and not removed_stack:
                classes.append(f"  class {pid} added")
            for j, m in enumerate(p["models"]):
                mid = f"{pid}_m{j}"
                lines.append(f'    {mid}(["{_label(m)}"])')
                edges.append(f"  {pid} --> {mid}")
        source = f"{cid}_cluster"
        if c["gateway"]:
            source = f"{cid}_gw"
            lines.append(f'    {source}{{{{"{_label("gateway")}"}}}}')
            edges.append(f"  {cid}_cluster --> {source}")
        lines.append("  end")
        for a in topo["apis"]:
            pid = "api_" + _id(a["provider"])
            was = (old_api.get(a["provider"]) or {}).get("state")
            if removed_stack:
                was = a["state"]
            unkeyed = c.get("routed") is not None and a["provider"] not in c["routed"]
            if a["state"] == "reachable" and unkeyed:
                edges.append(f'  {source} -.->|"{_label("allowed, no key: open weights answer")}"| {pid}')
            elif a["state"] == "reachable":
                hosts = ", ".join(a["hosts"]) or a["provider"]
                arrow = "-->" if was == "reachable" or not before["clouds"] else "==>"
                edges.append(f'  {source} {arrow}|"{_label(hosts)}"| {pid}')
            elif was == "reachable":
                edges.append(f'  {source} -.-x|"{_label("closed: " + ", ".join(old_api[a["provider"]]["hosts"]))}"| {pid}')
            else:
                edges.append(f'  {source} -.-x|"denied"| {pid}')
    for a in topo["apis"]:
        pid = "api_" + _id(a["provider"])
        was = (old_api.get(a["provider"]) or {}).get("state")
        lines.append(f'  {pid}(("{_label(a["provider"])}"))')
        if not removed_stack and was != a["state"] and before["clouds"]:
            classes.append(f"  class {pid} {'added' if a['state'] == 'reachable' else 'removed'}")
        elif a["state"] != "reachable":
            classes.append(f"  class {pid} denied")
    if not removed_stack:  # clouds the head no longer runs: drawn once more, struck out
        kept = {c["cloud"] for c in topo["clouds"]}
        for c in before.get("clouds", []):
            if c["cloud"] not in kept:
                cid = _id(c["cloud"]) + "_gone"
                lines.append(f'  {cid}["{_label(c["cloud"].upper() + " · " + str(c["region"]) + " · removed")}"]')
                classes.append(f"  class {cid} removed")
    lines += edges + classes
    lines += ["  classDef added stroke:#1a7f37,stroke-width:3px",
              "  classDef removed stroke:#cf222e,stroke-width:3px,stroke-dasharray:5 3",
              "  classDef changed stroke:#9a6700,stroke-width:3px",
              "  classDef denied stroke:#8c959f,color:#57606a,stroke-dasharray:3 3",
              "```"]
    return "\n".join(lines)


def _id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", str(text))


def _label(text: str) -> str:
    """Text inside a quoted Mermaid label."""
    return str(text).replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def stack_names(report: dict[str, Any], statuses: Iterable[str]) -> list[str]:
    return [s["stack"] for s in report["stacks"] if s["status"] in set(statuses)]
