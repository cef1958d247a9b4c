"""Reality rules: each rejects a graph a real `pulumi up` would fail on and accepts its fixed form; every
stack plans clean under all of them."""

from __future__ import annotations

import pytest

from sovereign.engine.graph import RegisteredResource
from sovereign.engine.reality import RULES, check

STACK = "urn:pulumi:s::sovereign-inference::"


def resource(kind: str, name: str, inputs: dict | None = None, **options) -> RegisteredResource:
    return RegisteredResource(urn=f"{STACK}{kind}::{name}", type=kind, name=name, parent="", custom=True,
                              provider=options.pop("provider", ""), inputs=inputs or {}, options=options)


def violated(*resources: RegisteredResource) -> set[str]:
    return {v.rule for v in check(resources, None)}


def test_every_rule_names_a_source_and_says_why():
    for rule in RULES:
        assert "https://" in rule.source, rule.id
        assert rule.check.__doc__, rule.id


def test_node_group_desired_size_must_be_tracked_without_an_autoscaler():
    scaling = {"scalingConfig": {"minSize": 1, "maxSize": 2, "desiredSize": 1}}
    ignored = resource("aws:eks/nodeGroup:NodeGroup", "gpu", scaling, ignoreChanges=["scalingConfig.desiredSize"])
    assert violated(ignored) == {"eks-node-group-desired-size-tracked"}
    assert violated(resource("aws:eks/nodeGroup:NodeGroup", "gpu", scaling)) == set()
    outside = resource("aws:eks/nodeGroup:NodeGroup", "gpu", {"scalingConfig": {"minSize": 2, "maxSize": 3,
                                                                                "desiredSize": 1}})
    assert violated(outside) == {"eks-node-group-desired-size-tracked"}
    autoscaler = resource("kubernetes:helm.sh/v4:Chart", "cluster-autoscaler")
    assert violated(ignored, autoscaler) == set()


def test_an_admin_access_entry_needs_the_creator_not_bootstrapped():
    def cluster(bootstrap: bool) -> RegisteredResource:
        return resource("aws:eks/cluster:Cluster", "c", {"accessConfig": {
            "authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": bootstrap}})
    entry = resource("aws:eks/accessEntry:AccessEntry", "admin", {"principalArn": "arn:aws:iam::1:role/a"},
                     dependsOn=[cluster(True).urn])
    assert violated(cluster(True), entry) == {"eks-access-entry-not-the-bootstrapped-creator"}
    assert violated(cluster(False), entry) == set()
    assert violated(cluster(True)) == set()


def test_the_kubernetes_provider_waits_for_the_system_pool_only():
    system = f"{STACK}sovereign:aws:GpuCluster$aws:eks/nodeGroup:NodeGroup::r-aws-system"
    gpu = f"{STACK}sovereign:aws:GpuCluster$aws:eks/nodeGroup:NodeGroup::r-aws-gpu-l4"
    waiting = resource("pulumi:providers:kubernetes", "r-aws", dependsOn=[system, gpu])
    assert violated(waiting) == {"kubernetes-provider-waits-for-system-nodes-only"}
    assert violated(resource("pulumi:providers:kubernetes", "r-aws", dependsOn=[system])) == set()


def test_the_dns_provider_is_pinned_when_the_regional_one_is():
    regional = resource("pulumi:providers:aws", "r-aws", {"region": "eu-central-1",
                                                          "allowedAccountIds": '["111122223333"]'})
    loose = resource("pulumi:providers:aws", "r-dns", {"region": "us-east-1"})
    pinned = resource("pulumi:providers:aws", "r-dns", {"region": "us-east-1", "allowedAccountIds": '["111122223333"]'})
    zone = resource("aws:route53/zone:Zone", "z", {"name": "r.example.com"}, provider=loose.urn)
    assert violated(regional, loose, zone) == {"route53-provider-pinned-to-the-account"}
    assert violated(regional, pinned, zone) == set()
    assert violated(loose, zone) == set()  # nothing pinned anywhere: nothing to match


@pytest.mark.parametrize("stack", ["us-east", "eu-central", "sa-east", "me-central", "cn-north", "it-south",
                                   "ap-northeast"])
def test_every_stack_plans_clean_under_every_rule(plans, stack):
    assert plans[stack].violations == ()
    assert plans[stack].ok
