"""Reality rules: each rejects a graph a real `pulumi up` would fail on and accepts its fixed form; every
stack plans clean under all of them."""

from __future__ import annotations

import json

import pytest

from sovereign.domain.images import IMAGES
from sovereign.engine.graph import RegisteredResource
from sovereign.engine.reality import RULES, check

STACK = "urn:pulumi:s::sovereign-inference::"


def resource(kind: str, name: str, inputs: dict | None = None, **options) -> RegisteredResource:
    return RegisteredResource(urn=f"{STACK}{kind}::{name}", type=kind, name=name, parent="", custom=True,
                              provider=options.pop("provider", ""), inputs=inputs or {},
                              dependencies=options.pop("dependencies", {}), options=options)


SDK_RULE = "sdk-required-inputs-present"
CHART = "kubernetes:helm.sh/v4:Chart"


def violated(*resources: RegisteredResource, sdk: bool = False) -> set[str]:
    """The rules the graph breaks; the small graphs here carry only the inputs their rule reads, so the SDK's
    required-inputs rule counts only where a test asks for it."""
    return {v.rule for v in check(resources, None) if sdk or v.rule != SDK_RULE}


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
        return resource("aws:eks/cluster:Cluster", "c", {"upgradePolicy": {"supportType": "STANDARD"}, "accessConfig": {
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


ZONE = resource("aws:route53/zone:Zone", "z", {"name": "r.example.com"})


def record(name: str, kind: str, in_zone: bool = True, **inputs) -> RegisteredResource:
    return resource("aws:route53/record:Record", name, {"name": inputs.pop("at", "r.example.com"), "type": kind,
                                                        **inputs},
                    dependencies={"zoneId": [ZONE.urn]} if in_zone else {})


def test_no_cname_at_the_zone_apex_and_one_type_per_name():
    cname = record("aws", "CNAME", records=["lb.elb.amazonaws.com"])
    a = record("gcp", "A", records=["203.0.113.1"])
    alias = record("aws", "A", aliases=[{"name": "lb.elb.amazonaws.com", "zoneId": "Z1"}])
    assert violated(ZONE, cname, a) == {"route53-no-cname-at-the-zone-apex", "route53-one-type-per-name"}
    assert violated(ZONE, alias, a) == set()
    below = record("www", "CNAME", at="www.r.example.com", records=["r.example.com"])
    assert violated(ZONE, below, a) == set()  # a CNAME below the apex is fine


def test_a_zone_the_parent_points_at_is_delegated():
    pointing = record("global-de", "CNAME", in_zone=False, at="api.example.com", records=["r.example.com"])
    delegation = record("delegation", "NS", in_zone=False, records=["ns-1.awsdns-1.org"])
    assert violated(ZONE, pointing) == {"route53-subdomain-zone-delegated"}
    assert violated(ZONE, pointing, delegation) == set()


def test_two_stacks_cannot_route_one_location_from_one_zone(catalog):
    from sovereign.domain.fleet import geolocation_conflicts
    from sovereign.domain.spec import parse_spec
    from tests.support.domain import stack_config

    def spec(stack: str, region: str, **dr) -> object:
        config = stack_config(stack, clouds={"aws": {"region": region}},
                              dr={"domain": "example.com", "globalZoneId": "Z0EXAMPLE0ZONE", **dr})
        return parse_spec(config, stack, f"stacks/Pulumi.{stack}.yaml", catalog)

    both_default = [spec("one", "us-east-1", default=True), spec("two", "us-west-2", serves=["CA"], default=True)]
    [error] = geolocation_conflicts(both_default)
    assert (error.file, error.key) == ("stacks/Pulumi.two.yaml", "sovereign:dr.default")
    assert "already routed by stacks/Pulumi.one.yaml" in error.problem
    assert len(geolocation_conflicts([spec("one", "us-east-1"), spec("two", "us-west-2")])) == 1  # both serve US
    assert geolocation_conflicts([spec("one", "us-east-1", default=True),
                                  spec("two", "us-west-2", serves=["CA"])]) == []


@pytest.mark.parametrize("stack", ["us-east", "eu-central", "sa-east", "me-central", "cn-north", "it-south",
                                   "ap-northeast"])
def test_every_stack_plans_clean_under_every_rule(plans, stack):
    assert plans[stack].violations == ()
    assert plans[stack].ok


def test_sovereign_plan_refuses_stacks_that_collide_in_the_global_zone(project_copy):
    from tests.support.cli import run_cli

    eu = (project_copy / "stacks" / "Pulumi.eu-central.yaml").read_text()
    (project_copy / "stacks" / "Pulumi.eu-twin.yaml").write_text(
        eu.replace("sovereign:region: eu-central", "sovereign:region: eu-twin"))
    result = run_cli("plan", "--project", str(project_copy), "--stack", "eu-twin")
    assert result.returncode == 2
    assert "stacks/Pulumi.eu-twin.yaml: sovereign:dr.serves: clients in AT of api.inference.example.eu are " \
           "already routed by stacks/Pulumi.eu-central.yaml" in result.stderr


def test_eks_clusters_run_a_version_in_standard_support_and_say_so(catalog):
    versions = sorted(catalog.eks_versions.values(), key=lambda v: v.standard_end)
    oldest, newest = versions[0].version, versions[-1].version

    def cluster(version: str, support: str | None) -> RegisteredResource:
        return resource("aws:eks/cluster:Cluster", "c", {"version": version, **(
            {"upgradePolicy": {"supportType": support}} if support else {})})
    assert violated(cluster(newest, "STANDARD")) == set()
    found = [v for v in check([cluster(oldest, None)], None) if v.rule != SDK_RULE]
    assert [v.rule for v in found] == ["eks-version-in-standard-support"] * 2
    assert "leaves standard support" in found[0].problem and "EXTENDED" in found[1].problem
    assert violated(cluster("1.19", "STANDARD")) == {"eks-version-in-standard-support"}


def test_gke_gpu_pools_run_only_in_zones_offering_their_accelerator(catalog):
    offered = catalog.gpu_zones("gcp", "europe-west3", "nvidia-l4")
    missing = sorted(set(catalog.region("gcp", "europe-west3").zones) - set(offered))
    assert offered and missing  # the case the rule exists for: L4 in only some of the region's zones

    def pool(zones, region="europe-west3") -> RegisteredResource:
        return resource("gcp:container/nodePool:NodePool", "gpu-l4", {
            "location": region, "nodeLocations": list(zones),
            "nodeConfig": {"guestAccelerators": [{"type": "nvidia-l4", "count": 1}]}})
    rule = "gke-node-pool-zones-offer-its-accelerator"
    assert rule in violated(pool([*offered, *missing]))
    assert rule not in violated(pool(offered))
    unknown = next((r.name for r in catalog.regions.values() if r.cloud == "gcp"
                    and catalog.gpu_zones("gcp", r.name, "nvidia-l4") is None), None)
    # A region without the zone-level fact is an error, never assumed available.
    assert unknown is not None
    assert rule in violated(pool(catalog.region("gcp", unknown).zones[:1], unknown))


def test_gcp_resources_wait_for_the_api_they_are_created_through():
    api = resource("gcp:projects/service:Service", "compute", {"service": "compute.googleapis.com"})
    network = resource("gcp:compute/network:Network", "net", dependsOn=[api.urn])
    policy = resource("gcp:compute/networkFirewallPolicy:NetworkFirewallPolicy", "ngfw")
    waiting = resource("gcp:compute/networkFirewallPolicy:NetworkFirewallPolicy", "ngfw",
                       dependencies={"name": [network.urn]})  # waits for the API through the network
    assert violated(api, network, policy) == {"gcp-resources-wait-for-their-api"}
    assert violated(api, network, waiting) == set()
    assert violated(network) == {"gcp-resources-wait-for-their-api"}  # never enabled at all


def test_workload_identity_bindings_wait_for_a_gke_cluster():
    cluster = resource("gcp:container/cluster:Cluster", "c")
    member = {"member": "serviceAccount:p.svc.id.goog[sovereign-serving/llama]", "role": "roles/iam.workloadIdentityUser"}
    early = resource("gcp:serviceaccount/iAMMember:IAMMember", "wi", member)
    after = resource("gcp:serviceaccount/iAMMember:IAMMember", "wi", member, dependsOn=[cluster.urn])
    # The bindings' own API rule needs no Service here: IAMMember on service accounts is not in its map.
    assert violated(cluster, early) >= {"gke-workload-identity-bindings-wait-for-the-pool"}
    assert "gke-workload-identity-bindings-wait-for-the-pool" not in violated(cluster, after)


def test_serving_replicas_fit_their_nodes_gpus_memory_and_disk(catalog):
    machine = next(m for m in catalog.gpus["nvidia-l4"].machine_types if m.cloud == "aws" and m.gpu_count == 4)
    provider = resource("pulumi:providers:kubernetes", "r-aws")
    group = resource("aws:eks/nodeGroup:NodeGroup", "r-aws-gpu-l4", {"instanceTypes": [machine.name], "diskSize": 200,
                                                                     "labels": {"sovereign.ai/pool": "gpu-l4"}})

    def release(gpus=1, memory="16Gi", cache="10Gi", cpu="2") -> RegisteredResource:
        return resource("kubernetes:helm.sh/v4:Chart", "r-aws-model", {"values": {
            "nodeSelector": {"sovereign.ai/pool": "gpu-l4"}, "gpu": {"count": gpus},
            "resources": {"requests": {"cpu": cpu, "memory": memory}},
            "weights": {"cache": {"size": cache}}, "scratch": {"home": "10Gi", "tmp": "4Gi"}}},
            provider=provider.urn)
    rule = "serving-replicas-fit-their-nodes"
    assert rule not in violated(provider, group, release())
    found = [v for v in check([provider, group, release(cache="60Gi")], None) if v.rule == rule]
    assert len(found) == 1 and "node disk" in found[0].problem  # 4 × 74 GiB on a 200 GiB disk
    too_much_memory = f"{machine.memory_mib // 1024 // 4 + 1}Gi"  # four of these outgrow the node
    assert rule in violated(provider, group, release(memory=too_much_memory))
    assert rule in violated(provider, group, release(gpus=8))
    assert rule not in violated(provider, group, release(gpus=4, cache="60Gi"))  # one replica per node fits


def test_a_resource_needs_the_inputs_its_sdk_requires():
    zone = {"zoneId": "Z1", "name": "api.example.com", "type": "A", "ttl": 60, "records": ["192.0.2.1"]}
    dropped = {k: v for k, v in zone.items() if k != "zoneId"}  # what an unset mock output leaves
    assert violated(resource("aws:route53/record:Record", "api", dropped), sdk=True) == {SDK_RULE}
    assert violated(resource("aws:route53/record:Record", "api", zone), sdk=True) == set()
    assert violated(resource("sovereign:aws:GpuCluster", "c"), sdk=True) == set()  # a component has no SDK class


def test_a_pool_holds_every_replica_and_each_rolling_surge(catalog):
    provider = resource("pulumi:providers:kubernetes", "r-aws")

    def group(minimum: int, maximum: int | None = None) -> RegisteredResource:  # 4 L4 per node; fixed unless told
        return resource("aws:eks/nodeGroup:NodeGroup", "r-aws-gpu-l4", {
            "instanceTypes": ["g6.12xlarge"], "scalingConfig": {"minSize": minimum, "maxSize": maximum or minimum,
                                                                "desiredSize": minimum}})

    def release(name: str, gpus: int, replicas: int, strategy: dict) -> RegisteredResource:
        return resource("kubernetes:helm.sh/v4:Chart", name, {"values": {
            "nodeSelector": {"sovereign.ai/pool": "gpu-l4"}, "gpu": {"count": gpus}, "replicaCount": replicas,
            "strategy": strategy}}, provider=provider.urn)
    surge = {"type": "RollingUpdate", "maxSurge": 1, "maxUnavailable": 0}
    rule = "serving-pool-holds-every-replica-and-its-surge"
    # Two TP2 replicas fill one node: the surge replica needs a second.
    assert rule in violated(provider, group(1), release("a", 2, 2, surge))
    assert rule not in violated(provider, group(2), release("a", 2, 2, surge))
    assert rule not in violated(provider, group(1), release("a", 2, 2, {"type": "Recreate"}))
    # A 1-GPU replica beside a 4-GPU one: spread onto both nodes first, it would leave the 4-GPU pod nowhere.
    assert rule in violated(provider, group(2), release("a", 1, 2, {"type": "Recreate"}),
                            release("b", 4, 1, {"type": "Recreate"}))
    assert rule not in violated(provider, group(3), release("a", 1, 2, {"type": "Recreate"}),
                                release("b", 4, 1, {"type": "Recreate"}))
    # A pool a node autoscaler grows gets the surge's node from it (the ceiling rule checks it may).
    assert rule not in violated(provider, group(1, 4), release("a", 2, 2, surge))


def test_a_gke_maintenance_window_leaves_48_hours_in_any_32_days():
    def cluster(recurrence: str, start: str, end: str) -> RegisteredResource:
        return resource("gcp:container/cluster:Cluster", "c", {"maintenancePolicy": {"recurringWindow": {
            "recurrence": recurrence, "startTime": f"2025-01-11T{start}:00Z", "endTime": f"2025-01-11T{end}:00Z"}}})
    rule = "gke-maintenance-window-allows-48h-in-32-days"
    assert rule in violated(cluster("FREQ=WEEKLY;BYDAY=SA", "01:00", "05:00"))         # ~16 h
    assert rule in violated(cluster("FREQ=WEEKLY;BYDAY=SA,SU", "01:00", "04:00"))      # 3 h windows count nothing
    assert rule not in violated(cluster("FREQ=WEEKLY;BYDAY=SA,SU", "01:00", "09:00"))  # 8 days × 8 h = 64 h


POOL, CLASS = "kubernetes:karpenter.sh/v1:NodePool", "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


def karpenter_graph(capacity=("on-demand",), reservation: bool = False, entry_type: str | None = "EC2_LINUX",
                    group_role: bool = False, grants=("iam:PassRole", "eks:DescribeCluster"), startup: bool = True,
                    types=("g6.12xlarge",), limit: str = "8", egress: bool = True,
                    ami: str = "al2023@latest") -> list[RegisteredResource]:
    """A Karpenter GPU pool as the program builds it: role → instance profile → node class → node pool."""
    role = resource("aws:iam/role:Role", "gpu-node")
    profile = resource("aws:iam/instanceProfile:InstanceProfile", "gpu-node", dependencies={"role": [role.urn]})
    crds = resource("kubernetes:helm.sh/v3:Release", "crds", {"chart": "oci://public.ecr.aws/karpenter/karpenter-crd"})
    controller = resource("aws:iam/role:Role", "karpenter")
    karpenter = resource("kubernetes:helm.sh/v3:Release", "karpenter", {
        "chart": "oci://public.ecr.aws/karpenter/karpenter"}, dependencies={"values": [controller.urn]})
    route = resource("aws:ec2/route:Route", "private-a-default", {"natGatewayId": "nat-0a"})
    node_class = resource(CLASS, "r-aws-gpu-l4-class", {"metadata": {"name": "gpu-l4"}, "spec": {
        "instanceProfile": "gpu-node", "amiSelectorTerms": [{"alias": ami}],
        **({"capacityReservationSelectorTerms": [{"id": "cr-0a1b"}]} if reservation
                                          else {})}}, dependencies={"spec": [profile.urn]},
        dependsOn=[crds.urn, *([karpenter.urn, route.urn] if egress else [])])
    taints = [{"key": "node.cilium.io/agent-not-ready", "value": "true", "effect": "NoExecute"}] if startup else []
    pool = resource(POOL, "r-aws-gpu-l4", {"metadata": {"name": "gpu-l4"}, "spec": {
        "template": {"spec": {"nodeClassRef": {"name": "gpu-l4"}, "startupTaints": taints, "requirements": [
            {"key": "node.kubernetes.io/instance-type", "values": list(types)},
            {"key": "karpenter.sh/capacity-type", "values": list(capacity)}]}},
        "limits": {"nvidia.com/gpu": limit}}}, dependsOn=[crds.urn])
    found = [role, profile, crds, controller, karpenter, route, node_class, pool]
    if entry_type:
        found.append(resource("aws:eks/accessEntry:AccessEntry", "nodes", {"type": entry_type},
                              dependencies={"principalArn": [role.urn]}))
    if group_role:
        found.append(resource("aws:eks/nodeGroup:NodeGroup", "system", {"scalingConfig": {
            "minSize": 1, "maxSize": 1, "desiredSize": 1}}, dependencies={"nodeRoleArn": [role.urn]}))
    found.append(resource("aws:iam/rolePolicy:RolePolicy", "karpenter", {"policy": json.dumps({"Statement": [
        {"Effect": "Allow", "Action": list(grants), "Resource": "*"}]})},
        dependencies={"role": [controller.urn], "policy": [role.urn]}))
    return found


def test_karpenter_nodes_join_launch_and_use_their_reservation():
    assert violated(*karpenter_graph()) == set()
    join = "karpenter-nodes-join-through-an-access-entry"
    assert violated(*karpenter_graph(entry_type=None)) == {join}
    assert violated(*karpenter_graph(entry_type="STANDARD")) == {join}
    assert violated(*karpenter_graph(group_role=True)) == {join}   # EKS made that role's entry itself: 409
    assert violated(*karpenter_graph(egress=False)) == {"karpenter-outlives-its-nodes-on-teardown"}
    launch = "karpenter-controller-may-launch-and-find-the-cluster"
    assert violated(*karpenter_graph(grants=("eks:DescribeCluster",))) == {launch}
    assert violated(*karpenter_graph(grants=("iam:PassRole",))) == {launch}
    reserved = "karpenter-reserved-pool-selects-its-reservation"
    assert violated(*karpenter_graph(capacity=("reserved",), reservation=True)) == set()
    assert violated(*karpenter_graph(capacity=("reserved",))) == {reserved}
    assert violated(*karpenter_graph(capacity=("reserved", "on-demand"), reservation=True)) == {reserved}


def test_karpenter_pools_fit_grow_and_start_fenced(catalog):
    provider = resource("pulumi:providers:kubernetes", "r-aws")
    small = next(m for m in catalog.gpus["nvidia-l4"].machine_types if m.cloud == "aws" and m.gpu_count == 1
                 and m.vcpu == 4)

    def graph(types=("g6.12xlarge",), limit="8", startup=True, replicas=(1, 4), cpu="4"):
        nodes = [r if r.type not in (POOL, CLASS) else resource(r.type, r.name, r.inputs, provider=provider.urn,
                                                                dependencies=r.dependencies, **r.options)
                 for r in karpenter_graph(types=types, limit=limit, startup=startup)]
        keda = resource("kubernetes:helm.sh/v3:Release", "keda", {"chart": "keda"})
        release = resource("kubernetes:helm.sh/v4:Chart", "r-aws-model", {"values": {
            "nodeSelector": {"sovereign.ai/pool": "gpu-l4"}, "gpu": {"count": 1},
            "resources": {"requests": {"cpu": cpu, "memory": "12Gi"}}, "replicaCount": replicas[0],
            "autoscaling": {"enabled": True, "minReplicas": replicas[0], "maxReplicas": replicas[1]}}},
            provider=provider.urn, dependsOn=[keda.urn])
        return [provider, *nodes, keda, release]
    assert violated(*graph()) == set()
    # Four 1-GPU replicas at max need one 4-GPU node: a limit of 2 GPUs leaves two Pending.
    assert violated(*graph(limit="2")) == {"serving-pool-grows-to-the-max-replicas"}
    assert violated(*graph(replicas=(1, 8), limit="8")) == set()
    assert violated(*graph(replicas=(1, 9), limit="8")) == {"serving-pool-grows-to-the-max-replicas"}
    # A fallback machine type too small for a replica's CPU: replicas sent there never fit.
    assert "serving-replicas-fit-their-nodes" in violated(*graph(types=("g6.12xlarge", small.name)))
    # Nodes without Cilium's startup taint: pods may start before the fence holds.
    cilium = [resource("kubernetes:helm.sh/v3:Release", "cilium", {"chart": "cilium", "values": {
        "eni": {"enabled": True}}}), resource("kubernetes:cilium.io/v2:CiliumNetworkPolicy", "fqdns")]
    assert "eks-cilium-fqdn-fence-in-a-supported-mode" in violated(*graph(startup=False), *cilium)
    assert "eks-cilium-fqdn-fence-in-a-supported-mode" not in violated(*graph(), *cilium)


def test_gpu_nodes_run_a_driver_new_enough_for_the_serving_image(catalog):
    rule = "gpu-nodes-run-the-driver-their-image-needs"
    vllm = IMAGES["vllm"]
    assert vllm.min_driver == 580   # CUDA 13.0
    values = {"nodeSelector": {"sovereign.ai/pool": "gpu-l4"}, "gpu": {"count": 1}, "image": {
        "repository": f"1.dkr.ecr.eu-central-1.amazonaws.com/s/docker-hub/{vllm.repository}", "tag": vllm.tag}}

    def eks(ami: str) -> list[RegisteredResource]:
        provider = resource("pulumi:providers:kubernetes", "r-aws")
        nodes = [r if r.type not in (POOL, CLASS) else resource(r.type, r.name, r.inputs, provider=provider.urn,
                                                                dependencies=r.dependencies, **r.options)
                 for r in karpenter_graph(ami=ami)]
        return [provider, *nodes, resource(CHART, "r-aws-model", {"values": values}, provider=provider.urn)]

    def gke(driver: str, served: dict = values) -> list[RegisteredResource]:
        provider = resource("pulumi:providers:kubernetes", "r-gcp")
        zones = list(catalog.gpu_zones("gcp", "europe-west3", "nvidia-l4"))
        pool = resource("gcp:container/nodePool:NodePool", "r-gcp-gpu-l4", {
            "location": "europe-west3", "nodeLocations": zones, "nodeConfig": {"guestAccelerators": [
            {"type": "nvidia-l4", "count": 1, "gpuDriverInstallationConfig": {"gpuDriverVersion": driver}}]}})
        return [provider, pool, resource(CHART, "r-gcp-model", {"values": served}, provider=provider.urn)]
    assert rule not in violated(*eks("al2023@latest"))
    assert rule in violated(*eks("al2023@v20250410"))   # a pinned AMI: its driver is not known here
    assert rule not in violated(*gke("LATEST"))
    assert rule in violated(*gke("DEFAULT"))             # R535 on COS: CUDA 13 fails
    assert rule in violated(*gke("INSTALLATION_DISABLED"))
    # An image without a driver need (none recorded) is not held to one.
    other = {**values, "image": {"repository": "example/cpu-only", "tag": "1"}}
    assert rule not in violated(*gke("DEFAULT", other))


def test_images_through_an_ecr_pull_through_cache_are_named_by_tag():
    rule = "ecr-pull-through-cache-first-pull-by-tag"
    cache = resource("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "quay",
                     {"ecrRepositoryPrefix": "s/quay", "upstreamRegistryUrl": "quay.io"})
    mirror = "1.dkr.ecr.eu-central-1.amazonaws.com/s/quay"

    def cilium(**image) -> RegisteredResource:
        return resource("kubernetes:helm.sh/v3:Release", "cilium", {"chart": "cilium", "values": {
            "image": {"repository": f"{mirror}/cilium/cilium", **image}}})

    def karpenter(**image) -> RegisteredResource:
        return resource("kubernetes:helm.sh/v3:Release", "karpenter", {
            "chart": "oci://public.ecr.aws/karpenter/karpenter", "values": {"controller": {"image": {
                "repository": f"{mirror}/karpenter/controller", **image}}}})
    # Cilium and Karpenter name their images by digest unless told otherwise.
    assert rule in violated(cache, cilium())
    assert rule not in violated(cache, cilium(useDigest=False))
    assert rule in violated(cache, karpenter())
    assert rule not in violated(cache, karpenter(digest=""))
    assert rule in violated(cache, resource(CHART, "model", {"chart": "/charts/model-server", "values": {
        "image": {"repository": f"{mirror}/vllm/vllm-openai", "tag": "v1", "digest": "sha256:" + "a" * 64}}}))
    # The model-server chart's own defaults carry digests too: a mirror without `digest` would keep them.
    assert rule in violated(cache, resource(CHART, "model", {"chart": "/charts/model-server", "values": {
        "image": {"repository": f"{mirror}/vllm/vllm-openai"}}}))
    # A chart moved onto the mirror by its registry (kube-prometheus-stack's images) is held the same way.
    assert rule in violated(cache, resource("kubernetes:helm.sh/v3:Release", "kps", {
        "chart": "kube-prometheus-stack", "values": {"prometheus": {"prometheusSpec": {"image": {
            "registry": mirror, "sha": "a" * 64}}}}}))
    container = {"name": "gateway", "image": f"{mirror}/x:1@sha256:{'a' * 64}"}
    pod = {"spec": {"template": {"spec": {"containers": [container]}}}}
    assert rule in violated(cache, resource("kubernetes:apps/v1:Deployment", "gateway", pod))
    # Elsewhere (another registry, or no pull-through cache at all) digests are fine.
    assert rule not in violated(cilium())
    assert rule not in violated(cache, resource("kubernetes:helm.sh/v3:Release", "cilium", {
        "chart": "cilium", "values": {"image": {"repository": "europe-docker.pkg.dev/p/quay/cilium/cilium"}}}))


def test_karpenter_nodes_that_pull_through_ecr_caches_may_create_their_repositories():
    cache = resource("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "quay",
                     {"ecrRepositoryPrefix": "s/quay", "upstreamRegistryUrl": "quay.io"})
    nodes = karpenter_graph()
    assert violated(cache, *nodes) == {"ecr-pull-through-first-pull-permitted"}
    role = nodes[0]
    grant = resource("aws:iam/rolePolicy:RolePolicy", "pull", {"policy": json.dumps({"Statement": [
        {"Effect": "Allow", "Action": ["ecr:CreateRepository", "ecr:BatchImportUpstreamImage"], "Resource": "*"}]})},
        dependencies={"role": [role.urn]})
    assert violated(cache, *nodes, grant) == set()


def test_a_log_group_keeps_a_retention_cloudwatch_takes():
    rule = "cloudwatch-log-retention-is-one-it-takes"
    assert violated(resource("aws:cloudwatch/logGroup:LogGroup", "g", {"retentionInDays": 45})) == {rule}
    assert violated(resource("aws:cloudwatch/logGroup:LogGroup", "g", {})) == {rule}   # kept forever
    assert violated(resource("aws:cloudwatch/logGroup:LogGroup", "g", {"retentionInDays": 365})) == set()


def test_the_eks_fqdn_fence_runs_cilium_in_eni_mode_alone_on_tainted_nodes():
    rule = "eks-cilium-fqdn-fence-in-a-supported-mode"
    policy = resource("kubernetes:cilium.io/v2:CiliumNetworkPolicy", "fqdns")
    taint = {"key": "node.cilium.io/agent-not-ready", "value": "true", "effect": "NO_EXECUTE"}

    def cilium(values: dict) -> RegisteredResource:
        return resource("kubernetes:helm.sh/v3:Release", "cilium", {"chart": "cilium", "values": values})
    eni = cilium({"eni": {"enabled": True}, "ipam": {"mode": "eni"}, "routingMode": "native"})
    cluster = resource("aws:eks/cluster:Cluster", "c", {"bootstrapSelfManagedAddons": False,
                                                        "upgradePolicy": {"supportType": "STANDARD"}})
    group = resource("aws:eks/nodeGroup:NodeGroup", "g", {"taints": [taint], "scalingConfig": {
        "minSize": 1, "maxSize": 1, "desiredSize": 1}})
    assert rule not in violated(eni, cluster, group, policy)
    assert rule in violated(cilium({"cni": {"chainingMode": "aws-cni"}}), cluster, group, policy)
    assert rule in violated(eni, resource("aws:eks/cluster:Cluster", "c", {}), group, policy)
    assert rule in violated(eni, cluster, group, policy, resource("aws:eks/addon:Addon", "a", {"addonName": "vpc-cni"}))
    assert rule in violated(eni, cluster, resource("aws:eks/nodeGroup:NodeGroup", "g", {}), policy)
    # Installed through a provider that waits for a node group: those complete only once the CNI runs.
    waiting = resource("pulumi:providers:kubernetes", "k", dependsOn=[group.urn])
    late = resource("kubernetes:helm.sh/v3:Release", "cilium", {"chart": "cilium", "values": eni.inputs["values"]},
                    provider=waiting.urn)
    assert rule in violated(late, waiting, cluster, group, policy)
    early = resource("pulumi:providers:kubernetes", "k", dependsOn=[cluster.urn])
    assert rule not in violated(resource("kubernetes:helm.sh/v3:Release", "cilium", {
        "chart": "cilium", "values": eni.inputs["values"]}, provider=early.urn), early, cluster, group, policy)


def test_s3_access_logs_go_into_an_sse_s3_bucket_of_their_own():
    rule = "s3-access-logs-into-an-sse-s3-bucket-of-their-own"
    weights, logs = resource("aws:s3/bucket:Bucket", "weights"), resource("aws:s3/bucket:Bucket", "logs")

    def encrypted(bucket: RegisteredResource, algorithm: str) -> RegisteredResource:
        return resource("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                        f"{bucket.name}-sse", {"bucket": bucket.name, "rules": [
                            {"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm}}]},
                        dependencies={"bucket": [bucket.urn]})

    def logging(target: RegisteredResource) -> RegisteredResource:
        return resource("aws:s3/bucketLogging:BucketLogging", "log", {
            "bucket": "weights", "targetBucket": target.name, "targetPrefix": "weights/"},
            dependencies={"bucket": [weights.urn], "targetBucket": [target.urn]})
    assert violated(weights, logs, encrypted(logs, "AES256"), logging(logs)) == set()
    assert violated(weights, logs, encrypted(logs, "aws:kms"), logging(logs)) == {rule}
    assert violated(weights, encrypted(weights, "AES256"), logging(weights)) == {rule}


def test_vpc_flow_logs_reach_cloudwatch_through_a_role_the_service_may_assume():
    rule = "vpc-flow-logs-deliverable-to-cloudwatch"

    def role(service: str) -> RegisteredResource:
        return resource("aws:iam/role:Role", "flow", {"assumeRolePolicy": json.dumps({"Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": service}}]})})

    def flow(by: RegisteredResource | None, interval: int = 60) -> RegisteredResource:
        return resource("aws:ec2/flowLog:FlowLog", "flow", {"logDestinationType": "cloud-watch-logs",
                                                            "maxAggregationInterval": interval},
                        dependencies={"iamRoleArn": [by.urn]} if by else {})
    good = role("vpc-flow-logs.amazonaws.com")
    assert rule not in violated(good, flow(good))
    assert rule in violated(flow(None))
    assert rule in violated(role("ec2.amazonaws.com"), flow(role("ec2.amazonaws.com")))
    assert rule in violated(good, flow(good, interval=300))


def test_gcs_usage_logs_go_to_a_bucket_storage_analytics_may_write():
    rule = "gcs-usage-logs-writable-by-storage-analytics"
    logs = resource("gcp:storage/bucket:Bucket", "logs")
    weights = resource("gcp:storage/bucket:Bucket", "weights", {"logging": {"logBucket": "logs"}},
                       dependencies={"logging": [logs.urn]})
    grant = resource("gcp:storage/bucketIAMMember:BucketIAMMember", "grant", {
        "member": "group:cloud-storage-analytics@google.com", "role": "roles/storage.objectCreator"},
        dependencies={"bucket": [logs.urn]})
    assert rule not in violated(logs, weights, grant)
    assert rule in violated(logs, weights)
    elsewhere = resource("gcp:storage/bucketIAMMember:BucketIAMMember", "grant", {
        "member": "group:cloud-storage-analytics@google.com", "role": "roles/storage.objectCreator"},
        dependencies={"bucket": [weights.urn]})
    assert rule in violated(logs, weights, elsewhere)


def test_a_dns_firewall_allow_rule_in_front_of_a_catch_all_trusts_its_names_redirections():
    rule = "dns-firewall-allowlist-trusts-its-redirections"
    group = resource("aws:route53/resolverFirewallRuleGroup:ResolverFirewallRuleGroup", "g")
    every = resource("aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList", "every", {"domains": ["*"]})

    def firewall_rule(name: str, action: str, priority: int, chain: str, domains=None) -> RegisteredResource:
        return resource("aws:route53/resolverFirewallRule:ResolverFirewallRule", name, {
            "action": action, "priority": priority, "firewallDomainRedirectionAction": chain},
            dependencies={"firewallRuleGroupId": [group.urn], "firewallDomainListId": [(domains or every).urn]})
    catch_all = firewall_rule("catch-all", "BLOCK", 300, "INSPECT_REDIRECTION_DOMAIN")
    assert violated(group, every, catch_all, firewall_rule("allow", "ALLOW", 200, "INSPECT_REDIRECTION_DOMAIN")) == {rule}
    assert violated(group, every, catch_all, firewall_rule("allow", "ALLOW", 200, "TRUST_REDIRECTION_DOMAIN")) == set()
    # Without a catch-all behind it (a blocklist), inspecting the chain costs nothing.
    assert violated(group, every, firewall_rule("allow", "ALLOW", 400, "INSPECT_REDIRECTION_DOMAIN")) == set()


def test_a_cloud_ngfw_rule_stays_below_the_policys_reserved_priorities():
    rule = "ngfw-rule-priority-below-the-reserved-range"
    kind = "gcp:compute/networkFirewallPolicyRule:NetworkFirewallPolicyRule"
    api = resource("gcp:projects/service:Service", "compute", {"service": "compute.googleapis.com"})
    assert violated(api, resource(kind, "last", {"priority": 2147483646}, dependsOn=[api.urn])) == {rule}
    assert violated(api, resource(kind, "last", {"priority": 2_000_000_000}, dependsOn=[api.urn])) == set()


def test_a_scoped_s3_endpoint_still_serves_ecr_image_layers():
    from components.aws.egress_storage import endpoint_policy
    rule = "s3-endpoint-policy-keeps-ecr-image-layers"
    group = resource("aws:eks/nodeGroup:NodeGroup", "g", {"scalingConfig": {"minSize": 1, "maxSize": 1, "desiredSize": 1}})
    endpoint = resource("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", {"serviceName": "com.amazonaws.eu-central-1.s3"})

    def scoped(document: dict) -> RegisteredResource:
        return resource("aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy", "s3", {"policy": json.dumps(document)},
                        dependencies={"vpcEndpointId": [endpoint.urn]})
    weights_only = {"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Principal": "*",
                                   "Resource": ["arn:aws:s3:::weights/*"]}]}
    assert violated(group, endpoint, scoped(weights_only)) == {rule}
    assert violated(group, endpoint, scoped(json.loads(endpoint_policy("aws", "eu-central-1", "weights")))) == set()
    assert violated(endpoint, scoped(weights_only)) == set()  # no node pulls through it


