"""`sovereign:gcp:EgressFence` for every stack that runs GCP: the hosts each layer allows and blocks, read
from what the real program registers under mocks, are exactly the region's verdicts."""

from __future__ import annotations

import re

import pytest

from sovereign.clouds import GCP as GCP_PROFILE
from sovereign.domain.egress import matches, platform_hosts
from sovereign.domain.workloads import (
    GATEWAY_NAMESPACE, GATEWAY_POD_LABELS, SERVING_NAMESPACE, SERVING_POD_LABELS,
)

from components.gcp.egress_network import through_google_access
from tests.support.egress import declared_hosts, denied_hosts, network_expects, probe_names, reachable_hosts
from tests.support.graph import Graph
from tests.support.network_layer import _resolve, gcp_network
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
    return [h for r in ngfw_rules(fence, action) for h in r.inputs["match"].get("destFqdns", [])]


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
def test_firewall_is_an_allowlist_named_hosts_google_apis_cluster_ranges_then_deny_everything(fence):
    allowed = reachable_hosts(fence.plan) | declared_hosts(fence.plan, "gcp")
    by_name = ngfw_hosts(fence, "allow")
    assert len(by_name) == len(set(by_name)) and not [h for h in by_name if "*" in h]  # FQDN objects: exact only
    # Every allowed name is let through by name or through Private Google Access, never both ways.
    assert set(by_name) == {h for h in allowed if not through_google_access(h)}
    assert {h for h in allowed if through_google_access(h)} >= {"*.googleapis.com", "gcr.io", "*.pkg.dev"}
    rules = sorted(fence.all(T.NGFW_RULE), key=lambda r: r.inputs["priority"])
    priorities = [r.inputs["priority"] for r in rules]
    assert len(priorities) == len(set(priorities))
    *allows, last = rules
    assert {r.inputs["action"] for r in allows} == {"allow"} and last.inputs["action"] == "deny"
    assert last.inputs["match"] == {"destIpRanges": ["0.0.0.0/0"], "layer4Configs": [{"ipProtocol": "all"}]}
    assert last.inputs["priority"] < 2147483644  # Cloud NGFW's own goto_next rules take the last four
    # Never a deny before the allows and the private zones Google's names resolve through.
    assert {r.urn for r in allows} | {r.urn for r in fence.all(T.DNS_RECORD_SET)} <= set(last.options["dependsOn"])
    # Not the 1000+ band the blocklist's allow rules held: a renamed rule is created before the old one goes.
    assert all(r.inputs["priority"] >= 1100 for r in rules)
    ranges = {tuple(r.inputs["match"].get("destIpRanges", [])) for r in allows}
    network = cluster_plan(fence).network
    assert ranges == {("199.36.153.8/30",), (network.cidr, network.pods_cidr, network.services_cidr,
                                             network.master_cidr)} | ({()} if by_name else set())
    for r in rules:
        assert r.inputs["direction"] == "EGRESS" and r.inputs["enableLogging"] is True
        assert r.inputs["firewallPolicy"] == fence.one(T.NGFW_POLICY).inputs["name"]
        assert GCP_NAME.match(r.inputs["ruleName"])
        assert 1 <= len(r.inputs["match"].get("destFqdns", [None])) <= 100
    for r in ngfw_rules(fence, "allow"):
        if "destFqdns" in r.inputs["match"] or r.inputs["match"]["destIpRanges"] == ["199.36.153.8/30"]:
            assert r.inputs["match"]["layer4Configs"] == [{"ipProtocol": "tcp", "ports": ["443"]}]
    # Before the network's classic rules: a classic egress allow added later can't pre-empt the deny.
    [vpc] = fence.whole.all(T.NETWORK)
    assert vpc.inputs["networkFirewallPolicyEnforcementOrder"] == "BEFORE_CLASSIC_FIREWALL"


