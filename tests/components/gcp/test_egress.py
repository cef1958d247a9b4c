"""`sovereign:gcp:EgressFence` for every stack that runs GCP: the hosts each layer allows and blocks, read
from what the real program registers under mocks, are exactly the region's verdicts."""

from __future__ import annotations

import re

import pytest

from sovereign.domain.egress import matches, platform_hosts
from sovereign.domain.workloads import (
    GATEWAY_NAMESPACE, GATEWAY_POD_LABELS, SERVING_NAMESPACE, SERVING_POD_LABELS,
)

from tests.support.egress import denied_hosts, reachable_hosts
from tests.support.graph import Graph
from tests.support.schemas import schema_errors
from tests.support.stacks import GCP_STACKS
from tests.support.tokens import T

HTTPS_TCP = [{"port": 443, "protocol": "TCP"}]
GCP_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


def gcp_fence(plan) -> Graph:
    """The children of the stack's GCP egress fence component."""
    return Graph.of(plan).component(T.GCP_EGRESS_FENCE)


def cluster_plan(fence: Graph):
    return fence.plan.decisions.cluster("gcp").plan


def gke(fence: Graph):
    return fence.whole.one(T.GKE_CLUSTER)


def fqdn_policy(fence: Graph, namespace: str):
    found = [r for r in fence.all(T.FQDN_NETWORK_POLICY) if r.inputs["metadata"]["namespace"] == namespace]
    assert len(found) <= 1
    return found[0] if found else None


def fqdn_hosts(fence: Graph, namespace: str) -> list[str]:
    policy = fqdn_policy(fence, namespace)
    return [m.get("name") or m.get("pattern") for rule in (policy.inputs["spec"]["egress"] if policy else [])
            for m in rule["matches"]]


def ngfw_rules(fence: Graph, action: str) -> list:
    return sorted((r for r in fence.all(T.NGFW_RULE) if r.inputs["action"] == action),
                  key=lambda r: r.inputs["priority"])


def ngfw_hosts(fence: Graph, action: str) -> list[str]:
    return [h for r in ngfw_rules(fence, action) for h in r.inputs["match"]["destFqdns"]]


def dns_blocked(fence: Graph) -> list[str]:
    return [r.inputs["dnsName"].removesuffix(".") for r in fence.all(T.DNS_RESPONSE_POLICY_RULE)]


@pytest.fixture
def fence(plans, request):
    return gcp_fence(plans[request.param])


gcp_stacks = pytest.mark.parametrize("fence", GCP_STACKS, indirect=True)


def test_several_stacks_run_gcp_me_central_among_them():
    assert "me-central" in GCP_STACKS and len(GCP_STACKS) >= 2


@gcp_stacks
def test_gateway_pods_may_reach_exactly_the_reachable_hosts_on_443(fence):
    policy = fqdn_policy(fence, GATEWAY_NAMESPACE)
    assert reachable_hosts(fence.plan), "every GCP stack reaches some managed API"
    assert policy.inputs["spec"]["podSelector"] == {"matchLabels": GATEWAY_POD_LABELS}
    hosts = fqdn_hosts(fence, GATEWAY_NAMESPACE)
    assert sorted(hosts) == sorted(set(hosts)) == sorted(reachable_hosts(fence.plan))
    for rule in policy.inputs["spec"]["egress"]:
        assert rule["ports"] == HTTPS_TCP
        for match in rule["matches"]:
            [(kind, host)] = match.items()
            assert kind == ("pattern" if host.startswith("*.") else "name")


@gcp_stacks
def test_model_servers_may_reach_only_their_clouds_platform_hosts(fence):
    policy = fqdn_policy(fence, SERVING_NAMESPACE)
    assert policy.inputs["spec"]["podSelector"] == {"matchLabels": SERVING_POD_LABELS}
    assert sorted(fqdn_hosts(fence, SERVING_NAMESPACE)) == sorted(platform_hosts(cluster_plan(fence).cloud))
    assert [r["ports"] for r in policy.inputs["spec"]["egress"]] == [HTTPS_TCP]
    # No managed API's own host (its token endpoint is Google's, shared with the weight prefetch's identity).
    api_hosts = {h for v in fence.plan.verdicts if v.reachable for h in v.hosts}
    assert not set(fqdn_hosts(fence, SERVING_NAMESPACE)) & (api_hosts | denied_hosts(fence.plan))