def test_an_ecr_pull_through_rule_is_one_ecr_accepts_with_the_credentials_its_upstream_needs():
    rule = "ecr-pull-through-rule-accepted"
    secret = "arn:aws:secretsmanager:eu-central-1:111122223333:secret:ecr-pullthroughcache/docker-hub-a1B2c3"

    def cache(prefix: str, upstream: str, credential: str | None = None) -> RegisteredResource:
        return resource("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", prefix.replace("/", "-"), {
            "ecrRepositoryPrefix": prefix, "upstreamRegistryUrl": upstream,
            **({"credentialArn": credential} if credential else {})})
    assert violated(cache("eu-central/docker-hub", "registry-1.docker.io", secret)) == set()
    assert violated(cache("eu-central/quay", "quay.io")) == set()                       # Quay needs none
    assert violated(cache("eu-central/docker-hub", "registry-1.docker.io")) == {rule}   # Docker Hub does
    assert violated(cache("eu-central/ghcr", "ghcr.io", secret.replace("ecr-pullthroughcache/", "other/"))) == {rule}
    assert violated(cache("a-very-long-region-name/docker-hub", "registry-1.docker.io", secret)) == {rule}
    assert violated(cache("eu-central/nvcr", "nvcr.io")) == {rule}                      # no NVIDIA upstream
    china = resource("pulumi:providers:aws", "cn", {"region": "cn-north-1"})
    in_china = resource("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "cn", {
        "ecrRepositoryPrefix": "cn-north/quay", "upstreamRegistryUrl": "quay.io"}, provider=china.urn)
    assert violated(china, in_china) == {rule}                                            # no cache in AWS China


