"""`sovereign:gcp:EgressFence` for every stack that runs GCP: the hosts each layer allows and blocks, read
from what the real program registers under mocks, are exactly the region's verdicts."""

from __future__ import annotations

import re

import pytest

from sovereign.domain.egress import matches, platform_hosts
from sovereign.domain.workloads import (
    GATEWAY_NAMESPACE, GATEWAY_POD_LABELS, SERVING_NAMESPACE, SERVING_POD_LABELS,
)

from .schemas import schema_errors
from .conftest import GCP_STACKS

FQDN_POLICY = "kubernetes:networking.gke.io/v1alpha1:FQDNNetworkPolicy"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
NGFW_POLICY = "gcp:compute/networkFirewallPolicy:NetworkFirewallPolicy"
NGFW_RULE = "gcp:compute/networkFirewallPolicyRule:NetworkFirewallPolicyRule"
NGFW_ASSOCIATION = "gcp:compute/networkFirewallPolicyAssociation:NetworkFirewallPolicyAssociation"
DNS_POLICY = "gcp:dns/responsePolicy:ResponsePolicy"
DNS_RULE = "gcp:dns/responsePolicyRule:ResponsePolicyRule"
HTTPS_TCP = [{"port": 443, "protocol": "TCP"}]
GCP_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


class Fence:
    """The resources one stack's GCP egress fence registered, and the hosts they name at each layer."""

    def __init__(self, plan):
        self.plan = plan
        self.cluster_plan = plan.decisions.cluster("gcp").plan
        [self.component] = [r for r in plan.resources if r.type == "sovereign:gcp:EgressFence"]
        self.children = [r for r in plan.resources if r.parent == self.component.urn]
        [self.cluster] = [r for r in plan.resources if r.type == "gcp:container/cluster:Cluster"]

    def all(self, type_: str):
        return [r for r in self.children if r.type == type_]

    def one(self, type_: str):
        [resource] = self.all(type_)
        return resource

    def fqdn_policy(self, namespace: str):
        found = [r for r in self.all(FQDN_POLICY) if r.inputs["metadata"]["namespace"] == namespace]
        assert len(found) <= 1
        return found[0] if found else None

    def fqdn_hosts(self, namespace: str) -> list[str]:
        policy = self.fqdn_policy(namespace)
        return [m.get("name") or m.get("pattern") for rule in (policy.inputs["spec"]["egress"] if policy else [])
                for m in rule["matches"]]

    def rules(self, action: str):
        return sorted((r for r in self.all(NGFW_RULE) if r.inputs["action"] == action),
                      key=lambda r: r.inputs["priority"])

    def ngfw_hosts(self, action: str) -> list[str]:
        return [h for r in self.rules(action) for h in r.inputs["match"]["destFqdns"]]

    def dns_blocked(self) -> list[str]:
        return [r.inputs["dnsName"].removesuffix(".") for r in self.all(DNS_RULE)]

    # What the verdicts decided, independently of the EgressPlan the component reads.
    def reachable(self) -> set[str]:
        return {h for v in self.plan.verdicts if v.reachable for h in v.hosts}

    def blocked(self) -> set[str]:
        return {h for v in self.plan.verdicts if not v.allowed for h in v.blocked_hosts}


@pytest.fixture
def fence(plans, request):
    return Fence(plans[request.param])


gcp_stacks = pytest.mark.parametrize("fence", GCP_STACKS, indirect=True)


def test_several_stacks_run_gcp_me_central_among_them():
    assert "me-central" in GCP_STACKS and len(GCP_STACKS) >= 2


@gcp_stacks
def test_gateway_pods_may_reach_exactly_the_reachable_hosts_on_443(fence):
    policy = fence.fqdn_policy(GATEWAY_NAMESPACE)
    assert fence.reachable(), "every GCP stack reaches some managed API"
    assert policy.inputs["spec"]["podSelector"] == {"matchLabels": GATEWAY_POD_LABELS}
    hosts = fence.fqdn_hosts(GATEWAY_NAMESPACE)
    assert sorted(hosts) == sorted(set(hosts)) == sorted(fence.reachable())
    for rule in policy.inputs["spec"]["egress"]:
        assert rule["ports"] == HTTPS_TCP
        for match in rule["matches"]:
            [(kind, host)] = match.items()
            assert kind == ("pattern" if host.startswith("*.") else "name")


