"""The pod layer's enforcer on EKS: Cilium chained to the VPC CNI, and its FQDN allowlists.

Why Cilium: EKS's own `ApplicationNetworkPolicy` domain rules are enforced only on Auto Mode nodes, not
on managed node groups, where they would silently allow everything. Cilium runs in chaining mode: the VPC
CNI keeps pod networking and IPAM, Cilium attaches its eBPF programs to the same interfaces and enforces
the NetworkPolicies and CiliumNetworkPolicies (the VPC CNI's policy agent is off, see addons.py).

Caveats, to check on every cluster before trusting the fence:
- Cilium's docs say L7 features "may be limited" in chaining mode, and FQDN rules need the L7 DNS proxy.
  Gate each cluster on `cilium connectivity test` (its to-fqdns tests must pass).
- Pods started before Cilium are not managed by it: restart every pod (coredns included) after the first
  install, or the kube-dns selector and the FQDN rules never match them.
- FQDN rules learn names only from pods' queries to the cluster DNS (kube-dns) through the DNS proxy;
  a pod resolving elsewhere (NodeLocal DNSCache, hostNetwork, DoH) learns nothing and is denied.
- The CRDs are registered by the Cilium operator when it starts, not by the chart: the policies wait for
  the release to be ready, so it must stay awaited.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from sovereign.domain.egress import HTTPS

CHART = "cilium"
REPO = "https://helm.cilium.io"
VERSION = "1.20.0"  # `**.` (multi-level wildcard) needs 1.19+
VALUES = {
    "cni": {"chainingMode": "aws-cni", "exclusive": False},  # leave the VPC CNI's config in place
    "enableIPv4Masquerade": False,  # the VPC CNI SNATs pod traffic leaving the VPC
    "routingMode": "native",
    "endpointRoutes": {"enabled": True},
    "l7Proxy": True,  # hosts the DNS proxy the FQDN rules learn from
}
API_VERSION, KIND = "cilium.io/v2", "CiliumNetworkPolicy"
_KUBE_DNS = {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns"}}
# Every query goes through the DNS proxy (that is how Cilium learns name → IP); which names resolve at all
# is the network layer's call.
_DNS_RULE = {"toEndpoints": [_KUBE_DNS],
             "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}], "rules": {"dns": [{"matchPattern": "*"}]}}]}


def cilium_release(name: str, opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
    return k8s.helm.v3.Release(
        f"{name}-{CHART}", name=CHART, chart=CHART, version=VERSION,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=REPO), namespace="kube-system", values=VALUES,
        opts=opts)


def _selector(host: str) -> dict[str, str]:
    """The plan's `*.x` means any name below x (DNS-firewall semantics); Cilium's `*.x` matches one label
    only, `**.x` any number (1.19+). Neither matches the apex x."""
    return {"matchPattern": f"**.{host[2:]}"} if host.startswith("*.") else {"matchName": host}


def _spec(pods: dict[str, str], hosts: list[str]) -> dict:
    """DNS through the proxy, then `hosts` on 443. Needs at least one host: an egress rule without peers
    would allow 443 to anywhere. toFQDNs can't share a rule with another to* selector, hence two rules."""
    if not hosts:
        raise ValueError("an FQDN rule without names would allow every destination")
    return {"endpointSelector": {"matchLabels": pods},
            "egress": [_DNS_RULE, {"toFQDNs": [_selector(h) for h in hosts],
                                   "toPorts": [{"ports": [{"port": str(HTTPS), "protocol": "TCP"}]}]}]}


def fqdn_policy(resource: str, namespace: str, name: str, pods: dict[str, str], hosts: list[str],
                opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        resource, api_version=API_VERSION, kind=KIND,
        metadata={"name": name, "namespace": namespace,
                  "labels": {"app.kubernetes.io/part-of": "sovereign-egress-fence"}},
        spec=_spec(pods, hosts), opts=opts)