def test_nodes_that_pull_through_ecr_caches_may_create_and_import_their_repositories():
    rule = "ecr-pull-through-first-pull-permitted"
    cache = resource("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "quay",
                     {"ecrRepositoryPrefix": "s/quay", "upstreamRegistryUrl": "quay.io"})
    role = resource("aws:iam/role:Role", "node")
    group = resource("aws:eks/nodeGroup:NodeGroup", "g", {"scalingConfig": {"minSize": 1, "maxSize": 1, "desiredSize": 1}},
                     dependencies={"nodeRoleArn": [role.urn]})

    def policy(*actions: str) -> RegisteredResource:
        return resource("aws:iam/rolePolicy:RolePolicy", "p", {"policy": json.dumps({"Statement": [
            {"Effect": "Allow", "Action": list(actions), "Resource": "*"}]})}, dependencies={"role": [role.urn]})
    assert violated(cache, role, group, policy("ecr:BatchGetImage")) == {rule}
    assert violated(cache, role, group, policy("ecr:CreateRepository", "ecr:BatchImportUpstreamImage")) == set()
    assert violated(role, group, policy("ecr:BatchGetImage")) == set()   # no cache, nothing to create


def test_an_explicit_kms_key_policy_keeps_the_accounts_iam_in():
    from components.aws.iam import key_policy
    rule = "kms-key-policy-keeps-the-account-in"
    key = "aws:kms/key:Key"
    assert violated(resource(key, "k", {"policy": key_policy("aws", "111122223333", "s3.eu-central-1.amazonaws.com")})) \
        == set()
    locked = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/app"},
                             "Action": "kms:Decrypt", "Resource": "*"}]}
    assert violated(resource(key, "k", {"policy": json.dumps(locked)})) == {rule}
    assert violated(resource(key, "k", {})) == set()   # KMS's default policy


