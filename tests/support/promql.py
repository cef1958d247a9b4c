"""The metric names a PromQL expression queries, and the metric list the dashboard and the alerts may use.

Not a PromQL parser: it removes what cannot name a metric — string literals, label matchers `{…}`, ranges and
subqueries `[…]`, the label lists of `by`/`without`/`on`/`ignoring`/`group_left`/`group_right`, Grafana variables
and the label argument of Grafana's `label_values(…, label)` — then every remaining identifier not followed by
`(` (a function or an aggregation) and not a PromQL keyword is a metric name.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

METRICS_FILE = Path(__file__).resolve().parents[2] / "dashboards" / "metrics.yaml"

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_GRAFANA_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")
_LABEL_VALUES = re.compile(r"\blabel_values\s*\(([^,()]*(?:\([^()]*\))?[^,()]*),\s*\w+\s*\)")
_IDENTIFIER = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")
KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
                      "group_right", "inf", "nan", "Inf", "NaN"})
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


def metric_names(expr: str) -> set[str]:
    text = _LABEL_VALUES.sub(r"\1", _GRAFANA_VARIABLE.sub("", expr))
    text = _STRING.sub('""', text)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _LABEL_LIST.sub("", text)
    return {m for m in _IDENTIFIER.findall(text) if m not in KEYWORDS}


def known_metrics() -> dict[str, dict]:
    """Series name → its entry in dashboards/metrics.yaml (a histogram's `_bucket`, `_sum` and `_count`)."""
    listed = yaml.safe_load(METRICS_FILE.read_text())
    known = {}
    for entry in listed["metrics"]:
        assert entry["exporter"] in listed["exporters"], entry
        names = [entry["name"] + s for s in HISTOGRAM_SERIES] if entry["type"] == "histogram" else [entry["name"]]
        for name in names:
            known[name] = entry
    return known
