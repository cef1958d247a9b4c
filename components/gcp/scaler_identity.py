"""KEDA's Google identity on GKE: it queries Managed Service for Prometheus as a Google service account of its
own through Workload Identity (no key), holding roles/monitoring.viewer (read metrics) and nothing else.
https://keda.sh/docs/latest/authentication-providers/gcp-workload-identity/
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from ..k8s.elastic_platform import KEDA_NAMESPACE, KEDA_OPERATOR
from .identity import workload_account

METRICS_READER = "roles/monitoring.viewer"


def keda_identity(name: str, project: str, cluster: pulumi.Resource, provider: pulumi.ProviderResource,
                  parent: pulumi.Resource) -> dict[str, Any]:
    """The KEDA chart's values that make its operator act as that account."""
    # After the cluster, which creates the Workload Identity pool the binding names.
    opts = pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[cluster])
    account = workload_account(f"{name}-keda", name, "keda", f"KEDA of {name}: reads serving metrics", project,
                               [(KEDA_NAMESPACE, KEDA_OPERATOR)], opts)
    gcp.projects.IAMMember(f"{name}-keda-metrics", project=project, role=METRICS_READER, member=account.member,
                           opts=opts)
    return {"podIdentity": {"gcp": {"enabled": True, "gcpIAMServiceAccount": account.email}}}
