"""The serving alerts, decided once: the autoscaler's target, the metrics they read, the namespace GMP scopes them
to, and one custom resource per cloud that validates against its rule evaluator's CRD."""

from __future__ import annotations

import re

import pytest
import yaml

from sovereign.clouds import PROFILES
from sovereign.domain.alerts import QUEUE_TARGET, SERVING_ALERTS, alert_rules
from sovereign.domain.workloads import SERVING_NAMESPACE

from tests.support.helm import REPO_ROOT
from tests.support.promql import known_metrics, metric_names
from tests.support.schemas import schema_errors

SELECTOR = re.compile(r"([A-Za-z_:][\w:]*)\{([^{}]*)\}")


def test_the_queue_target_is_the_charts_autoscaling_target():
    values = yaml.safe_load((REPO_ROOT / "charts" / "model-server" / "values.yaml").read_text())
    assert values["autoscaling"]["targetQueueDepth"] == QUEUE_TARGET
    [queue] = [a for a in SERVING_ALERTS if a.name == "ModelQueueGrowing"]
    assert f"> {QUEUE_TARGET}\n" in queue.expr and "deriv(" in queue.expr


def test_every_alert_reads_listed_metrics_of_the_serving_namespace_only():
    known = known_metrics()
    for alert in SERVING_ALERTS:
        names = metric_names(alert.expr)
        assert names and names <= set(known), (alert.name, names - set(known))
        selectors = SELECTOR.findall(alert.expr)
        # Every metric is selected with its matchers, each naming the one namespace a GMP Rules evaluates.
        assert {m for m, _ in selectors} == names, alert.name
        assert all(f'namespace="{SERVING_NAMESPACE}"' in matchers for _, matchers in selectors), alert.name


def test_alerts_have_unique_names_a_severity_a_duration_and_what_to_do():
    assert len({a.name for a in SERVING_ALERTS}) == len(SERVING_ALERTS)
    for alert in SERVING_ALERTS:
        assert alert.severity in ("warning", "critical") and re.fullmatch(r"\d+[smh]", alert.for_)
        assert alert.summary and alert.action


@pytest.mark.parametrize("cloud", sorted(PROFILES))
def test_each_cloud_gets_its_evaluators_kind_and_it_validates_against_the_crd(cloud):
    rules = alert_rules(PROFILES[cloud].alert_rules)
    doc = {"apiVersion": rules.api_version, "kind": rules.kind,
           "metadata": {"name": rules.name, "namespace": rules.namespace}, "spec": rules.spec}
    assert (rules.api_version, rules.kind) == PROFILES[cloud].alert_rules
    assert rules.namespace == SERVING_NAMESPACE
    assert schema_errors(doc) == []
    [group] = rules.spec["groups"]
    assert [r["alert"] for r in group["rules"]] == [a.name for a in SERVING_ALERTS]
    # GMP's Rules require the group's interval: without it the same spec would fail there.
    del group["interval"]
    assert schema_errors(doc) != [] if rules.kind == "Rules" else schema_errors(doc) == []


def test_the_two_kinds_differ_only_in_their_kind():
    aws, gcp = (alert_rules(PROFILES[c].alert_rules) for c in ("aws", "gcp"))
    assert (aws.api_version, aws.kind) != (gcp.api_version, gcp.kind)
    assert (aws.name, aws.namespace, aws.spec) == (gcp.name, gcp.namespace, gcp.spec)