@gcp_stacks
def test_private_google_access_answers_googles_names_with_its_private_range_on_the_clusters_network(fence):
    zones = {z.inputs["dnsName"]: z for z in fence.all(T.DNS_MANAGED_ZONE)}
    assert set(zones) == {"googleapis.com.", "gcr.io.", "pkg.dev."}
    network = gke(fence).inputs["network"]
    for zone in zones.values():
        assert zone.inputs["visibility"] == "private"
        assert zone.inputs["privateVisibilityConfig"] == {"networks": [{"networkUrl": network}]}
        assert GCP_NAME.match(zone.inputs["name"])
    for name in ("storage.googleapis.com", "gke.gcr.io", "europe-docker.pkg.dev", "gcr.io", "pkg.dev"):
        assert _resolve(fence, name) == ["199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11"], name
    subnet = fence.whole.one(T.SUBNETWORK, name=f"{cluster_plan(fence).name}-nodes")
    assert subnet.inputs["privateIpGoogleAccess"] is True


@gcp_stacks
def test_every_name_any_pod_or_node_queries_gets_what_the_verdicts_and_declared_hosts_say(fence):
    names = probe_names(fence.plan, "gcp")
    outcome = {n: gcp_network(fence, n) for n in names}
    assert outcome == {n: network_expects(fence.plan, "gcp", n) for n in names}
    assert outcome["example.com"] == outcome["huggingface.co"] == "block"
    assert outcome["storage.googleapis.com"] == "allow"


