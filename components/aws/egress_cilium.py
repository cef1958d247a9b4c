"""Cilium on EKS: the cluster's only CNI, in ENI mode, and the FQDN allowlists it enforces.

Why Cilium, and why alone: EKS's own `ApplicationNetworkPolicy` domain rules are enforced only on Auto Mode
nodes, not on managed node groups, where they would silently allow everything. Cilium chained to the VPC CNI
does not support L7 policies, FQDN rules included (cilium/cilium#17122; its AWS-CNI conformance workflow
skips the to-fqdns tests), so the FQDN fence would not hold. ENI mode is the mode Cilium documents and
tests for EKS (docs.cilium.io, Installation using Helm, EKS tab): Cilium's operator allocates VPC addresses
from ENIs for every pod (native routing, like the VPC CNI), and its agent enforces NetworkPolicies,
CiliumNetworkPolicies and the DNS proxy the FQDN rules learn from. The cluster is created without EKS's
self-managed add-ons (no aws-node to fight over the ENIs), and every node group carries the
`node.cilium.io/agent-not-ready` taint until the agent runs on it (the operator then lifts it), so no pod ever
starts unfenced.

Checks only a real cluster makes: `cilium status` and `cilium connectivity test` (its to-fqdns tests must
pass) before trusting the fence; FQDN rules learn names only from pods' queries through the agent's DNS
proxy, so a pod resolving elsewhere (hostNetwork, DoH) learns nothing and is denied.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from sovereign.domain.egress import HTTPS

CHART = "cilium"
REPO = "https://helm.cilium.io"
VERSION = "1.20.0"  # `**.` (multi-level wildcard) needs 1.19+
VALUES = {
    "eni": {"enabled": True},
    "ipam": {"mode": "eni"},
    "routingMode": "native",
    "l7Proxy": True,  # hosts the DNS proxy the FQDN rules learn from
}
# Removed from each node by Cilium's operator once the agent runs there.
AGENT_NOT_READY_TAINT = ("node.cilium.io/agent-not-ready", "true", "NoExecute")
# Long enough for the node groups created beside the release to launch and join (helm's default is 5 min).
RELEASE_TIMEOUT_S = 1800
OPERATOR_SERVICE_ACCOUNT = ("kube-system", "cilium-operator")
# What the operator calls to create ENIs and hand out their addresses (docs.cilium.io, AWS ENI IPAM,
# Required Privileges), DescribeTags for ENI garbage collection and UnassignPrivateIpAddresses to release.
OPERATOR_EC2_ACTIONS = (
    "ec2:DeleteNetworkInterface", "ec2:DescribeInstanceTypes", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
    "ec2:DescribeVpcs", "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups", "ec2:CreateNetworkInterface",
    "ec2:AttachNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute", "ec2:AssignPrivateIpAddresses",
    "ec2:CreateTags", "ec2:DescribeTags", "ec2:UnassignPrivateIpAddresses",
)
API_VERSION, KIND = "cilium.io/v2", "CiliumNetworkPolicy"
_KUBE_DNS = {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns"}}
# Every query goes through the DNS proxy (that is how Cilium learns name → IP); which names resolve at all
# is the network layer's call.
_DNS_RULE = {"toEndpoints": [_KUBE_DNS],
             "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}], "rules": {"dns": [{"matchPattern": "*"}]}}]}


def cilium_release(name: str, operator_role_arn: pulumi.Input[str], images: dict,
                   opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
    """Awaited until its agents and operator run (nodes joining meanwhile): the policy CRDs exist once the
    operator is up, and the fences wait for this release. `images`: `image_values`."""
    return k8s.helm.v3.Release(
        f"{name}-{CHART}", name=CHART, chart=CHART, version=VERSION, timeout=RELEASE_TIMEOUT_S,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=REPO), namespace="kube-system",
        values={**VALUES, **images, "serviceAccounts": {"operator": {
            "name": OPERATOR_SERVICE_ACCOUNT[1], "annotations": {"eks.amazonaws.com/role-arn": operator_role_arn}}}},
        opts=opts)


# The chart's images, all on quay.io/cilium; the chart pins each by digest (useDigest, unless the mirror cannot serve
# that) and appends the operator's cloud ("-aws" in ENI mode) to its repository itself.
IMAGE_KEYS = {("image",): "cilium", ("operator", "image"): "operator", ("envoy", "image"): "cilium-envoy"}
UPSTREAM = "quay.io"


def image_values(registry: pulumi.Input[str], mirror: str | None, by_digest: bool) -> dict:
    """The chart's image repositories moved to the cluster's quay.io mirror (none without one), named by tag only
    where the mirror cannot serve a first pull by digest."""
    if mirror is None:
        return {}
    values: dict = {}
    for path, repository in IMAGE_KEYS.items():
        node = values
        for key in path:
            node = node.setdefault(key, {})
        node["repository"] = pulumi.Output.concat(registry, f"/{mirror}/cilium/{repository}")
        if not by_digest:
            node["useDigest"] = False
    return values


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