@gcp_stacks
def test_network_layer_allows_the_reachable_hosts_before_any_deny(fence):
    allows, denies = ngfw_rules(fence, "allow"), ngfw_rules(fence, "deny")
    assert sorted(ngfw_hosts(fence, "allow")) == sorted(reachable_hosts(fence.plan))
    assert all(not h.startswith("*.") for h in ngfw_hosts(fence, "allow") + ngfw_hosts(fence, "deny"))
    for rule in allows:
        assert rule.inputs["direction"] == "EGRESS"
        assert rule.inputs["match"]["layer4Configs"] == [{"ipProtocol": "tcp", "ports": ["443"]}]
    priorities = [r.inputs["priority"] for r in fence.all(T.NGFW_RULE)]
    assert len(priorities) == len(set(priorities))
    assert max(r.inputs["priority"] for r in allows) < min(r.inputs["priority"] for r in denies)
    for rule in fence.all(T.NGFW_RULE):
        assert 1 <= len(rule.inputs["match"]["destFqdns"]) <= 100
        assert rule.inputs["firewallPolicy"] == fence.one(T.NGFW_POLICY).inputs["name"]
        assert GCP_NAME.match(rule.inputs["ruleName"])


@gcp_stacks
def test_network_layer_blocks_every_denied_host_exact_by_firewall_and_all_by_dns(fence):
    blocked = denied_hosts(fence.plan)
    assert blocked, "every GCP stack denies some provider"
    exact = {h for h in blocked if not h.startswith("*.")}
    assert sorted(ngfw_hosts(fence, "deny")) == sorted(exact)
    assert sorted(dns_blocked(fence)) == sorted(blocked)
    for rule in ngfw_rules(fence, "deny"):
        assert rule.inputs["direction"] == "EGRESS"
        assert rule.inputs["match"]["layer4Configs"] == [{"ipProtocol": "all"}]  # every port, every protocol
    [dns_policy] = fence.all(T.DNS_RESPONSE_POLICY)
    for rule in fence.all(T.DNS_RESPONSE_POLICY_RULE):
        assert rule.inputs["responsePolicy"] == dns_policy.inputs["responsePolicyName"]
        assert GCP_NAME.match(rule.inputs["ruleName"])
        [answer] = rule.inputs["localData"]["localDatas"]
        assert answer["name"] == rule.inputs["dnsName"] and answer["type"] == "CNAME"
        [target] = answer["rrdatas"]
        assert target.endswith(".invalid.")  # RFC 6761: never resolves, the client gets NXDOMAIN
    names = [r.inputs["ruleName"] for r in fence.all(T.DNS_RESPONSE_POLICY_RULE)]
    assert len(set(names)) == len(names)


@gcp_stacks
def test_denied_hosts_appear_in_no_allow_rule_anywhere(fence):
    allowed = fqdn_hosts(fence, GATEWAY_NAMESPACE) + fqdn_hosts(fence, SERVING_NAMESPACE) + ngfw_hosts(fence, "allow")
    assert allowed
    for denied in denied_hosts(fence.plan):
        assert not [host for host in allowed if matches(denied, host)], denied


@gcp_stacks
def test_fqdn_policies_validate_against_the_gke_crd_schema(fence):
    policies = fence.all(T.FQDN_NETWORK_POLICY)
    assert len(policies) == 2
    for policy in policies:
        assert schema_errors(_document(policy)) == []


