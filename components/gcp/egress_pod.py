"""GKE's part of the pod-layer fence: FQDNNetworkPolicy allowlists and the GKE metadata server.

FQDNNetworkPolicy (networking.gke.io/v1alpha1) only allows: it implicitly denies the other egress of
the pods it selects and adds to NetworkPolicy, so pod_fence's default deny stays the floor for every
pod. GKE enforces it only with Dataplane V2 and `enable_fqdn_network_policy` on the cluster (which is
also what installs the CRD), learns addresses from kube-dns answers only (at most 50 IPs per policy,
100 per hostname). Google documents it as a GKE Enterprise edition feature: the project needs that
edition (a licensing cost) for the allowlist to be a supported control.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from sovereign.domain.egress import HTTPS

FQDN_API_VERSION = "networking.gke.io/v1alpha1"
FQDN_KIND = "FQDNNetworkPolicy"
_LABELS = {"app.kubernetes.io/part-of": "sovereign-egress-fence"}
# Workload Identity tokens come from the node's GKE metadata server. Dataplane V2 matches the pod's
# view (169.254.169.254 on 80/8080); the server itself listens on 169.254.169.252:988.
_METADATA_SERVER = [
    {"to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}],
     "ports": [{"protocol": "TCP", "port": 80}, {"protocol": "TCP", "port": 8080}]},
    {"to": [{"ipBlock": {"cidr": "169.254.169.252/32"}}], "ports": [{"protocol": "TCP", "port": 988}]},
]


def fqdn_policy(resource: str, namespace: str, name: str, pods: dict[str, str], hosts: list[str],
                opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """HTTPS to `hosts` for the selected pods; `*.` names become single-label patterns."""
    return k8s.apiextensions.CustomResource(
        resource,
        api_version=FQDN_API_VERSION,
        kind=FQDN_KIND,
        metadata={"name": name, "namespace": namespace, "labels": _LABELS},
        spec={"podSelector": {"matchLabels": pods},
              "egress": [{"matches": [_match(h) for h in hosts],
                          "ports": [{"protocol": "TCP", "port": HTTPS}]}]},
        opts=opts)


def metadata_server_policy(resource: str, namespace: str, pods: dict[str, str],
                           opts: pulumi.ResourceOptions) -> k8s.networking.v1.NetworkPolicy:
    """Pods acting as their own Google identity (the model servers reading weights, the gateway calling Vertex)
    get its tokens from the metadata server."""
    return k8s.networking.v1.NetworkPolicy(
        resource,
        metadata={"name": "allow-gke-metadata-server", "namespace": namespace, "labels": _LABELS},
        spec={"podSelector": {"matchLabels": pods}, "policyTypes": ["Egress"], "egress": _METADATA_SERVER},
        opts=opts)


def _match(host: str) -> dict[str, str]:
    return {"pattern": host} if host.startswith("*.") else {"name": host}
