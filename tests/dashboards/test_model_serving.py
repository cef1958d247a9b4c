"""dashboards/model-serving.json: importable on any Prometheus data source, and querying only metrics whose names
were checked against their exporters' sources (dashboards/metrics.yaml)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sovereign.domain.alerts import KV_CACHE_SATURATED, QUEUE_TARGET, SERVING_ALERTS

from tests.support.promql import METRICS_FILE, known_metrics, metric_names

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboards" / "model-serving.json"


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels() -> list[dict]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def expressions() -> list[str]:
    queries = [t["expr"] for p in panels() for t in p["targets"]]
    variables = [v["query"]["query"] for v in dashboard()["templating"]["list"] if v["type"] == "query"]
    return queries + variables


@pytest.mark.parametrize(("expr", "names"), [
    ('sum by (le, model_name) (rate(vllm:time_to_first_token_seconds_bucket{model_name=~"$model"}[$__rate_interval]))',
     {"vllm:time_to_first_token_seconds_bucket"}),
    ("avg by (model_name) (a{x=\"y\"}) > 4\nand on (model_name)\nsum by (model_name) (deriv(b[10m])) > 0", {"a", "b"}),
    ("DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)", {"DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE"}),
    ('label_values(vllm:num_requests_waiting{namespace="n"}, model_name)', {"vllm:num_requests_waiting"}),
    ("histogram_quantile(0.95, sum(rate(c_bucket[5m])) without (pod)) offset 1h", {"c_bucket"}),
    ('up{job="by (x)"} == 0', {"up"}),
])
def test_the_extractor_finds_every_metric_and_nothing_else(expr, names):
    assert metric_names(expr) == names


def test_every_metric_the_dashboard_queries_is_listed_with_its_source():
    known = known_metrics()
    exprs = expressions()
    assert len(exprs) >= 12
    for expr in exprs:
        assert metric_names(expr), expr
        assert metric_names(expr) <= set(known), (expr, metric_names(expr) - set(known))


def test_the_list_names_no_metric_nothing_queries():
    used = {n for e in [*expressions(), *(a.expr for a in SERVING_ALERTS)] for n in metric_names(e)}
    listed = yaml.safe_load(METRICS_FILE.read_text())["metrics"]
    unused = [m["name"] for m in listed
              if not ({m["name"]} | {m["name"] + s for s in ("_bucket", "_sum", "_count")}) & used]
    assert unused == []
    # Counters as exposed: prometheus_client names every counter's series `<name>_total`.
    assert all(m["name"].endswith("_total") for m in listed if m["type"] == "counter")


def test_every_panel_reads_the_chosen_prometheus_data_source():
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for panel in panels():
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert all(t["datasource"] == panel["datasource"] for t in panel["targets"]), panel["title"]


def test_the_model_rows_repeat_per_model_and_filter_on_it():
    rows = [p for p in dashboard()["panels"] if p["type"] == "row"]
    assert [r.get("repeat") for r in rows if "$model" in r["title"]] == ["model"]
    vllm = [t["expr"] for p in panels() for t in p["targets"] if "vllm:" in t["expr"]]
    assert vllm and all('model_name=~"$model"' in e for e in vllm)


def test_panels_show_the_thresholds_the_alerts_use():
    steps = {p["title"]: p["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", []) for p in panels()}
    assert steps["Queue depth (waiting requests per replica)"][-1]["value"] == QUEUE_TARGET
    assert steps["KV cache use"][-1]["value"] == KV_CACHE_SATURATED


def test_panel_ids_are_unique_and_the_issue_s_views_are_all_there():
    ids = [p["id"] for p in dashboard()["panels"]]
    assert len(ids) == len(set(ids))
    queried = " ".join(expressions())
    for metric in ("vllm:num_requests_waiting", "vllm:num_requests_running", "vllm:prompt_tokens_total",
                   "vllm:generation_tokens_total", "vllm:time_to_first_token_seconds_bucket",
                   "vllm:kv_cache_usage_perc", "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED",
                   "litellm_proxy_total_requests_metric_total", "litellm_proxy_failed_requests_metric_total",
                   "litellm_request_total_latency_metric_bucket"):
        assert metric in queried, metric
