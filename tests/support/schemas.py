"""Validation of rendered Kubernetes objects against real schemas, shared by every test that renders.

Built-in kinds go through kubernetes-validate (strict) for the oldest Kubernetes the platform runs and
the newest the package ships; custom resources through their CRD JSON schema, vendored in tests/crds (source,
licence and versions in tests/crds/README.md). A kind neither knows is an error, so nothing goes unvalidated.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest

CRD_SCHEMAS = Path(__file__).resolve().parents[1] / "crds"
KUBE_VERSIONS = ("1.33.0", kubernetes_validate.latest_version())
CRD_FILES = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh/scaledobject_v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda.sh/triggerauthentication_v1alpha1.json",
    ("monitoring.googleapis.com/v1", "PodMonitoring"): "monitoring.googleapis.com/podmonitoring_v1.json",
    ("karpenter.sh/v1", "NodePool"): "karpenter.sh/nodepool_v1.json",
    ("karpenter.k8s.aws/v1", "EC2NodeClass"): "karpenter.k8s.aws/ec2nodeclass_v1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring.coreos.com/servicemonitor_v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "monitoring.coreos.com/prometheusrule_v1.json",
    ("monitoring.googleapis.com/v1", "Rules"): "monitoring.googleapis.com/rules_v1.json",
    ("cilium.io/v2", "CiliumNetworkPolicy"): "cilium.io/ciliumnetworkpolicy_v2.json",
    ("networking.gke.io/v1alpha1", "FQDNNetworkPolicy"): "networking.gke.io/fqdnnetworkpolicy_v1alpha1.json",
    ("gateway.networking.k8s.io/v1", "Gateway"): "gateway.networking.k8s.io/gateway_v1.json",
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "gateway.networking.k8s.io/httproute_v1.json",
    ("networking.gke.io/v1", "GCPBackendPolicy"): "networking.gke.io/gcpbackendpolicy_v1.json",
    ("networking.gke.io/v1", "HealthCheckPolicy"): "networking.gke.io/healthcheckpolicy_v1.json",
    ("networking.gke.io/v1", "GCPGatewayPolicy"): "networking.gke.io/gcpgatewaypolicy_v1.json",
}


@functools.cache
def crd_validator(api_version: str, kind: str) -> jsonschema.Validator:
    path = CRD_SCHEMAS / CRD_FILES[(api_version, kind)]
    if not path.is_file():
        pytest.fail(f"CRD schema {path} is missing from the vendored schemas (tests/crds/README.md)", pytrace=False)
    # iter_errors, not jsonschema.validate: some CRD schemas hold Go regexes Python's meta-check rejects.
    return jsonschema.Draft7Validator(json.loads(path.read_text()))


def schema_errors(doc: dict) -> list[str]:
    key = (doc["apiVersion"], doc["kind"])
    name = f"{doc['kind']}/{doc['metadata']['name']}"
    if key in CRD_FILES:
        return [f"{name}: {'.'.join(map(str, e.absolute_path))}: {e.message}"
                for e in crd_validator(*key).iter_errors(doc)]
    errors = []
    for version in KUBE_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            errors.append(f"{name} (k8s {version}): {'.'.join(map(str, e.path))}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            errors.append(f"{name}: no schema: {e.message}")
    return errors
