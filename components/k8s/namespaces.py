"""The platform's namespaces in a cluster, created before anything is installed or fenced in them."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from sovereign.domain.workloads import GATEWAY_NAMESPACE, SERVING_NAMESPACE

# vLLM and the gateway run non-root with RuntimeDefault seccomp; "restricted" is enforced so a chart
# change that weakens that is refused by the API server, not discovered in an audit.
_POD_SECURITY = {"pod-security.kubernetes.io/enforce": "restricted",
                 "pod-security.kubernetes.io/enforce-version": "latest"}


def namespaces(prefix: str, opts: pulumi.ResourceOptions) -> dict[str, k8s.core.v1.Namespace]:
    return {ns: k8s.core.v1.Namespace(f"{prefix}-{ns}", metadata={
        "name": ns, "labels": {**_POD_SECURITY, "app.kubernetes.io/part-of": "sovereign-inference"}}, opts=opts)
            for ns in (SERVING_NAMESPACE, GATEWAY_NAMESPACE)}
