"""`sovereign:k8s:ServingAlerts` as registered: one rules object per cluster, of the kind its cloud's rule evaluator
reads, schema-valid, on the cluster's own provider and deleted with it."""

from __future__ import annotations

import pytest

from sovereign.clouds import PROFILES
from sovereign.domain.alerts import SERVING_ALERTS
from sovereign.domain.workloads import SERVING_NAMESPACE

from tests.support.graph import Graph
from tests.support.schemas import schema_errors
from tests.support.tokens import CLUSTERS, T

STACKS_WITH_BOTH_CLOUDS = ["eu-central"]


@pytest.mark.parametrize("stack", STACKS_WITH_BOTH_CLOUDS)
def test_each_cluster_registers_its_evaluators_rules(plans, stack):
    graph = Graph.of(plans[stack])
    clouds = [c.cloud for c in plans[stack].spec.clouds]
    components = graph.all(T.SERVING_ALERTS)
    assert len(components) == len(clouds) == 2
    for component in components:
        cloud = component.name.rsplit("-", 1)[-1]
        api_version, kind = PROFILES[cloud].alert_rules
        [rules] = graph.children(component).resources
        assert (rules.inputs["apiVersion"], rules.inputs["kind"]) == (api_version, kind)
        assert rules.type == f"kubernetes:{api_version}:{kind}"
        doc = {k: rules.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")}
        assert schema_errors(doc) == []
        assert doc["metadata"]["namespace"] == SERVING_NAMESPACE
        assert [r["alert"] for g in doc["spec"]["groups"] for r in g["rules"]] == [a.name for a in SERVING_ALERTS]
        [cluster] = graph.all(CLUSTERS[cloud])
        assert rules.options["deletedWith"] == cluster.urn
        [provider] = [p for p in graph.all(T.K8S_PROVIDER) if rules.provider.startswith(p.urn)]
        assert provider.name.endswith(cloud)
        # After the namespace it lives in.
        assert any(d.endswith(f"-{SERVING_NAMESPACE}") for d in rules.options["dependsOn"])
