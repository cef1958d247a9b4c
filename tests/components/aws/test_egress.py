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
from sovereign.engine.run import Plan
from tests.support.egress import declared_hosts, denied_hosts, network_expects, probe_names, reachable_hosts
from tests.support.graph import Graph
from tests.support.network_layer import aws_network
from tests.support.schemas import schema_errors
from tests.support.stacks import AWS_STACKS
from tests.support.tokens import T

SOVEREIGN_ONLY = "cn-north"
KUBE_DNS = {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns"}
# DNS Firewall syntax: lowercase labels, an optional leading "*." and no trailing dot.
FIREWALL_DOMAIN = re.compile(r"(\*\.)?([a-z0-9_-]+\.)+[a-z0-9-]+")


def aws_fence(plan: Plan) -> Graph:
    """The children of the stack's AWS egress fence component."""
    return Graph.of(plan).component(T.AWS_EGRESS_FENCE)


def cluster(graph: Graph) -> Graph:
    """The children of the cluster component the fence guards."""
    return graph.whole.component(T.AWS_GPU_CLUSTER)


def k8s_provider(graph: Graph):
    """The cluster's main kubernetes provider (the other installs the CNI before any node group is done)."""
    return cluster(graph).one(T.K8S_PROVIDER, name=f"{graph.plan.spec.name}-aws")


def bootstrap_provider(graph: Graph):
    return cluster(graph).one(T.K8S_PROVIDER, name=f"{graph.plan.spec.name}-aws-bootstrap")


def aws_provider(graph: Graph):
    return graph.whole.one(T.AWS_PROVIDER, name=f"{graph.plan.spec.name}-aws")


def cnp(graph: Graph, namespace: str):
    found = [r for r in graph.all(T.CILIUM_NETWORK_POLICY) if r.inputs["metadata"]["namespace"] == namespace]
    assert len(found) <= 1, found
    return found[0] if found else None


def pod_allowed(graph: Graph, namespace: str) -> list[str]:
    """The names a namespace's CiliumNetworkPolicy opens, in the plan's syntax (`**.x` is the plan's `*.x`)."""
    policy = cnp(graph, namespace)
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


def rule(graph: Graph, role: str):
    """The DNS Firewall rule of one role — `block` (denied names), `allow`, `catch-all` — if the layer has it."""
    found = [r for r in graph.all(T.DNS_FIREWALL_RULE) if r.name.endswith(f"-{role}")]
    assert len(found) <= 1, found
    return found[0] if found else None


def firewall_domains(graph: Graph, role: str) -> list[str]:
    """The domains of the list the rule of `role` uses; none if there is no such rule."""
    found = rule(graph, role)
    if found is None:
        return []
    [domain_list] = graph.deps(found, T.DNS_FIREWALL_DOMAIN_LIST)
    return domain_list.inputs["domains"]


def overlap(a: str, b: str) -> bool:
    """Whether two names or `*.` patterns (any name below, never the apex) select a common name."""
    def covers(pattern: str, name: str) -> bool:
        return pattern.startswith("*.") and name.removeprefix("*.").endswith(pattern[1:])
    return a == b or covers(a, b) or covers(b, a)


@pytest.fixture
def graph(plans, stack):
    return aws_fence(plans[stack])


def test_there_are_aws_stacks_and_a_sovereign_only_one():
    assert len(AWS_STACKS) >= 3 and SOVEREIGN_ONLY in AWS_STACKS


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_gateway_pods_reach_exactly_the_reachable_hosts(graph):
    allowed = pod_allowed(graph, GATEWAY_NAMESPACE)
    assert len(allowed) == len(set(allowed))
    assert set(allowed) == reachable_hosts(graph.plan)
    policy = cnp(graph, GATEWAY_NAMESPACE)
    if policy is not None:
        assert policy.inputs["spec"]["endpointSelector"] == {"matchLabels": GATEWAY_POD_LABELS}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_dns_firewall_is_an_allowlist_denied_names_first_then_allowed_then_every_other_name_blocked(graph):
    denied, allowed = firewall_domains(graph, "block"), firewall_domains(graph, "allow")
    assert set(denied) == denied_hosts(graph.plan) and len(denied) == len(set(denied))
    assert denied, "every stack denies at least one provider"
    assert set(allowed) == reachable_hosts(graph.plan) | declared_hosts(graph.plan, "aws")
    assert len(allowed) == len(set(allowed))
    assert firewall_domains(graph, "catch-all") == ["*"]
    block, allow, catch_all = (rule(graph, r) for r in ("block", "allow", "catch-all"))
    assert len(graph.all(T.DNS_FIREWALL_RULE)) == 3
    assert block.inputs["priority"] < allow.inputs["priority"] < catch_all.inputs["priority"]
    # None where the blocklist had a rule (allow 100, block 200): in-place updates never meet an occupied priority.
    assert not {r.inputs["priority"] for r in (block, allow, catch_all)} & {100, 200}
    assert {block.urn, allow.urn} <= set(catch_all.options["dependsOn"])  # never a catch-all without the allows
    assert [r.inputs["action"] for r in (block, allow, catch_all)] == ["BLOCK", "ALLOW", "BLOCK"]
    assert block.inputs["blockResponse"] == catch_all.inputs["blockResponse"] == "NXDOMAIN"
    assert "blockResponse" not in allow.inputs
    # An allowed name's CNAME chain (into CDN and AWS names) is trusted; a chain into a denied name is not.
    assert allow.inputs["firewallDomainRedirectionAction"] == "TRUST_REDIRECTION_DOMAIN"
    assert block.inputs["firewallDomainRedirectionAction"] == "INSPECT_REDIRECTION_DOMAIN"
    group = graph.one(T.DNS_FIREWALL_RULE_GROUP)
    for r in (block, allow, catch_all):
        assert graph.deps(r, T.DNS_FIREWALL_RULE_GROUP) == [group]
    for domain in denied + allowed:
        assert FIREWALL_DOMAIN.fullmatch(domain), domain


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_name_any_pod_or_node_queries_gets_what_the_verdicts_and_declared_hosts_say(graph):
    names = probe_names(graph.plan, "aws")
    outcome = {n: aws_network(graph, n) for n in names}
    assert outcome == {n: network_expects(graph.plan, "aws", n) for n in names}
    assert {"allow", "block"} == set(outcome.values())
    assert outcome["example.com"] == outcome["huggingface.co"] == "block"


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_no_denied_host_is_opened_anywhere(graph):
    denied = denied_hosts(graph.plan)
    opened = {*firewall_domains(graph, "allow"), *pod_allowed(graph, GATEWAY_NAMESPACE),
              *pod_allowed(graph, SERVING_NAMESPACE)}
    assert opened
    clashes = [(host, pattern) for host in opened for pattern in denied if overlap(host, pattern)]
    assert clashes == []


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_model_servers_reach_only_their_regions_object_store_and_token_service(graph):
    region = graph.plan.decisions.cluster("aws").plan.cloud.region
    platform = pod_allowed(graph, SERVING_NAMESPACE)
    assert sorted(platform) == sorted([f"*.s3.{region.name}.{region.dns_suffix}",
                                       f"s3.{region.name}.{region.dns_suffix}",
                                       f"sts.{region.name}.{region.dns_suffix}"])
    assert cnp(graph, SERVING_NAMESPACE).inputs["spec"]["endpointSelector"] == {"matchLabels": SERVING_POD_LABELS}
    # Platform hosts are no managed API: not opened for the gateway; the network layer lets them through.
    assert not set(pod_allowed(graph, GATEWAY_NAMESPACE)) & set(platform)
    assert set(platform) <= set(firewall_domains(graph, "allow"))


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_cilium_policies_validate_and_send_dns_through_the_proxy_before_the_fqdn_rule(graph):
    cilium = cluster(graph).one(T.HELM_RELEASE, name_contains="cilium")
    namespaces = {r.urn for r in graph.plan.resources if r.type == T.NAMESPACE
                  and r.provider == k8s_provider(graph).urn}
    assert len(namespaces) == 2
    policies = graph.all(T.CILIUM_NETWORK_POLICY)
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
        assert policy.provider == k8s_provider(graph).urn
        assert policy.options["deletedWith"] == cluster(graph).one(T.EKS_CLUSTER).urn
        # The CRD comes with the Cilium operator; the namespace must exist.
        assert {cilium.urn, *namespaces} <= set(policy.options["dependsOn"])


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_shared_network_policies_fence_both_namespaces_and_validate(graph):
    policies = graph.all(T.NETWORK_POLICY)
    namespaces = {r.urn for r in graph.plan.resources if r.type == T.NAMESPACE
                  and r.provider == k8s_provider(graph).urn}
    # Every pod selected, egress policed, nothing allowed.
    default_deny = {p.inputs["metadata"]["namespace"] for p in policies
                    if not p.inputs["spec"]["podSelector"].get("matchLabels") and not p.inputs["spec"].get("egress")
                    and p.inputs["spec"]["policyTypes"] == ["Egress"]}
    assert default_deny == {GATEWAY_NAMESPACE, SERVING_NAMESPACE}
    for policy in policies:
        assert schema_errors(policy.inputs) == []
        assert policy.provider == k8s_provider(graph).urn
        assert policy.options["deletedWith"] == cluster(graph).one(T.EKS_CLUSTER).urn
        assert namespaces <= set(policy.options["dependsOn"])


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_dns_firewall_guards_the_cluster_vpc_and_fails_closed(graph):
    vpc = cluster(graph).one(T.VPC)
    [vpc_id] = {s.inputs["vpcId"] for s in cluster(graph) if s.type == T.SUBNET}
    association = graph.one(T.DNS_FIREWALL_ASSOCIATION)
    assert association.inputs["vpcId"] == vpc_id and graph.deps(association, T.VPC) == [vpc]
    assert graph.deps(association, T.DNS_FIREWALL_RULE_GROUP) == [graph.one(T.DNS_FIREWALL_RULE_GROUP)]
    # Associated only once every rule is in the group.
    assert {r.urn for r in graph.deps(association, T.DNS_FIREWALL_RULE)} == {
        r.urn for r in graph.all(T.DNS_FIREWALL_RULE)}
    assert 101 <= association.inputs["priority"] <= 9899
    assert association.inputs["mutationProtection"] == "ENABLED"
    config = graph.one(T.DNS_FIREWALL_CONFIG)
    assert config.inputs["resourceId"] == vpc_id and graph.deps(config, T.VPC) == [vpc]
    assert config.inputs["firewallFailOpen"] == "DISABLED"
    aws = [r for r in graph if r.type.startswith("aws:")]
    assert len(aws) >= 5 and {r.provider for r in aws} == {aws_provider(graph).urn}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_cilium_in_eni_mode_is_the_clusters_only_cni_and_policy_enforcer(graph):
    """The mode Cilium documents and tests for EKS (chaining to the VPC CNI supports no FQDN rule)."""
    eks = cluster(graph)
    assert not [a for a in eks.all(T.EKS_ADDON) if a.inputs["addonName"] == "vpc-cni"]
    assert eks.one(T.EKS_CLUSTER).inputs["bootstrapSelfManagedAddons"] is False   # no aws-node either
    cilium = eks.one(T.HELM_RELEASE, name_contains="cilium")
    assert (cilium.inputs["chart"], cilium.inputs["namespace"]) == ("cilium", "kube-system")
    assert cilium.inputs["repositoryOpts"]["repo"] == "https://helm.cilium.io"
    assert re.fullmatch(r"1\.20\.\d+", cilium.inputs["version"])
    values = cilium.inputs["values"]
    assert (values["eni"], values["ipam"], values["routingMode"]) == ({"enabled": True}, {"mode": "eni"}, "native")
    assert "cni" not in values and values.get("l7Proxy", True) is True  # the DNS proxy FQDN rules learn from
    # Installed beside the node groups, which complete only once their nodes are Ready, i.e. once the CNI runs:
    # its provider waits for the cluster and nobody's nodes, and the release for the nodes to join.
    bootstrap = bootstrap_provider(graph)
    assert cilium.provider == bootstrap.urn and cilium.inputs["timeout"] >= 1200
    assert eks.one(T.EKS_CLUSTER).urn in bootstrap.options["dependsOn"]
    assert not [u for u in bootstrap.options["dependsOn"] if "nodeGroup" in u]
    assert cilium.options["deletedWith"] == eks.one(T.EKS_CLUSTER).urn
    # The operator creates ENIs through its own IRSA role, with the privileges Cilium documents and no more.
    operator = values["serviceAccounts"]["operator"]
    [role] = [r for r in eks.all("aws:iam/role:Role") if "cilium-operator" in r.name]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert operator["name"] == "cilium-operator"
    assert re.fullmatch(rf"arn:aws[a-z-]*:iam::\d{{12}}:role/{role.name}-[0-9a-f]+",
                        operator["annotations"]["eks.amazonaws.com/role-arn"])
    assert any(v == "system:serviceaccount:kube-system:cilium-operator"
               for v in trust["Condition"]["StringEquals"].values())
    [policy] = [r for r in eks.all("aws:iam/rolePolicy:RolePolicy") if "cilium-operator" in r.name]
    [statement] = json.loads(policy.inputs["policy"])["Statement"]
    assert "ec2:CreateNetworkInterface" in statement["Action"] and all(a.startswith("ec2:") for a in statement["Action"])
    assert policy.urn in cilium.options["dependsOn"]  # the operator has its permissions when it starts


def test_sovereign_only_stack_opens_no_managed_api_host_and_blocks_every_denied_one(plans):
    graph = aws_fence(plans[SOVEREIGN_ONLY])
    verdicts = graph.plan.verdicts
    assert not any(v.reachable for v in verdicts) and any(v.requested for v in verdicts)
    assert cnp(graph, GATEWAY_NAMESPACE) is None
    assert pod_allowed(graph, GATEWAY_NAMESPACE) == []
    assert set(firewall_domains(graph, "allow")) == declared_hosts(graph.plan, "aws")
    blocked = set(firewall_domains(graph, "block"))
    denied = [v for v in verdicts if not v.allowed]
    assert {v.provider for v in denied} >= {v.provider for v in verdicts if v.requested}
    for verdict in denied:
        assert verdict.blocked_hosts and set(verdict.blocked_hosts) <= blocked, verdict.provider
    # Only the model servers' platform hosts are opened, and none is a managed-API host.
    opened = pod_allowed(graph, SERVING_NAMESPACE)
    assert opened and not [h for h in opened for p in blocked if overlap(h, p)]


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_hosts_output_is_what_the_resources_render(graph):
    assert graph.plan.outputs["egress"]["aws"] == {
        "pod": {"allowed": pod_allowed(graph, GATEWAY_NAMESPACE), "serving": pod_allowed(graph, SERVING_NAMESPACE),
                "denied": []},
        "network": {"denied": firewall_domains(graph, "block"), "allowed": firewall_domains(graph, "allow"),
                    "catchAll": firewall_domains(graph, "catch-all")},
    }


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_flow_and_dns_query_of_the_vpc_is_logged_for_the_stacks_retention(graph):
    vpc = cluster(graph).one(T.VPC)
    [vpc_id] = {s.inputs["vpcId"] for s in cluster(graph) if s.type == T.SUBNET}
    retention = graph.plan.decisions.cluster("aws").plan.log_retention_days
    groups = {g.name: g for g in graph.all("aws:cloudwatch/logGroup:LogGroup")}
    assert {g.inputs["retentionInDays"] for g in groups.values()} == {retention} and len(groups) == 2
    flow = graph.one("aws:ec2/flowLog:FlowLog")
    assert flow.inputs["vpcId"] == vpc_id and graph.deps(flow, T.VPC) == [vpc]
    assert (flow.inputs["trafficType"], flow.inputs["logDestinationType"]) == ("ALL", "cloud-watch-logs")
    assert graph.deps(flow, "aws:cloudwatch/logGroup:LogGroup") == [groups[f"{graph.plan.spec.name}-aws-flow-logs"]]
    role = graph.one("aws:iam/role:Role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "vpc-flow-logs.amazonaws.com"}]
    queries = graph.one("aws:route53/resolverQueryLogConfig:ResolverQueryLogConfig")
    assert graph.deps(queries, "aws:cloudwatch/logGroup:LogGroup") == [
        groups[f"{graph.plan.spec.name}-aws-dns-queries"]]
    association = graph.one("aws:route53/resolverQueryLogConfigAssociation:ResolverQueryLogConfigAssociation")
    assert association.inputs["resourceId"] == vpc_id


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_s3_reaches_the_stacks_weight_bucket_and_ecr_layers_only(graph):
    region = graph.plan.decisions.cluster("aws").plan.cloud.region.name
    [endpoint] = cluster(graph).all("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert (endpoint.inputs["serviceName"], endpoint.inputs["vpcEndpointType"]) == (f"com.amazonaws.{region}.s3",
                                                                                    "Gateway")
    # On every private route table: every S3 request of the nodes and pods leaves through it.
    private_tables = {r.urn for r in cluster(graph).all("aws:ec2/routeTable:RouteTable") if "-private-" in r.name}
    assert set(endpoint.dependencies["routeTableIds"]) == private_tables and private_tables
    [policy] = graph.all("aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy")
    assert graph.deps(policy, "aws:ec2/vpcEndpoint:VpcEndpoint") == [endpoint]
    [bucket] = [b for b in graph.whole.all("aws:s3/bucket:Bucket") if b.name.endswith("-aws-weights")]
    assert bucket.urn in policy.dependencies["policy"]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    assert {s["Effect"] for s in statements} == {"Allow"}
    resources = {r for s in statements for r in s["Resource"]}
    # The bucket the model servers' role reads, by the ARN that role's policy names.
    [reader] = [p for p in graph.whole.all("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("-weights-reader")]
    [weights_arn] = [s["Resource"] for s in json.loads(reader.inputs["policy"])["Statement"]
                     if s["Action"] == ["s3:ListBucket"]]
    partition = weights_arn.split(":")[1]
    assert resources == {weights_arn, f"{weights_arn}/*", f"arn:{partition}:s3:::prod-{region}-starport-layer-bucket/*"}
    assert not [a for s in statements for a in s["Action"] if not a.startswith(("s3:Get", "s3:List"))]  # read only


def test_dns_firewall_blocks_raise_an_alarm_from_the_query_log(plans):
    """The resolver query log's BLOCK answers become a metric, and any within the fence alert's period alarms."""
    from components.aws.evidence import DNS_FIREWALL_BLOCKS
    from sovereign.domain.alerts import FENCE_ALERT

    graph = aws_fence(plans["eu-central"])
    queries = graph.one(T.LOG_GROUP, name_contains="dns-queries")
    [metric_filter] = graph.all(T.LOG_METRIC_FILTER)
    assert metric_filter.inputs["logGroupName"] == queries.inputs["name"]
    assert metric_filter.dependencies["logGroupName"] == [queries.urn]
    assert "$.firewall_rule_action" in DNS_FIREWALL_BLOCKS and '"BLOCK"' in DNS_FIREWALL_BLOCKS
    assert metric_filter.inputs["pattern"] == DNS_FIREWALL_BLOCKS
    emitted = metric_filter.inputs["metricTransformation"]
    assert (emitted["value"], emitted["defaultValue"]) == ("1", "0")
    [alarm] = graph.all(T.METRIC_ALARM)
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == (emitted["namespace"], emitted["name"])
    assert (alarm.inputs["statistic"], alarm.inputs["comparisonOperator"]) == ("Sum", "GreaterThanThreshold")
    assert (alarm.inputs["period"], alarm.inputs["threshold"]) == (FENCE_ALERT.period_s, FENCE_ALERT.threshold)
    assert graph.deps(alarm, T.LOG_METRIC_FILTER) == [metric_filter]
    assert "alarmActions" not in alarm.inputs  # the stack names no notification target
