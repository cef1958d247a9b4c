"""`sovereign:k8s:ServingAlerts`: the serving alerts of one cluster, as the custom resource its rule evaluator reads.

The rules come decided (sovereign/domain/alerts.py), already in the kind the cloud's profile names: a
prometheus-operator PrometheusRule on EKS (kube-prometheus-stack picks up any PrometheusRule in any namespace
with `ruleSelectorNilUsesHelmValues: false`), a Google Managed Service for Prometheus Rules on GKE (evaluated by
the managed rule evaluator over the metrics of its own namespace). This component only registers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from sovereign.domain.alerts import AlertRules

_LABELS = {"app.kubernetes.io/part-of": "sovereign-serving", "app.kubernetes.io/component": "alerts"}


@dataclass(frozen=True)
class ServingAlertsArgs:
    rules: AlertRules
    k8s_provider: pulumi.ProviderResource
    cluster: pulumi.Resource                     # deleted with it
    # What must exist first: the rules' namespace, and whatever installs the CRD of their kind (the
    # kube-prometheus-stack release on EKS; GKE's managed Prometheus comes with the cluster).
    after: Sequence[pulumi.Resource] = field(default_factory=tuple)


class ServingAlerts(pulumi.ComponentResource):
    def __init__(self, name: str, args: ServingAlertsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:k8s:ServingAlerts", name, None, opts)
        rules = args.rules
        self.rules = k8s.apiextensions.CustomResource(
            f"{name}-serving-alerts", api_version=rules.api_version, kind=rules.kind,
            metadata={"name": rules.name, "namespace": rules.namespace, "labels": _LABELS},
            spec=rules.spec,
            opts=pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, deleted_with=args.cluster,
                                        depends_on=list(args.after)))
        self.register_outputs({"kind": rules.kind,
                               "alerts": [r["alert"] for g in rules.spec["groups"] for r in g["rules"]]})
