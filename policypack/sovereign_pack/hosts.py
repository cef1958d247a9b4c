"""Does an allow-list entry admit a denied host?

Denied entries come from the stack's egress plan: exact names, or `*.x` for any name below x (never the apex),
matched with the program's own `sovereign.domain.egress.matches`.

Allow entries come from hand-written or generated rules in four dialects: exact names; `*.x` (DNS firewall:
any name below x; Cilium and GKE: one label); Cilium's `**.x` (any number of labels); `*` inside a label
(Cilium, GKE patterns); `*` alone (everything). Wildcards are read at their widest — a leading `*.` or `**.`
as any number of labels — so a rule is never judged narrower than it may be. An entry admits a denied
wildcard `*.y` when it matches some name below y; that is decided on sample names built from the entry's own
labels (up to three labels under y), which covers every entry shape the dialects allow.
"""

from __future__ import annotations

import itertools
import re

from sovereign.domain.egress import matches

_LABEL = r"[a-z0-9_-]"


def normalize(host: str) -> str:
    return host.strip().lower().rstrip(".")


def _pattern_regex(entry: str) -> re.Pattern[str]:
    if entry in ("*", "**"):
        return re.compile(r".*")
    parts: list[str] = []
    rest = entry
    if rest.startswith("**."):
        parts.append(rf"(?:{_LABEL}+\.)+")
        rest = rest[3:]
    elif rest.startswith("*."):
        parts.append(rf"(?:{_LABEL}+\.)+")
        rest = rest[2:]
    for chunk in re.split(r"(\*+)", rest):
        if chunk.startswith("*"):
            parts.append(rf"{_LABEL}*")
        elif chunk:
            parts.append(re.escape(chunk))
    return re.compile("".join(parts))


def _samples_below(entry: str, apex: str) -> list[str]:
    labels = {"a"} | {lbl.replace("*", "a") for lbl in entry.split(".") if lbl and lbl != "**"}
    labels.discard("")
    samples = []
    for depth in (1, 2, 3):
        for combo in itertools.product(sorted(labels), repeat=depth):
            samples.append(".".join(combo) + "." + apex)
    return samples


def admitted(entry: str, denied: tuple[str, ...]) -> list[str]:
    """The denied entries the allow entry `entry` admits (empty: the entry is clean)."""
    entry = normalize(entry)
    if not entry:
        return []
    hits = []
    if "*" not in entry:
        return [d for d in denied if matches(normalize(d), entry)]
    regex = _pattern_regex(entry)
    for d in denied:
        d = normalize(d)
        if d.startswith("*."):
            apex = d[2:]
            if any(regex.fullmatch(s) for s in _samples_below(entry, apex)):
                hits.append(d)
        elif regex.fullmatch(d):
            hits.append(d)
    return hits


def host_of(url: str) -> str:
    """The hostname of a URL or bare host[:port][/path]."""
    text = url.strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0].split("?", 1)[0]
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    return normalize(text.split(":", 1)[0])
