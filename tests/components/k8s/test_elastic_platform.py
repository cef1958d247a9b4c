"""The platform elastic serving runs on, as registered: KEDA in every cluster, the metrics pipeline where the cloud
has no managed one, every image through the cluster's mirrors, and KEDA's own identity where its Prometheus API
needs one."""

from __future__ import annotations

import json
import re

import pytest

from components.k8s.elastic_platform import DASHBOARDS, KEDA_CONTROL_PLANE_PORTS, KEDA_NAMESPACE, KEDA_OPERATOR
from sovereign.clouds import profile
from sovereign.domain.egress import declared_host_reasons

from tests.support.graph import Graph
from tests.support.stacks import STACKS
from tests.support.tokens import T

MIRROR = {"aws": r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9-]+/[a-z0-9-]+",
          "gcp": r"[a-z0-9-]+-docker\.pkg\.dev/[a-z0-9-]+/[a-z0-9-]+"}


def _platforms(plan):
    graph = Graph.of(plan)
    return {c.cloud: (c, graph.component(T.ELASTIC_PLATFORM, name=c.plan.name)) for c in plan.decisions.clusters}


def _registries(values, path=""):
    """Every `registry` value of a chart's values, with where it is."""
    if isinstance(values, dict):
        for key, value in values.items():
            if key == "registry" and isinstance(value, str):
                yield f"{path}.{key}", value
            else:
                yield from _registries(value, f"{path}.{key}")


@pytest.mark.parametrize("stack", STACKS)
def test_keda_everywhere_the_metrics_pipeline_where_no_managed_one_every_image_mirrored(plans, stack):
    for cloud, (decision, children) in _platforms(plans[stack]).items():
        releases = {r.inputs["chart"]: r for r in children.all(T.HELM_RELEASE)}
        expected = {"keda"} | ({"kube-prometheus-stack", "dcgm-exporter"}
                               if decision.profile.elastic.prometheus_in_cluster else set())
        assert set(releases) == expected, cloud
        for chart, release in releases.items():
            assert re.fullmatch(r"\d+\.\d+\.\d+", release.inputs["version"]), chart   # pinned
            for where, registry in _registries(release.inputs["values"]):
                # Through the cluster's mirror: the network layer lets no node reach a public registry.
                assert re.fullmatch(MIRROR[cloud], registry), (chart, where, registry)
        if "dcgm-exporter" in releases:
            # Its image comes from NVIDIA's registry, which the nodes may reach (declared, with why).
            assert "nvcr.io" in declared_host_reasons(decision.plan.cloud)


@pytest.mark.parametrize("stack", STACKS)
def test_the_in_cluster_prometheus_reads_every_monitor_and_rule_and_grafana_gets_the_dashboards(plans, stack):
    for cloud, (decision, children) in _platforms(plans[stack]).items():
        if not decision.profile.elastic.prometheus_in_cluster:
            assert children.all(T.CONFIG_MAP) == []
            continue
        stack_release = next(r for r in children.all(T.HELM_RELEASE) if r.inputs["chart"] == "kube-prometheus-stack")
        spec = stack_release.inputs["values"]["prometheus"]["prometheusSpec"]
        assert not spec["serviceMonitorSelectorNilUsesHelmValues"] and not spec["ruleSelectorNilUsesHelmValues"]
        # The scraper the serving namespace's ingress fence admits is this Prometheus.
        namespace, labels = decision.profile.elastic.scraper
        assert stack_release.inputs["namespace"] == namespace and dict(labels) == {
            "app.kubernetes.io/name": "prometheus"}
        dashboards = children.one(T.CONFIG_MAP)
        assert dashboards.inputs["metadata"]["labels"] == {"grafana_dashboard": "1"}
        assert {name: json.loads(body) for name, body in dashboards.inputs["data"].items()} == {
            p.name: json.loads(p.read_text()) for p in DASHBOARDS.glob("*.json")}
        assert stack_release.urn in dashboards.options["dependsOn"]   # its namespace comes with the release


@pytest.mark.parametrize("stack", STACKS)
def test_model_servers_and_alerts_wait_for_the_releases_installing_their_crds(plans, stack):
    graph = Graph.of(plans[stack])
    for cloud, (decision, children) in _platforms(plans[stack]).items():
        installers = {r.urn for r in children.all(T.HELM_RELEASE) if r.inputs["chart"] != "dcgm-exporter"}
        charts = [c for c in graph.all(T.HELM_CHART) if c.provider.rsplit("::", 1)[-1] == decision.plan.name]
        assert charts and all(installers <= set(c.options["dependsOn"]) for c in charts)
        alerts = graph.component(T.SERVING_ALERTS, name=decision.plan.name).all()
        assert alerts and all(installers <= set(a.options["dependsOn"]) for a in alerts)


@pytest.mark.parametrize("stack", STACKS)
def test_keda_reads_managed_prometheus_as_its_own_google_account_with_read_only_metrics(plans, stack):
    graph = Graph.of(plans[stack])
    for cloud, (decision, children) in _platforms(plans[stack]).items():
        keda = next(r for r in children.all(T.HELM_RELEASE) if r.inputs["chart"] == "keda")
        if not decision.profile.elastic.keda_identity:
            assert "podIdentity" not in keda.inputs["values"]
            continue
        project = decision.plan.cloud.project
        binding = graph.one(T.SERVICE_ACCOUNT_IAM_MEMBER, name=f"{decision.plan.name}-{KEDA_OPERATOR}-workload-identity")
        assert binding.inputs["member"] == f"serviceAccount:{project}.svc.id.goog[{KEDA_NAMESPACE}/{KEDA_OPERATOR}]"
        assert binding.inputs["role"] == "roles/iam.workloadIdentityUser"
        account = graph.one(T.SERVICE_ACCOUNT, name=f"{decision.plan.name}-keda")
        [role] = [m for m in graph.all(T.PROJECT_IAM_MEMBER) if m.name == f"{decision.plan.name}-keda-metrics"]
        assert role.inputs["role"] == "roles/monitoring.viewer"
        email = f"{account.inputs['accountId']}@{project}.iam.gserviceaccount.com"
        assert keda.inputs["values"]["podIdentity"] == {"gcp": {"enabled": True, "gcpIAMServiceAccount": email}}
        assert profile(cloud).elastic.query_address.startswith("https://monitoring.googleapis.com/")


@pytest.mark.parametrize("stack", STACKS)
def test_a_private_gke_control_plane_reaches_kedas_metrics_api_and_webhooks(plans, stack):
    """GKE admits its control plane on 443 and 10250 only: KEDA's ports need a rule, or its HPAs get no metrics."""
    graph = Graph.of(plans[stack])
    for decision in plans[stack].decisions.clusters:
        rules = [f for f in graph.all("gcp:compute/firewall:Firewall") if f.name.startswith(decision.plan.name)]
        if decision.cloud != "gcp":
            assert rules == []
            continue
        [rule] = rules
        assert rule.inputs["direction"] == "INGRESS"
        assert rule.inputs["sourceRanges"] == [decision.plan.network.master_cidr]
        assert rule.inputs["allows"] == [{"protocol": "tcp", "ports": list(KEDA_CONTROL_PLANE_PORTS)}]
