"""What the platform alerts on, decided once: the serving alerts every cluster evaluates, and the fence alert.

Serving alerts are Prometheus alerting rules over the model servers' own metrics (vLLM's /metrics, scraped on
the `http` port), the same rules on every cloud; each cluster renders them as the kind its rule evaluator reads
(the cloud profile's `alert_rules`: a prometheus-operator PrometheusRule on EKS, a Google Managed Service for
Prometheus `Rules` on GKE). GMP evaluates a namespaced `Rules` only over metrics of its own namespace
(https://cloud.google.com/stackdriver/docs/managed-prometheus/rules-managed), so every rule here reads the
serving namespace's metrics alone, and says so in its matchers, so that both evaluators answer the same.

Every metric name a rule queries is listed, with its source, in dashboards/metrics.yaml (a test holds that).

The fence alert is one threshold both clouds apply to their network layer's log of refused egress: Route 53
Resolver DNS Firewall BLOCK answers on AWS, Cloud NGFW deny logs on GCP (components/{aws,gcp}/evidence.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .elastic import QUEUE_TARGET   # the scaler's waiting requests per replica: alerts read the same number
from .workloads import SERVING_NAMESPACE

# A queue above target that keeps rising this long has outrun what the autoscaler (or the pool's maximum
# nodes) can add.
QUEUE_GROWTH_MINUTES = 10
# vLLM preempts running sequences once its KV cache is full: latency climbs for everyone on the replica.
KV_CACHE_SATURATED = 0.95
RULE_GROUP = "sovereign-serving"
RULES_NAME = "sovereign-serving-alerts"
EVALUATION_INTERVAL = "30s"   # GMP's Rules require a group interval; the prometheus-operator takes it as well

_SERVING = f'namespace="{SERVING_NAMESPACE}"'


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str           # PromQL
    for_: str           # how long the expression must hold before the alert fires
    severity: str       # "warning" | "critical"
    summary: str        # one line, with the model's name where the expression keeps it
    action: str         # what the one on call does


SERVING_ALERTS: tuple[Alert, ...] = (
    Alert(
        name="ModelQueueGrowing",
        # Per replica (the average over the model's pods) above the autoscaler's target, and still rising.
        expr=(f"avg by (model_name) (vllm:num_requests_waiting{{{_SERVING}}}) > {QUEUE_TARGET}\n"
              f"and on (model_name)\n"
              f"sum by (model_name) (deriv(vllm:num_requests_waiting{{{_SERVING}}}[{QUEUE_GROWTH_MINUTES}m])) > 0"),
        for_=f"{QUEUE_GROWTH_MINUTES}m", severity="warning",
        summary=f"{{{{ $labels.model_name }}}}: more than {QUEUE_TARGET} requests waiting per replica, and rising",
        action="Check the model's replicas against replicas.max and the GPU pool's nodes against its maximum "
               "(Pending pods: no GPU capacity); raise replicas.max or the pool, or let the gateway's fallback take "
               "the load."),
    Alert(
        name="ModelServerDown",
        # Only a pod that has answered in the last hour: vLLM serves /metrics once its model is loaded, so a replica
        # in its cold start (minutes for a large model, cold_start.py) is not down.
        expr=f"up{{{_SERVING}}} == 0 and on (pod) max_over_time(up{{{_SERVING}}}[1h]) == 1",
        for_="5m", severity="critical",
        summary="{{ $labels.pod }} in " + SERVING_NAMESPACE + " does not answer /metrics",
        action="kubectl -n " + SERVING_NAMESPACE + " describe pod <pod>; the logs of its vllm container (a model "
               "that no longer fits, a lost GPU: Xid errors on the node)."),
    Alert(
        name="ModelKvCacheSaturated",
        expr=f"max by (model_name) (vllm:kv_cache_usage_perc{{{_SERVING}}}) > {KV_CACHE_SATURATED}",
        for_="15m", severity="warning",
        summary=f"{{{{ $labels.model_name }}}}: KV cache above {KV_CACHE_SATURATED:.0%} for 15 minutes",
        action="Requests are being preempted: lower maxConcurrency or contextLength, or add replicas."),
)


@dataclass(frozen=True)
class AlertRules:
    """The serving alerts as one custom resource of the kind the cluster's rule evaluator reads."""
    api_version: str
    kind: str
    name: str
    namespace: str
    spec: dict[str, Any]


def alert_rules(kind: tuple[str, str], alerts: tuple[Alert, ...] = SERVING_ALERTS) -> AlertRules:
    """`kind` is the cloud profile's `alert_rules` (apiVersion, kind). One group, same spec on every evaluator."""
    rules = [{"alert": a.name, "expr": a.expr, "for": a.for_, "labels": {"severity": a.severity},
              "annotations": {"summary": a.summary, "description": a.action}} for a in alerts]
    return AlertRules(kind[0], kind[1], RULES_NAME, SERVING_NAMESPACE,
                      {"groups": [{"name": RULE_GROUP, "interval": EVALUATION_INTERVAL, "rules": rules}]})


@dataclass(frozen=True)
class FenceAlert:
    """An alarm on the network layer's refusals: any refused egress within one period. The fence works as
    designed when it fires; the alarm is there so that someone reads which workload tried what."""
    name: str
    period_s: int       # one evaluation window; CloudWatch and Cloud Monitoring both take 300 s
    threshold: int      # refusals within a period above which it fires
    summary: str


FENCE_ALERT = FenceAlert(
    name="egress-refused", period_s=300, threshold=0,
    summary="The egress fence refused a connection or a DNS name: a workload tried to reach a host outside the "
            "allowlist (a denied provider, or a name nobody declared). Read the network layer's log for who and what.")
