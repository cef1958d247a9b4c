"""The cloud-neutral part of the pod-layer fence: Kubernetes NetworkPolicies in both namespaces.

Default-deny egress, DNS to the cluster resolver, gateway → model servers, and the serving pods'
platform hosts are plain NetworkPolicy (enforced by Cilium on EKS and Dataplane V2 on GKE). The
managed-API FQDN allowlist is cloud-specific and lives with each cloud's fence.

Ingress to the model servers: from the gateway's pods (no other pod may skip the gateway's key and routes), and
from the metrics pipeline's scrapers, which reach /metrics on the same port (vLLM answers /v1 only with the key).
Kubelet probes come from the node, which NetworkPolicy always admits.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from sovereign.domain.workloads import (
    GATEWAY_NAMESPACE, GATEWAY_POD_LABELS, NAMESPACE_LABEL, SERVING_NAMESPACE, SERVING_POD_LABELS, SERVING_PORT,
)

FENCED_NAMESPACES = (SERVING_NAMESPACE, GATEWAY_NAMESPACE)
NODE_LOCAL_DNS = "169.254.20.10/32"  # NodeLocal DNSCache's link-local address (GKE enables it by default)
_DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
_KUBE_DNS = {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: "kube-system"}},
             "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}


def network_policies(name: str, scraper: tuple[str, tuple[tuple[str, str], ...]],
                     opts: pulumi.ResourceOptions) -> list[k8s.networking.v1.NetworkPolicy]:
    """Default deny plus the in-cluster allows, in every fenced namespace. `scraper`: the namespace and pod labels of
    what scrapes the model servers (the cloud profile's)."""
    scraper_namespace, scraper_labels = scraper
    policies = []
    for namespace in FENCED_NAMESPACES:
        policies += [
            _policy(f"{name}-{namespace}-default-deny", namespace, "default-deny-egress", {}, [], opts),
            _policy(f"{name}-{namespace}-dns", namespace, "allow-dns", {},
                    [{"to": [_KUBE_DNS, {"ipBlock": {"cidr": NODE_LOCAL_DNS}}], "ports": _DNS_PORTS}], opts),
        ]
    policies.append(_policy(
        f"{name}-gateway-to-serving", GATEWAY_NAMESPACE, "allow-gateway-to-model-servers", GATEWAY_POD_LABELS,
        [{"to": [{"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: SERVING_NAMESPACE}},
                  "podSelector": {"matchLabels": SERVING_POD_LABELS}}],
          "ports": [{"protocol": "TCP", "port": SERVING_PORT}]}], opts))
    policies.append(_policy(
        f"{name}-serving-from-gateway", SERVING_NAMESPACE, "allow-only-the-gateway-in", SERVING_POD_LABELS,
        [{"from": [{"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: GATEWAY_NAMESPACE}},
                    "podSelector": {"matchLabels": GATEWAY_POD_LABELS}},
                   {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: scraper_namespace}},
                    "podSelector": {"matchLabels": dict(scraper_labels)}}],
          "ports": [{"protocol": "TCP", "port": SERVING_PORT}]}], opts, direction="Ingress"))
    return policies


def _policy(resource: str, namespace: str, name: str, pods: dict, rules: list,
            opts: pulumi.ResourceOptions, direction: str = "Egress") -> k8s.networking.v1.NetworkPolicy:
    return k8s.networking.v1.NetworkPolicy(
        resource,
        metadata={"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/part-of": "sovereign-egress-fence"}},
        spec={"podSelector": {"matchLabels": pods}, "policyTypes": [direction], direction.lower(): rules},
        opts=opts)