@gcp_stacks
def test_network_policies_validate_strictly_and_keep_the_default_deny(fence):
    policies = fence.all(T.NETWORK_POLICY)
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
    network = gke(fence).inputs["network"]
    assert network.endswith(f"/projects/{cluster_plan(fence).cloud.project}/global/networks/"
                            f"{cluster_plan(fence).name}-network")
    association = fence.one(T.NGFW_ASSOCIATION).inputs
    assert association["attachmentTarget"] == network
    assert association["firewallPolicy"].endswith(f"/firewallPolicies/{fence.one(T.NGFW_POLICY).inputs['name']}")
    assert fence.one(T.DNS_RESPONSE_POLICY).inputs["networks"] == [{"networkUrl": network}]
    [dns_api] = [s for s in fence.all(T.PROJECT_SERVICE)
                 if s.inputs["service"] == "dns.googleapis.com"]
    assert dns_api.inputs["disableOnDestroy"] is False
    assert dns_api.urn in fence.one(T.DNS_RESPONSE_POLICY).options["dependsOn"]


@gcp_stacks
def test_cluster_enforces_fqdn_policies_on_dataplane_v2_before_they_are_applied(fence):
    assert gke(fence).inputs["enableFqdnNetworkPolicy"] is True
    assert gke(fence).inputs["datapathProvider"] == "ADVANCED_DATAPATH"
    for policy in fence.all(T.FQDN_NETWORK_POLICY):
        assert gke(fence).urn in policy.options["dependsOn"]


@gcp_stacks
def test_children_use_the_regions_providers_and_go_with_the_cluster(fence):
    gcp_provider = fence.whole.one(T.GCP_PROVIDER)
    k8s_provider = fence.children(fence.urn(gke(fence).parent)).one(T.K8S_PROVIDER)
    assert {r.type.split(":")[0] for r in fence} == {"gcp", "kubernetes"}
    for r in fence:
        if r.type.startswith("gcp:"):
            assert r.provider == gcp_provider.urn, r.urn
        else:
            assert r.provider == k8s_provider.urn, r.urn
            assert r.options["deletedWith"] == gke(fence).urn, r.urn


def test_me_central_blocks_openai_at_the_network_layer_and_reaches_only_regional_vertex(plans):
    fence = gcp_fence(plans["me-central"])
    [openai] = [v for v in fence.plan.verdicts if v.provider == "openai"]
    assert openai.requested and not openai.allowed and "api.openai.com" in openai.blocked_hosts
    assert set(openai.blocked_hosts) <= set(ngfw_hosts(fence, "deny")) & set(dns_blocked(fence))
    # The regional Vertex endpoint, and the token endpoint its service-account key is exchanged at.
    vertex_regional = ["me-central2-aiplatform.googleapis.com", "oauth2.googleapis.com"]
    assert ngfw_hosts(fence, "allow") == fqdn_hosts(fence, GATEWAY_NAMESPACE) == vertex_regional
    assert "*.api.x.ai" in dns_blocked(fence)  # a wildcard NGFW cannot express, blocked by DNS


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_hosts_output_is_what_the_resources_render(plans, stack):
    fence = gcp_fence(plans[stack])
    assert plans[stack].outputs["egress"]["gcp"] == {
        "pod": {"allowed": fqdn_hosts(fence, GATEWAY_NAMESPACE), "denied": []},
        "network": {"allowed": ngfw_hosts(fence, "allow"),
                    "denied": sorted({*ngfw_hosts(fence, "deny"), *dns_blocked(fence)})},
    }


def _document(resource) -> dict:
    return {k: resource.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")}




@gcp_stacks
def test_every_dns_query_and_managed_api_connection_of_the_network_is_logged(fence):
    [policy] = fence.all("gcp:dns/policy:Policy")
    [response_policy] = fence.all("gcp:dns/responsePolicy:ResponsePolicy")
    assert policy.inputs["enableLogging"] is True
    assert policy.inputs["networks"] == response_policy.inputs["networks"]  # the cluster's network
    assert all(rule.inputs["enableLogging"] is True for rule in fence.all(T.NGFW_RULE))
