"""The sovereign-inference policy pack: one module per fence, every policy mandatory.

PACK_NAME and POLICIES are what __main__.py serves under `pulumi preview --policy-pack policypack` and what the
test harness (runner.py) evaluates, so both run the same policy objects.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel

from . import buckets, clusters, egress, gateway, secrets, serving, workloads

PACK_NAME = "sovereign-inference"
ENFORCEMENT = EnforcementLevel.MANDATORY
POLICIES = [
    *egress.POLICIES,      # pod-fqdn-allow-no-denied-host, ngfw-allow-no-denied-host, dns-firewall-allow-no-denied-host
    *gateway.POLICIES,     # gateway-routes-no-denied-host
    *workloads.POLICIES,   # gpu-workloads-request-and-tolerate-gpus, serving-containers-set-limits
    *buckets.POLICIES,     # s3-buckets-private-encrypted-versioned, gcs-buckets-private-versioned,
                           # buckets-grant-no-public-access
    *clusters.POLICIES,    # cluster-endpoints-not-public
    *secrets.POLICIES,     # configmaps-hold-no-secrets, container-env-holds-no-secrets, chart-values-hold-no-secrets
    *serving.POLICIES,     # serving-provider-remains
]

__all__ = ["ENFORCEMENT", "PACK_NAME", "POLICIES"]
