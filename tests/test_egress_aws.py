"""`sovereign:aws:EgressFence` as the engine receives it, for every stack with an AWS cluster.

Hostnames are read back from the registered resources' inputs at each layer — the gateway's and model
servers' CiliumNetworkPolicies (pod layer), the DNS Firewall domain lists by the action of the rule that
uses them (network layer) — and compared with the verdicts, never with the EgressPlan the fence was given.
"""

from __future__ import annotations

import json
import re

import pytest

from sovereign.domain.workloads import GATEWAY_NAMESPACE, GATEWAY_POD_LABELS, SERVING_NAMESPACE, SERVING_POD_LABELS
from sovereign.engine.graph import RegisteredResource
from sovereign.engine.run import Plan

from .conftest import AWS_STACKS
from .schemas import schema_errors

SOVEREIGN_ONLY = "cn-north"

FENCE = "sovereign:aws:EgressFence"
GPU_CLUSTER = "sovereign:aws:GpuCluster"
CNP = "kubernetes:cilium.io/v2:CiliumNetworkPolicy"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
DOMAIN_LIST = "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList"
RULE = "aws:route53/resolverFirewallRule:ResolverFirewallRule"
RULE_GROUP = "aws:route53/resolverFirewallRuleGroup:ResolverFirewallRuleGroup"
ASSOCIATION = "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation"
FIREWALL_CONFIG = "aws:route53/resolverFirewallConfig:ResolverFirewallConfig"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
CLUSTER = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
K8S_PROVIDER = "pulumi:providers:kubernetes"
KUBE_DNS = {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns"}
# DNS Firewall syntax: lowercase labels, an optional leading "*." and no trailing dot.
FIREWALL_DOMAIN = re.compile(r"(\*\.)?([a-z0-9_-]+\.)+[a-z0-9-]+")


class FenceGraph:
    """The resources registered under one stack's AWS egress fence, with the cluster they guard."""

    def __init__(self, plan: Plan):
        assert plan.ok, plan.errors
        self.plan = plan
        self.by_urn = {r.urn: r for r in plan.resources}
        [self.component] = [r for r in plan.resources if r.type == FENCE]
        [cluster_component] = [r for r in plan.resources if r.type == GPU_CLUSTER]
        self.children = [r for r in plan.resources if r.parent == self.component.urn]
        self.cluster_children = [r for r in plan.resources if r.parent == cluster_component.urn]
        [self.k8s_provider] = [r for r in self.cluster_children if r.type == K8S_PROVIDER]
        [self.aws_provider] = [r for r in plan.resources if r.type == "pulumi:providers:aws"
                               and r.name == f"{plan.spec.name}-aws"]

    def all(self, typ: str) -> list[RegisteredResource]:
        return [r for r in self.children if r.type == typ]

    def one(self, typ: str) -> RegisteredResource:
        [found] = self.all(typ)
        return found

    def cluster_one(self, typ: str) -> RegisteredResource:
        [found] = [r for r in self.cluster_children if r.type == typ]
        return found

    def deps(self, resource: RegisteredResource, typ: str) -> list[RegisteredResource]:
        return [self.by_urn[u] for u in resource.options.get("dependsOn", []) if self.by_urn[u].type == typ]

    def cnp(self, namespace: str) -> RegisteredResource | None:
        found = [r for r in self.all(CNP) if r.inputs["metadata"]["namespace"] == namespace]
        assert len(found) <= 1, found
        return found[0] if found else None

    def pod_allowed(self, namespace: str) -> list[str]:
        """The names a namespace's CiliumNetworkPolicy opens, in the plan's syntax (`**.x` is the plan's `*.x`)."""
        policy = self.cnp(namespace)
        if policy is None:
            return []
        hosts = []
        for rule in policy.inputs["spec"]["egress"]:
            for selector in rule.get("toFQDNs", []):
                if "matchName" in selector:
                    hosts.append(selector["matchName"])
                else:
                    pattern = selector["matchPattern"]
                    # Multi-level, like the plan's wildcard; one "*." would match a single label only.
                    assert pattern.startswith("**.") and "*" not in pattern[3:], pattern
                    hosts.append(pattern[1:])
        return hosts

    def rules(self) -> dict[str, RegisteredResource]:
        rules = {r.inputs["action"]: r for r in self.all(RULE)}
        assert len(rules) == len(self.all(RULE)), "one rule per action"
        return rules

    def firewall_domains(self, action: str) -> list[str]:
        """The domains of the list the `action` rule uses; none if there is no such rule."""
        rule = self.rules().get(action)
        if rule is None:
            return []
        [domain_list] = self.deps(rule, DOMAIN_LIST)
        return domain_list.inputs["domains"]


def reachable_hosts(plan: Plan) -> set[str]:
    return {h for v in plan.verdicts if v.reachable for h in v.hosts}


def denied_hosts(plan: Plan) -> set[str]:
    return {h for v in plan.verdicts if not v.allowed for h in v.blocked_hosts}


def overlap(a: str, b: str) -> bool:
    """Whether two names or `*.` patterns (any name below, never the apex) select a common name."""
    def covers(pattern: str, name: str) -> bool:
        return pattern.startswith("*.") and name.removeprefix("*.").endswith(pattern[1:])
    return a == b or covers(a, b) or covers(b, a)


@pytest.fixture
def graph(plans, stack):
    return FenceGraph(plans[stack])


def test_there_are_aws_stacks_and_a_sovereign_only_one():
    assert len(AWS_STACKS) >= 3 and SOVEREIGN_ONLY in AWS_STACKS


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_gateway_pods_reach_exactly_the_reachable_hosts(graph):
    allowed = graph.pod_allowed(GATEWAY_NAMESPACE)
    assert len(allowed) == len(set(allowed))
    assert set(allowed) == reachable_hosts(graph.plan)
    policy = graph.cnp(GATEWAY_NAMESPACE)
    if policy is not None:
        assert policy.inputs["spec"]["endpointSelector"] == {"matchLabels": GATEWAY_POD_LABELS}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_dns_firewall_allows_the_reachable_hosts_and_blocks_every_denied_providers_hosts(graph):
    allowed, blocked = graph.firewall_domains("ALLOW"), graph.firewall_domains("BLOCK")
    assert set(allowed) == reachable_hosts(graph.plan) and len(allowed) == len(set(allowed))
    assert set(blocked) == denied_hosts(graph.plan) and len(blocked) == len(set(blocked))
    assert blocked, "every stack denies at least one provider"
    rules = graph.rules()
    assert set(rules) == ({"ALLOW", "BLOCK"} if allowed else {"BLOCK"})
    # First match wins: the ALLOW rule is evaluated before the BLOCK rule.
    if allowed:
        assert rules["ALLOW"].inputs["priority"] < rules["BLOCK"].inputs["priority"]
        assert "blockResponse" not in rules["ALLOW"].inputs
    assert rules["BLOCK"].inputs["blockResponse"] == "NXDOMAIN"
    group = graph.one(RULE_GROUP)
    for rule in rules.values():
        assert graph.deps(rule, RULE_GROUP) == [group]
        assert rule.inputs["firewallDomainRedirectionAction"] == "INSPECT_REDIRECTION_DOMAIN"
    for domain in allowed + blocked:
        assert FIREWALL_DOMAIN.fullmatch(domain), domain


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_no_denied_host_is_opened_anywhere(graph):
    denied = denied_hosts(graph.plan)
    opened = {*graph.firewall_domains("ALLOW"), *graph.pod_allowed(GATEWAY_NAMESPACE),
              *graph.pod_allowed(SERVING_NAMESPACE)}
    assert opened
    clashes = [(host, pattern) for host in opened for pattern in denied if overlap(host, pattern)]
    assert clashes == []


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_model_servers_reach_only_their_regions_object_store_and_token_service(graph):
    region = graph.plan.decisions.cluster("aws").plan.cloud.region
    platform = graph.pod_allowed(SERVING_NAMESPACE)
    assert sorted(platform) == sorted([f"*.s3.{region.name}.{region.dns_suffix}",
                                       f"s3.{region.name}.{region.dns_suffix}",
                                       f"sts.{region.name}.{region.dns_suffix}"])
    assert graph.cnp(SERVING_NAMESPACE).inputs["spec"]["endpointSelector"] == {"matchLabels": SERVING_POD_LABELS}
    # Platform hosts are no managed API: neither opened for the gateway nor named by the DNS firewall.
    listed = {*graph.pod_allowed(GATEWAY_NAMESPACE), *graph.firewall_domains("ALLOW"), *graph.firewall_domains("BLOCK")}
    assert not listed & set(platform)


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_cilium_policies_validate_and_send_dns_through_the_proxy_before_the_fqdn_rule(graph):
    cilium = graph.one(RELEASE)
    namespaces = {r.urn for r in graph.plan.resources if r.type == NAMESPACE
                  and r.provider == graph.k8s_provider.urn}
    assert len(namespaces) == 2
    policies = graph.all(CNP)
    assert {p.inputs["metadata"]["namespace"] for p in policies} <= {GATEWAY_NAMESPACE, SERVING_NAMESPACE}
    for policy in policies:
        doc = policy.inputs
        assert schema_errors(doc) == []
        dns, fqdns = doc["spec"]["egress"]
        assert dns == {"toEndpoints": [{"matchLabels": KUBE_DNS}],
                       "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}],
                                    "rules": {"dns": [{"matchPattern": "*"}]}}]}
        # toFQDNs alone in its rule and never empty: a rule without peers would open 443 to anywhere.
        assert set(fqdns) == {"toFQDNs", "toPorts"} and fqdns["toFQDNs"]
        assert fqdns["toPorts"] == [{"ports": [{"port": "443", "protocol": "TCP"}]}]
        assert policy.provider == graph.k8s_provider.urn
        assert policy.options["deletedWith"] == graph.cluster_one(CLUSTER).urn
        # The CRD comes with the Cilium operator; the namespace must exist.
        assert {cilium.urn, *namespaces} <= set(policy.options["dependsOn"])


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_shared_network_policies_fence_both_namespaces_and_validate(graph):
    policies = graph.all(NETWORK_POLICY)
    namespaces = {r.urn for r in graph.plan.resources if r.type == NAMESPACE
                  and r.provider == graph.k8s_provider.urn}
    # Every pod selected, egress policed, nothing allowed.
    default_deny = {p.inputs["metadata"]["namespace"] for p in policies
                    if not p.inputs["spec"]["podSelector"].get("matchLabels") and not p.inputs["spec"].get("egress")
                    and p.inputs["spec"]["policyTypes"] == ["Egress"]}
    assert default_deny == {GATEWAY_NAMESPACE, SERVING_NAMESPACE}
    for policy in policies:
        assert schema_errors(policy.inputs) == []
        assert policy.provider == graph.k8s_provider.urn
        assert policy.options["deletedWith"] == graph.cluster_one(CLUSTER).urn
        assert namespaces <= set(policy.options["dependsOn"])


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_dns_firewall_guards_the_cluster_vpc_and_fails_closed(graph):
    vpc = graph.cluster_one(VPC)
    [vpc_id] = {s.inputs["vpcId"] for s in graph.cluster_children if s.type == SUBNET}
    association = graph.one(ASSOCIATION)
    assert association.inputs["vpcId"] == vpc_id and graph.deps(association, VPC) == [vpc]
    assert graph.deps(association, RULE_GROUP) == [graph.one(RULE_GROUP)]
    # Associated only once every rule is in the group.
    assert {r.urn for r in graph.deps(association, RULE)} == {r.urn for r in graph.rules().values()}
    assert 101 <= association.inputs["priority"] <= 9899
    assert association.inputs["mutationProtection"] == "ENABLED"
    config = graph.one(FIREWALL_CONFIG)
    assert config.inputs["resourceId"] == vpc_id and graph.deps(config, VPC) == [vpc]
    assert config.inputs["firewallFailOpen"] == "DISABLED"
    aws = [r for r in graph.children if r.type.startswith("aws:")]
    assert len(aws) >= 5 and {r.provider for r in aws} == {graph.aws_provider.urn}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_cilium_chained_to_the_vpc_cni_is_the_only_policy_enforcer(graph):
    [vpc_cni] = [a for a in graph.cluster_children if a.type == ADDON and a.inputs["addonName"] == "vpc-cni"]
    assert json.loads(vpc_cni.inputs["configurationValues"]) == {"enableNetworkPolicy": "false"}
    cilium = graph.one(RELEASE)
    assert (cilium.inputs["chart"], cilium.inputs["namespace"]) == ("cilium", "kube-system")
    assert cilium.inputs["repositoryOpts"]["repo"] == "https://helm.cilium.io"
    assert re.fullmatch(r"1\.20\.\d+", cilium.inputs["version"])
    values = cilium.inputs["values"]
    assert values["cni"] == {"chainingMode": "aws-cni", "exclusive": False}
    assert values["enableIPv4Masquerade"] is False and values["routingMode"] == "native"
    assert values["endpointRoutes"] == {"enabled": True}
    assert values.get("l7Proxy", True) is True  # the DNS proxy FQDN rules learn from
    assert cilium.provider == graph.k8s_provider.urn
    assert cilium.options["deletedWith"] == graph.cluster_one(CLUSTER).urn