def test_a_gke_secrets_key_is_in_the_clusters_region_and_gke_may_use_it_first():
    rule = "gke-secrets-key-in-the-clusters-location-and-granted-first"
    key = "projects/p/locations/europe-west3/keyRings/r/cryptoKeys/kubernetes-secrets"
    api = resource("gcp:projects/service:Service", "kms", {"service": "cloudkms.googleapis.com"})
    container = resource("gcp:projects/service:Service", "gke", {"service": "container.googleapis.com"})
    grant = resource("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "use", {
        "cryptoKeyId": key, "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        "member": "serviceAccount:service-123@container-engine-robot.iam.gserviceaccount.com"}, dependsOn=[api.urn])

    def cluster(key_name: str, after: list) -> RegisteredResource:
        return resource("gcp:container/cluster:Cluster", "c", {
            "location": "europe-west3", "databaseEncryption": {"state": "ENCRYPTED", "keyName": key_name}},
            dependsOn=[container.urn, *after])
    assert violated(api, container, grant, cluster(key, [grant.urn])) == set()
    assert violated(api, container, grant, cluster(key, [])) == {rule}        # created before the grant
    assert violated(api, container, grant, cluster(key.replace("europe-west3", "europe-west4"), [grant.urn])) == {rule}


def test_a_tls_load_balancer_takes_its_certificate_only_once_issued():
    rule = "elb-tls-listener-takes-an-issued-certificate"
    certificate = resource("aws:acm/certificate:Certificate", "c", {"domainName": "r.example.com"})
    issued = resource("aws:acm/certificateValidation:CertificateValidation", "c", {"certificateArn": "arn"},
                      dependencies={"certificateArn": [certificate.urn]})
    metadata = {"annotations": {"service.beta.kubernetes.io/aws-load-balancer-ssl-cert": "arn:aws:acm:…"}}

    def service(source) -> RegisteredResource:
        return resource("kubernetes:core/v1:Service", "s", {"metadata": metadata}, dependencies={"metadata": [source.urn]})
    assert violated(certificate, issued, service(issued)) == set()
    assert violated(certificate, issued, service(certificate)) == {rule}   # the pending certificate's ARN


def test_a_regional_gke_gateway_needs_a_proxy_only_subnet_in_its_region():
    rule = "gke-regional-gateway-has-a-proxy-only-subnet"
    api = resource("gcp:projects/service:Service", "compute", {"service": "compute.googleapis.com"})
    gke_api = resource("gcp:projects/service:Service", "gke", {"service": "container.googleapis.com"})
    cluster = resource("gcp:container/cluster:Cluster", "c", {"location": "europe-west3"}, dependsOn=[gke_api.urn])
    gateway = resource("kubernetes:gateway.networking.k8s.io/v1:Gateway", "g", {
        "spec": {"gatewayClassName": "gke-l7-regional-external-managed"}})

    def proxies(region: str) -> RegisteredResource:
        return resource("gcp:compute/subnetwork:Subnetwork", "p", {
            "purpose": "REGIONAL_MANAGED_PROXY", "role": "ACTIVE", "region": region}, dependsOn=[api.urn])
    assert violated(api, gke_api, cluster, gateway, proxies("europe-west3")) == set()
    assert violated(api, gke_api, cluster, gateway, proxies("europe-west4")) == {rule}
    assert violated(api, gke_api, cluster, gateway) == {rule}


def test_cloudwatch_alarms_and_metric_filters_are_ones_cloudwatch_accepts():
    group = resource("aws:cloudwatch/logGroup:LogGroup", "q", {"name": "/sovereign/r/resolver-queries",
                                                                 "retentionInDays": 365})
    waiting = resource("aws:cloudwatch/logMetricFilter:LogMetricFilter", "f",
                       {"logGroupName": "/sovereign/r/resolver-queries"}, dependencies={"logGroupName": [group.urn]})
    eager = resource("aws:cloudwatch/logMetricFilter:LogMetricFilter", "f", {"logGroupName": "/sovereign/r/resolver-queries"})
    assert violated(group, waiting) == set()
    assert violated(group, eager) == {"cloudwatch-alarm-and-metric-filter-accepted"}

    def alarm(**inputs) -> RegisteredResource:
        return resource("aws:cloudwatch/metricAlarm:MetricAlarm", "a", {"evaluationPeriods": 1, **inputs})
    assert violated(alarm(period=300)) == set()
    assert violated(alarm(period=30)) == set()
    assert violated(alarm(period=90)) == {"cloudwatch-alarm-and-metric-filter-accepted"}
    assert violated(alarm(period=3600, evaluationPeriods=25)) == {"cloudwatch-alarm-and-metric-filter-accepted"}
    assert violated(alarm(period=300, evaluationPeriods=2, datapointsToAlarm=3)) == {
        "cloudwatch-alarm-and-metric-filter-accepted"}


def test_an_alert_policy_waits_for_the_log_based_metric_it_names():
    def metric(kind="DELTA", value="INT64") -> RegisteredResource:
        return resource("gcp:logging/metric:Metric", "m", {"name": "r-gcp-egress-refused",
                                                            "metricDescriptor": {"metricKind": kind, "valueType": value}})
    condition = {"conditionThreshold": {
        "filter": 'metric.type="logging.googleapis.com/user/r-gcp-egress-refused" AND resource.type="gce_subnetwork"'}}
    counter = metric()
    waiting = resource("gcp:monitoring/alertPolicy:AlertPolicy", "p", {"conditions": [condition]},
                       dependencies={"conditions": [counter.urn]})
    eager = resource("gcp:monitoring/alertPolicy:AlertPolicy", "p", {"conditions": [condition]})
    rule_id = "gcp-alert-policy-waits-for-its-log-metric"
    # The API rule of the same module wants the Service resources; only this rule is looked at here.
    assert rule_id not in violated(counter, waiting)
    assert rule_id in violated(counter, eager)
    assert rule_id in violated(waiting)                       # a metric the stack never creates
    assert rule_id in violated(metric(kind="GAUGE"), waiting)
    assert rule_id in violated(metric(value="DOUBLE"), waiting)


def test_logging_and_monitoring_resources_wait_for_their_apis():
    service = resource("gcp:projects/service:Service", "logging", {"service": "logging.googleapis.com"})
    metric = resource("gcp:logging/metric:Metric", "m", {"name": "x", "metricDescriptor": {
        "metricKind": "DELTA", "valueType": "INT64"}}, dependsOn=[service.urn])
    assert violated(service, metric) == set()
    assert violated(service, resource("gcp:logging/metric:Metric", "m", {"name": "x", "metricDescriptor": {
        "metricKind": "DELTA", "valueType": "INT64"}})) == {"gcp-resources-wait-for-their-api"}


def test_custom_resources_wait_for_the_release_installing_their_crds():
    keda = resource("kubernetes:helm.sh/v3:Release", "c-keda", {"chart": "keda"})
    prometheus = resource("kubernetes:helm.sh/v3:Release", "c-prometheus", {"chart": "kube-prometheus-stack"})
    values = {"autoscaling": {"enabled": True}, "metrics": {"serviceMonitor": {"enabled": True}}}
    chart = "kubernetes:helm.sh/v4:Chart"
    rule = "custom-resources-after-their-crds"
    assert violated(keda, prometheus, resource(chart, "m", {"values": values}, dependsOn=[keda.urn])) == {rule}
    assert violated(keda, prometheus, resource(chart, "m", {"values": values},
                                                dependsOn=[keda.urn, prometheus.urn])) == set()
    # A fixed-size release with a PodMonitoring (GKE's managed CRD) needs no release first.
    fixed = {"autoscaling": {"enabled": False}, "metrics": {"podMonitoring": {"enabled": True}}}
    assert violated(resource(chart, "m", {"values": fixed})) == set()
    crds = resource("kubernetes:helm.sh/v3:Release", "c-karpenter-crd", {"chart": "karpenter-crd"})
    pool = "kubernetes:karpenter.sh/v1:NodePool"
    assert violated(crds, resource(pool, "gpu")) == {rule}
    assert violated(crds, resource(pool, "gpu", dependsOn=[crds.urn])) == set()
    rules = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
    assert violated(prometheus, resource(rules, "alerts", dependsOn=[keda.urn])) == {rule}
    exporter = {"chart": "dcgm-exporter", "values": {"serviceMonitor": {"enabled": True}}}
    assert violated(prometheus, resource("kubernetes:helm.sh/v3:Release", "dcgm", exporter)) == {rule}
    assert violated(prometheus, resource("kubernetes:helm.sh/v3:Release", "dcgm", exporter,
                                         dependsOn=[prometheus.urn])) == set()


def test_the_readme_lists_every_rule_once():
    from pathlib import Path
    text = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = text.split("## What the offline plan proves", 1)[1].split("\n## ", 1)[0]
    listed = [line.split("`")[1] for line in section.splitlines() if line.startswith("| `")]
    assert sorted(listed) == sorted(r.id for r in RULES)


def test_a_cloud_armor_rule_takes_ten_ranges_and_the_policy_ends_with_its_default_rule():
    def rule_(priority: int, ranges: int) -> dict:
        return {"priority": priority, "match": {"config": {"srcIpRanges": [f"198.18.{i}.0/26" for i in range(ranges)]}}}
    policy = "gcp:compute/regionSecurityPolicy:RegionSecurityPolicy"
    rule = "cloud-armor-rule-takes-ten-ranges"
    assert rule not in violated(resource(policy, "p", {"rules": [rule_(1000, 10), rule_(2147483647, 1)]}))
    assert rule in violated(resource(policy, "p", {"rules": [rule_(1000, 11), rule_(2147483647, 1)]}))
    assert rule in violated(resource(policy, "p", {"rules": [rule_(1000, 3)]}))


def test_an_nlbs_source_ranges_fit_its_security_group():
    def service(ranges: int) -> RegisteredResource:
        return resource("kubernetes:core/v1:Service", "public", {
            "metadata": {"annotations": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}},
            "spec": {"type": "LoadBalancer", "loadBalancerSourceRanges": [f"198.18.{i}.0/26" for i in range(ranges)]}})
    rule = "nlb-source-ranges-fit-a-security-group"
    assert violated(service(28)) == set()          # 25 health checker ranges and three client networks
    assert violated(service(29)) == {rule}
    assert violated(service(0)) == set()           # open: no rules per range