@gcp_stacks
def test_model_servers_may_reach_only_their_clouds_platform_hosts(fence):
    policy = fence.fqdn_policy(SERVING_NAMESPACE)
    assert policy.inputs["spec"]["podSelector"] == {"matchLabels": SERVING_POD_LABELS}
    assert sorted(fence.fqdn_hosts(SERVING_NAMESPACE)) == sorted(platform_hosts(fence.cluster_plan.cloud))
    assert [r["ports"] for r in policy.inputs["spec"]["egress"]] == [HTTPS_TCP]
    assert not set(fence.fqdn_hosts(SERVING_NAMESPACE)) & (fence.reachable() | fence.blocked())


@gcp_stacks
def test_network_layer_allows_the_reachable_hosts_before_any_deny(fence):
    allows, denies = fence.rules("allow"), fence.rules("deny")
    assert sorted(fence.ngfw_hosts("allow")) == sorted(fence.reachable())
    assert all(not h.startswith("*.") for h in fence.ngfw_hosts("allow") + fence.ngfw_hosts("deny"))
    for rule in allows:
        assert rule.inputs["direction"] == "EGRESS"
        assert rule.inputs["match"]["layer4Configs"] == [{"ipProtocol": "tcp", "ports": ["443"]}]
    priorities = [r.inputs["priority"] for r in fence.all(NGFW_RULE)]
    assert len(priorities) == len(set(priorities))
    assert max(r.inputs["priority"] for r in allows) < min(r.inputs["priority"] for r in denies)
    for rule in fence.all(NGFW_RULE):
        assert 1 <= len(rule.inputs["match"]["destFqdns"]) <= 100
        assert rule.inputs["firewallPolicy"] == fence.one(NGFW_POLICY).inputs["name"]
        assert GCP_NAME.match(rule.inputs["ruleName"])


@gcp_stacks
def test_network_layer_blocks_every_denied_host_exact_by_firewall_and_all_by_dns(fence):
    blocked = fence.blocked()
    assert blocked, "every GCP stack denies some provider"
    exact = {h for h in blocked if not h.startswith("*.")}
    assert sorted(fence.ngfw_hosts("deny")) == sorted(exact)
    assert sorted(fence.dns_blocked()) == sorted(blocked)
    for rule in fence.rules("deny"):
        assert rule.inputs["direction"] == "EGRESS"
        assert rule.inputs["match"]["layer4Configs"] == [{"ipProtocol": "all"}]  # every port, every protocol
    [dns_policy] = fence.all(DNS_POLICY)
    for rule in fence.all(DNS_RULE):
        assert rule.inputs["responsePolicy"] == dns_policy.inputs["responsePolicyName"]
        assert GCP_NAME.match(rule.inputs["ruleName"])
        [answer] = rule.inputs["localData"]["localDatas"]
        assert answer["name"] == rule.inputs["dnsName"] and answer["type"] == "CNAME"
        [target] = answer["rrdatas"]
        assert target.endswith(".invalid.")  # RFC 6761: never resolves, the client gets NXDOMAIN
    assert len({r.inputs["ruleName"] for r in fence.all(DNS_RULE)}) == len(fence.all(DNS_RULE))


@gcp_stacks
def test_denied_hosts_appear_in_no_allow_rule_anywhere(fence):
    allowed = fence.fqdn_hosts(GATEWAY_NAMESPACE) + fence.fqdn_hosts(SERVING_NAMESPACE) + fence.ngfw_hosts("allow")
    assert allowed
    for denied in fence.blocked():
        assert not [host for host in allowed if matches(denied, host)], denied


@gcp_stacks
def test_fqdn_policies_validate_against_the_gke_crd_schema(fence):
    policies = fence.all(FQDN_POLICY)
    assert len(policies) == 2
    for policy in policies:
        assert schema_errors(_document(policy)) == []