def test_sovereign_only_stack_opens_no_managed_api_host_and_blocks_every_denied_one(plans):
    graph = FenceGraph(plans[SOVEREIGN_ONLY])
    verdicts = graph.plan.verdicts
    assert not any(v.reachable for v in verdicts) and any(v.requested for v in verdicts)
    assert graph.cnp(GATEWAY_NAMESPACE) is None
    assert graph.pod_allowed(GATEWAY_NAMESPACE) == [] and graph.firewall_domains("ALLOW") == []
    assert set(graph.rules()) == {"BLOCK"} and len(graph.all(DOMAIN_LIST)) == 1
    blocked = set(graph.firewall_domains("BLOCK"))
    denied = [v for v in verdicts if not v.allowed]
    assert {v.provider for v in denied} >= {v.provider for v in verdicts if v.requested}
    for verdict in denied:
        assert verdict.blocked_hosts and set(verdict.blocked_hosts) <= blocked, verdict.provider
    # Only the model servers' platform hosts are opened, and none is a managed-API host.
    opened = graph.pod_allowed(SERVING_NAMESPACE)
    assert opened and not [h for h in opened for p in blocked if overlap(h, p)]


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_hosts_output_is_what_the_resources_render(graph):
    assert graph.plan.outputs["egress"]["aws"] == {
        "pod": {"allowed": graph.pod_allowed(GATEWAY_NAMESPACE), "denied": []},
        "network": {"allowed": graph.firewall_domains("ALLOW"), "denied": graph.firewall_domains("BLOCK")},
    }
