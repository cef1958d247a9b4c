"""`sovereign:k8s:ElasticPlatform`: what a cluster runs so its models can follow their queue.

KEDA on every cluster (it reads the queue and owns the model servers' replica counts). Where the cloud has no
managed collector for the cluster (profile.elastic.prometheus_in_cluster: EKS), the metrics pipeline as well:
kube-prometheus-stack (the prometheus-operator, Prometheus, Alertmanager, Grafana with the repository's
dashboards) and NVIDIA's dcgm-exporter on the GPU nodes. On GKE, Managed Service for Prometheus and its DCGM
component come with the cluster (components/gcp/cluster.py).

Every image comes through the cluster's registry mirrors (the network layer lets no node reach a public registry);
the charts keep their own tags and digests. Chart versions are pinned; the CRD schemas the tests validate against
are vendored in tests/crds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from sovereign.clouds import ElasticServing
from sovereign.domain.images import ClusterImages
from sovereign.domain.topology import GPU_LABEL, GPU_TAINT

KEDA = ("keda", "https://kedacore.github.io/charts", "2.20.2")
KEDA_NAMESPACE, KEDA_OPERATOR = "keda", "keda-operator"
# Where the control plane calls KEDA: its external-metrics API server and its admission webhooks (the chart's
# metricsServer.portHttpsTarget and webhooks.port).
KEDA_CONTROL_PLANE_PORTS = ("6443", "9443")
PROMETHEUS_STACK = ("kube-prometheus-stack", "https://prometheus-community.github.io/helm-charts", "88.5.3")
MONITORING_NAMESPACE = "monitoring"
DCGM_EXPORTER = ("dcgm-exporter", "https://nvidia.github.io/dcgm-exporter/helm-charts", "4.8.2")
DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
# How long Prometheus keeps samples on its pod's volume (an emptyDir: lost when the pod moves; long-term
# history is not what the scaler or the alerts read).
RETENTION = "3d"


@dataclass(frozen=True)
class ElasticPlatformArgs:
    elastic: ElasticServing
    images: ClusterImages
    image_registry: pulumi.Input[str]            # the cluster's mirror registry host
    k8s_provider: pulumi.ProviderResource
    cluster: pulumi.Resource                     # everything here is deleted with it
    # The KEDA chart's values for its cloud identity, where its Prometheus API needs one (GKE Workload Identity).
    keda_identity: Mapping[str, Any] = field(default_factory=dict)


class ElasticPlatform(pulumi.ComponentResource):
    def __init__(self, name: str, args: ElasticPlatformArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:k8s:ElasticPlatform", name, None, opts)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, deleted_with=args.cluster)

        def registry(upstream: str) -> pulumi.Input[str]:
            mirror = args.images.chart_mirror(upstream)
            return pulumi.Output.concat(args.image_registry, "/", mirror) if mirror else upstream

        ghcr = {"registry": registry("ghcr.io")}
        self.keda = _release(f"{name}-keda", KEDA, KEDA_NAMESPACE, {
            "image": {"keda": ghcr, "metricsApiServer": ghcr, "webhooks": ghcr},
            # The ScaledObjects' CRDs come with the chart and stay when it is removed with the cluster.
            "crds": {"install": True},
            **args.keda_identity,
        }, on_cluster)
        # What a release rendering ScaledObjects, scrape objects or alerting rules must wait for: their CRDs.
        self.crds: list[pulumi.Resource] = [self.keda]
        if args.elastic.prometheus_in_cluster:
            self.crds.append(self._prometheus(name, registry, on_cluster))
        self.register_outputs({"releases": [r.name for r in self.crds]})

    def _prometheus(self, name: str, registry, opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
        quay = {"registry": registry("quay.io")}
        stack = _release(f"{name}-prometheus", PROMETHEUS_STACK, MONITORING_NAMESPACE, {
            "prometheusOperator": {"image": quay, "prometheusConfigReloader": {"image": quay},
                                   "admissionWebhooks": {"deployment": {"image": quay},
                                                         "patch": {"image": {"registry": registry("ghcr.io")}}}},
            "prometheus": {"prometheusSpec": {
                "image": quay, "retention": RETENTION,
                # Every ServiceMonitor, PodMonitor and PrometheusRule of the cluster, not only the chart's own.
                "serviceMonitorSelectorNilUsesHelmValues": False, "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False}},
            "alertmanager": {"alertmanagerSpec": {"image": quay}},
            "kube-state-metrics": {"image": {"registry": registry("registry.k8s.io")}},
            "prometheus-node-exporter": {"image": quay},
            "grafana": {"image": {"registry": registry("docker.io")},
                        # No calls home: the network layer blocks grafana.com, and every blocked lookup is a fence
                        # alarm (alerts.FENCE_ALERT).
                        "grafana.ini": {"analytics": {"check_for_updates": False, "check_for_plugin_updates": False,
                                                      "reporting_enabled": False},
                                        "news": {"news_feed_enabled": False},
                                        "plugins": {"preinstall_disabled": True}},
                        "sidecar": {"image": quay, "dashboards": {"enabled": True, "searchNamespace": "ALL"}},
                        "testFramework": {"enabled": False}},
            # EKS runs etcd, the scheduler and the controller manager out of the cluster's reach.
            "kubeEtcd": {"enabled": False}, "kubeScheduler": {"enabled": False},
            "kubeControllerManager": {"enabled": False},
        }, opts)
        # GPU utilisation and memory per device, scraped through the operator's ServiceMonitor.
        key, _, effect = GPU_TAINT
        _release(f"{name}-dcgm-exporter", DCGM_EXPORTER, MONITORING_NAMESPACE, {
            "tolerations": [{"key": key, "operator": "Exists", "effect": effect}],
            "nodeSelector": {},
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": GPU_LABEL, "operator": "Exists"}]}]}}},
            "serviceMonitor": {"enabled": True},
        }, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[stack])))
        k8s.core.v1.ConfigMap(
            f"{name}-dashboards",
            metadata={"name": "sovereign-dashboards", "namespace": MONITORING_NAMESPACE,
                      # Grafana's dashboard sidecar loads every ConfigMap carrying this label.
                      "labels": {"grafana_dashboard": "1"}},
            data={p.name: json.dumps(json.loads(p.read_text()), sort_keys=True) for p in sorted(DASHBOARDS.glob("*.json"))},
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[stack])))
        return stack


def _release(resource: str, chart: tuple[str, str, str], namespace: str, values: dict,
             opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
    name, repo, version = chart
    return k8s.helm.v3.Release(
        resource, name=name, chart=name, version=version, namespace=namespace, create_namespace=True,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repo), values=values, opts=opts)