@gcp_stacks
def test_network_policies_validate_strictly_and_keep_the_default_deny(fence):
    policies = fence.all(NETWORK_POLICY)
    for policy in policies:
        assert schema_errors(_document(policy)) == []
    deny_all = {p.inputs["metadata"]["namespace"] for p in policies
                if p.inputs["spec"] == {"podSelector": {"matchLabels": {}}, "policyTypes": ["Egress"], "egress": []}}
    assert deny_all == {GATEWAY_NAMESPACE, SERVING_NAMESPACE}
    [metadata] = [p for p in policies if p.inputs["metadata"]["name"] == "allow-gke-metadata-server"]
    assert metadata.inputs["metadata"]["namespace"] == SERVING_NAMESPACE
    assert metadata.inputs["spec"]["podSelector"] == {"matchLabels": SERVING_POD_LABELS}


@gcp_stacks
def test_firewall_and_dns_policies_bind_to_the_clusters_network(fence):
    network = fence.cluster.inputs["network"]
    assert network.endswith(f"/projects/{fence.cluster_plan.cloud.project}/global/networks/"
                            f"{fence.cluster_plan.name}-network")
    association = fence.one(NGFW_ASSOCIATION).inputs
    assert association["attachmentTarget"] == network
    assert association["firewallPolicy"].endswith(f"/firewallPolicies/{fence.one(NGFW_POLICY).inputs['name']}")
    assert fence.one(DNS_POLICY).inputs["networks"] == [{"networkUrl": network}]
    [dns_api] = [s for s in fence.all("gcp:projects/service:Service")
                 if s.inputs["service"] == "dns.googleapis.com"]
    assert dns_api.inputs["disableOnDestroy"] is False
    assert dns_api.urn in fence.one(DNS_POLICY).options["dependsOn"]


@gcp_stacks
def test_cluster_enforces_fqdn_policies_on_dataplane_v2_before_they_are_applied(fence):
    assert fence.cluster.inputs["enableFqdnNetworkPolicy"] is True
    assert fence.cluster.inputs["datapathProvider"] == "ADVANCED_DATAPATH"
    for policy in fence.all(FQDN_POLICY):
        assert fence.cluster.urn in policy.options["dependsOn"]


@gcp_stacks
def test_children_use_the_regions_providers_and_go_with_the_cluster(fence):
    [gcp_provider] = [r for r in fence.plan.resources if r.type == "pulumi:providers:gcp"]
    [k8s_provider] = [r for r in fence.plan.resources
                      if r.type == "pulumi:providers:kubernetes" and r.parent == fence.cluster.parent]
    assert {r.type.split(":")[0] for r in fence.children} == {"gcp", "kubernetes"}
    for r in fence.children:
        if r.type.startswith("gcp:"):
            assert r.provider == gcp_provider.urn, r.urn
        else:
            assert r.provider == k8s_provider.urn, r.urn
            assert r.options["deletedWith"] == fence.cluster.urn, r.urn


def test_me_central_blocks_openai_at_the_network_layer_and_reaches_only_regional_vertex(plans):
    fence = Fence(plans["me-central"])
    [openai] = [v for v in fence.plan.verdicts if v.provider == "openai"]
    assert openai.requested and not openai.allowed and "api.openai.com" in openai.blocked_hosts
    assert set(openai.blocked_hosts) <= set(fence.ngfw_hosts("deny")) & set(fence.dns_blocked())
    vertex_regional = ["me-central2-aiplatform.googleapis.com"]
    assert fence.ngfw_hosts("allow") == fence.fqdn_hosts(GATEWAY_NAMESPACE) == vertex_regional
    assert "*.api.x.ai" in fence.dns_blocked()  # a wildcard NGFW cannot express, blocked by DNS


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_hosts_output_is_what_the_resources_render(plans, stack):
    fence = Fence(plans[stack])
    assert plans[stack].outputs["egress"]["gcp"] == {
        "pod": {"allowed": fence.fqdn_hosts(GATEWAY_NAMESPACE), "denied": []},
        "network": {"allowed": fence.ngfw_hosts("allow"),
                    "denied": sorted({*fence.ngfw_hosts("deny"), *fence.dns_blocked()})},
    }


def _document(resource) -> dict:
    return {k: resource.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")}