@gcp_stacks
def test_network_layer_blocks_every_denied_name_by_dns_before_any_allow(fence):
    blocked = denied_hosts(fence.plan)
    assert blocked, "every GCP stack denies some provider"
    assert sorted(dns_blocked(fence)) == sorted(blocked)
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
    [metadata] = [p for p in policies if p.inputs["metadata"]["name"] == "allow-gke-metadata-server"
                  and p.inputs["metadata"]["namespace"] == SERVING_NAMESPACE]
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
    assert set(openai.blocked_hosts) <= set(dns_blocked(fence))
    assert gcp_network(fence, "api.openai.com") == "block"
    # The regional Vertex endpoint, and the token endpoint its service-account key is exchanged at.
    vertex_regional = ["me-central2-aiplatform.googleapis.com", "oauth2.googleapis.com"]
    assert fqdn_hosts(fence, GATEWAY_NAMESPACE) == vertex_regional
    assert all(gcp_network(fence, h) == "allow" for h in vertex_regional)  # through Private Google Access
    assert "*.api.x.ai" in dns_blocked(fence)  # a wildcard NGFW cannot express, blocked by DNS


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_hosts_output_is_what_the_resources_render(plans, stack):
    fence = gcp_fence(plans[stack])
    assert plans[stack].outputs["egress"]["gcp"] == {
        "pod": {"allowed": fqdn_hosts(fence, GATEWAY_NAMESPACE), "serving": fqdn_hosts(fence, SERVING_NAMESPACE),
                "denied": []},
        # What the firewall lets through by name, plus what the private zones route to Google's range.
        "network": {"denied": dns_blocked(fence),
                    "allowed": sorted({*ngfw_hosts(fence, "allow"), *(
                        h for h in reachable_hosts(fence.plan) | declared_hosts(fence.plan, "gcp")
                        if through_google_access(h))}),
                    "catchAll": ["*"]},
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


def test_gcp_declares_wildcards_only_under_the_private_zones_because_cloud_ngfw_takes_none():
    declared = [h for h, _ in (*GCP_PROFILE.platform_hosts, *GCP_PROFILE.node_hosts)]
    assert [h for h in declared if h.startswith("*") and not through_google_access(h)] == []
    assert not through_google_access("googleapis.com.evil.example") and through_google_access("*.pkg.dev")


@gcp_stacks
def test_a_gateway_reaching_vertex_as_its_own_identity_may_reach_the_metadata_server_and_holds_no_key(fence):
    decision = fence.plan.decisions.cluster("gcp")
    policies = {p.inputs["metadata"]["namespace"]: p for p in fence.all(T.NETWORK_POLICY)
                if p.inputs["metadata"]["name"] == "allow-gke-metadata-server"}
    uses_identity = "google_vertex_ai" in decision.gateway.identity
    assert set(policies) == {SERVING_NAMESPACE, *([GATEWAY_NAMESPACE] if uses_identity else [])}
    if uses_identity:
        assert policies[GATEWAY_NAMESPACE].inputs["spec"]["podSelector"] == {"matchLabels": GATEWAY_POD_LABELS}
        assert "google_vertex_ai" not in decision.gateway.key_env
        [gsa] = fence.whole.all(T.SERVICE_ACCOUNT, name_contains="-gateway")
        roles = {m.inputs["role"] for m in fence.whole.all(T.PROJECT_IAM_MEMBER) if m.inputs["member"] ==
                 f"serviceAccount:{gsa.inputs['accountId']}@{fence.plan.spec.cloud('gcp').project}.iam.gserviceaccount.com"}
        # A role of its own with the one permission generateContent needs, not roles/aiplatform.user.
        [custom] = fence.whole.all("gcp:projects/iAMCustomRole:IAMCustomRole")
        assert custom.inputs["permissions"] == ["aiplatform.endpoints.predict"]
        assert roles == {f"projects/{fence.plan.spec.cloud('gcp').project}/roles/{custom.inputs['roleId']}"}
        [binding] = [b for b in fence.whole.all(T.SERVICE_ACCOUNT_IAM_MEMBER)
                     if gsa.urn in b.dependencies.get("serviceAccountId", [])]
        project = fence.plan.spec.cloud("gcp").project
        assert binding.inputs["member"] == f"serviceAccount:{project}.svc.id.goog[{GATEWAY_NAMESPACE}/inference-gateway]"
        [account] = [r for r in fence.whole.all("kubernetes:core/v1:ServiceAccount")
                     if r.inputs["metadata"]["namespace"] == GATEWAY_NAMESPACE
                     and r.provider == fqdn_policy(fence, GATEWAY_NAMESPACE).provider]
        assert account.inputs["metadata"]["annotations"]["iam.gke.io/gcp-service-account"].startswith(gsa.inputs["accountId"])


def test_some_gcp_stack_reaches_vertex_as_the_gateways_identity(plans):
    assert [s for s in GCP_STACKS if plans[s].decisions.cluster("gcp").gateway.identity]


def test_ngfw_denials_of_the_clusters_network_raise_an_alert_policy(plans):
    """A log-based counter of this network's firewall-policy denials, and an alert policy on it that waits for it."""
    from sovereign.domain.alerts import FENCE_ALERT

    fence = gcp_fence(plans["eu-central"])
    plan = cluster_plan(fence)
    network_name = gke(fence).inputs["network"].rsplit("/", 1)[-1]
    [metric] = fence.all(T.LOG_METRIC)
    log_filter = metric.inputs["filter"]
    assert f'logName="projects/{plan.cloud.project}/logs/compute.googleapis.com%2Ffirewall"' in log_filter
    assert 'jsonPayload.disposition="DENIED"' in log_filter
    assert f'jsonPayload.rule_details.reference:"network:{network_name}/firewallPolicy:"' in log_filter
    assert metric.inputs["metricDescriptor"] == {"metricKind": "DELTA", "valueType": "INT64", "unit": "1"}
    # Every NGFW rule logs, the catch-all deny included: the metric has entries to count.
    assert all(r.inputs["enableLogging"] for r in fence.all(T.NGFW_RULE))
    [policy] = fence.all(T.ALERT_POLICY)
    [condition] = policy.inputs["conditions"]
    threshold = condition["conditionThreshold"]
    assert f'metric.type="logging.googleapis.com/user/{metric.inputs["name"]}"' in threshold["filter"]
    assert threshold["thresholdValue"] == FENCE_ALERT.threshold
    assert threshold["aggregations"][0]["alignmentPeriod"] == f"{FENCE_ALERT.period_s}s"
    assert fence.deps(policy, T.LOG_METRIC) == [metric]
    assert "notificationChannels" not in policy.inputs  # the stack names no notification channel
