"""`sovereign:gcp:GpuCluster` for every stack that runs GCP: what the real program registers under mocks
matches the stack's ClusterPlan, the sizing decision and the catalog."""

from __future__ import annotations

import ipaddress
import re

import pytest

from sovereign.domain.sizing import nodes_for, pods
from sovereign.domain.topology import GPU_LABEL, GPU_TAINT, POOL_LABEL
from sovereign.engine.graph import SECRET_MASK

from tests.support.graph import Graph
from tests.support.stacks import GCP_STACKS
from tests.support.tokens import T

NODE_ROLES = {"roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer",
              "roles/stackdriver.resourceMetadata.writer", "roles/artifactregistry.reader",
              "roles/serviceusage.serviceUsageConsumer"}   # Image streaming
CLOUD_PLATFORM = ["https://www.googleapis.com/auth/cloud-platform"]


def cluster_plan(graph: Graph):
    return graph.plan.decisions.cluster("gcp").plan


def node_pools(graph: Graph) -> dict:
    return {r.inputs["name"]: r for r in graph.all(T.GKE_NODE_POOL)}


@pytest.fixture
def graph(plans, request):
    """The children of the stack's GCP cluster component."""
    return Graph.of(plans[request.param]).component(T.GCP_GPU_CLUSTER)


gcp_stacks = pytest.mark.parametrize("graph", GCP_STACKS, indirect=True)


def test_several_stacks_run_gcp_some_with_and_some_without_api_access_cidrs(plans):
    assert len(GCP_STACKS) >= 2
    with_cidrs = {bool(plans[s].decisions.cluster("gcp").plan.cloud.api_access_cidrs) for s in GCP_STACKS}
    assert with_cidrs == {True, False}  # both private-endpoint shapes are exercised below


@gcp_stacks
def test_cluster_is_regional_private_dataplane_v2_with_workload_identity(graph):
    plan, cloud = cluster_plan(graph), cluster_plan(graph).cloud
    cluster = graph.one(T.GKE_CLUSTER).inputs
    assert cluster["name"] == plan.name and cluster["location"] == cloud.region.name
    assert cluster["datapathProvider"] == "ADVANCED_DATAPATH"
    assert cluster["workloadIdentityConfig"] == {"workloadPool": f"{cloud.project}.svc.id.goog"}
    assert cluster["releaseChannel"] == {"channel": cloud.release_channel}
    assert cluster["removeDefaultNodePool"] is True and cluster["initialNodeCount"] == 1
    assert cluster["deletionProtection"] is False
    assert cluster["enableShieldedNodes"] is True
    assert cluster["networkingMode"] == "VPC_NATIVE"
    window = plan.maintenance
    assert cluster["maintenancePolicy"] == {"recurringWindow": {
        "startTime": window.first()[0], "endTime": window.first()[1], "recurrence": window.recurrence()}}
    assert "WORKLOADS" in cluster["loggingConfig"]["enableComponents"]
    assert "SYSTEM_COMPONENTS" in cluster["monitoringConfig"]["enableComponents"]


@gcp_stacks
def test_cluster_api_is_private_unless_the_stack_names_operator_networks(graph):
    cloud = cluster_plan(graph).cloud
    cluster = graph.one(T.GKE_CLUSTER).inputs
    private = cluster["privateClusterConfig"]
    assert private["enablePrivateNodes"] is True
    assert private["masterIpv4CidrBlock"] == cluster_plan(graph).network.master_cidr
    assert private["enablePrivateEndpoint"] is (not cloud.api_access_cidrs)
    authorized = cluster["masterAuthorizedNetworksConfig"]
    assert sorted(b["cidrBlock"] for b in authorized["cidrBlocks"]) == sorted(cloud.api_access_cidrs)
    assert authorized["gcpPublicCidrsAccessEnabled"] is False


@gcp_stacks
def test_cluster_spreads_over_distinct_up_zones_of_its_region(graph, catalog):
    region = cluster_plan(graph).cloud.region
    zones = graph.one(T.GKE_CLUSTER).inputs["nodeLocations"]
    assert len(zones) == len(set(zones)) == cluster_plan(graph).zone_count >= 2
    assert set(zones) <= set(catalog.region("gcp", region.name).zones)
    planned = {p.name: p for p in cluster_plan(graph).gpu_pools}
    for name, pool in node_pools(graph).items():
        # GPU pools only where the catalog says their accelerator is; the system pool everywhere.
        expected = list(planned[name].zones) if name in planned else zones
        assert pool.inputs["nodeLocations"] == expected
        if name in planned:
            offered = catalog.gpu_zones("gcp", region.name, planned[name].gpu)
            assert offered is not None and set(expected) <= set(offered)


@gcp_stacks
def test_network_and_subnetwork_carry_the_plan_ranges(graph):
    ranges = cluster_plan(graph).network
    network = graph.one(T.NETWORK)
    subnet = graph.one(T.SUBNETWORK, name=f"{cluster_plan(graph).name}-nodes")
    assert network.inputs["autoCreateSubnetworks"] is False
    assert subnet.inputs["ipCidrRange"] == ranges.private_subnets[0]
    assert subnet.inputs["region"] == cluster_plan(graph).cloud.region.name
    assert subnet.inputs["network"].endswith(f"/global/networks/{network.name}")
    secondary = {r["rangeName"]: r["ipCidrRange"] for r in subnet.inputs["secondaryIpRanges"]}
    assert secondary == {"pods": ranges.pods_cidr, "services": ranges.services_cidr}
    assert subnet.inputs["privateIpGoogleAccess"] is True
    assert subnet.inputs["logConfig"]["flowSampling"] > 0
    # The cluster is VPC-native on exactly these ranges, in this network.
    cluster = graph.one(T.GKE_CLUSTER)
    policy = cluster.inputs["ipAllocationPolicy"]
    assert {policy["clusterSecondaryRangeName"], policy["servicesSecondaryRangeName"]} == set(secondary)
    assert {network.urn, subnet.urn} <= set(cluster.options["dependsOn"])
    master = ipaddress.ip_network(ranges.master_cidr)
    in_use = [subnet.inputs["ipCidrRange"], *secondary.values()]
    assert not any(master.overlaps(ipaddress.ip_network(c)) for c in in_use)
    # The Gateway's regional load balancer: its proxy-only subnet, in the network's range, apart from the nodes'.
    proxies = graph.one(T.SUBNETWORK, name=f"{cluster_plan(graph).name}-proxies").inputs
    assert (proxies["purpose"], proxies["role"], proxies["ipCidrRange"]) == (
        "REGIONAL_MANAGED_PROXY", "ACTIVE", ranges.proxy_cidr)
    assert ipaddress.ip_network(ranges.proxy_cidr).subnet_of(ipaddress.ip_network(ranges.cidr))
    assert not any(ipaddress.ip_network(ranges.proxy_cidr).overlaps(ipaddress.ip_network(c)) for c in in_use)


@gcp_stacks
def test_private_nodes_reach_out_through_cloud_nat_on_the_network_router(graph):
    network = graph.one(T.NETWORK)
    router = graph.one(T.ROUTER)
    nat = graph.one(T.ROUTER_NAT).inputs
    assert router.inputs["network"].endswith(f"/global/networks/{network.name}")
    assert nat["router"] == router.name
    assert nat["region"] == router.inputs["region"] == cluster_plan(graph).cloud.region.name
    assert nat["natIpAllocateOption"] == "AUTO_ONLY"
    assert nat["sourceSubnetworkIpRangesToNat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"
    assert nat["logConfig"] == {"enable": True, "filter": "ERRORS_ONLY"}


@gcp_stacks
def test_project_apis_are_enabled_and_never_disabled_on_destroy(graph):
    services = graph.all(T.PROJECT_SERVICE)
    names = {s.inputs["service"] for s in services}
    assert {"container.googleapis.com", "compute.googleapis.com", "iam.googleapis.com"} <= names
    for service in services:
        assert service.inputs["disableOnDestroy"] is False
        assert service.inputs["project"] == cluster_plan(graph).cloud.project
    container = next(s for s in services if s.inputs["service"] == "container.googleapis.com")
    assert container.urn in graph.one(T.GKE_CLUSTER).options["dependsOn"]


@gcp_stacks
def test_nodes_run_as_their_own_service_account_with_least_privilege_roles(graph):
    project = cluster_plan(graph).cloud.project
    account = graph.one(T.SERVICE_ACCOUNT).inputs
    assert 6 <= len(account["accountId"]) <= 30
    email = f"{account['accountId']}@{project}.iam.gserviceaccount.com"
    bindings = graph.all(T.PROJECT_IAM_MEMBER)
    assert {b.inputs["role"] for b in bindings} == NODE_ROLES and len(bindings) == len(NODE_ROLES)
    for binding in bindings:
        assert binding.inputs["member"] == f"serviceAccount:{email}"
        assert binding.inputs["project"] == project
    cluster = graph.one(T.GKE_CLUSTER)
    assert cluster.inputs["nodeConfig"]["serviceAccount"] == email  # even the removed default pool
    assert "nodeConfig" in cluster.options["ignoreChanges"]
    for pool in node_pools(graph).values():
        config = pool.inputs["nodeConfig"]
        assert config["serviceAccount"] == email and config["oauthScopes"] == CLOUD_PLATFORM
        assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
        assert config["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
        assert {b.urn for b in bindings} <= set(pool.options["dependsOn"])


@gcp_stacks
def test_system_pool_and_one_gpu_pool_per_plan_pool(graph, catalog):
    plan = cluster_plan(graph)
    pools = node_pools(graph)
    assert set(pools) == {"system"} | {p.name for p in plan.gpu_pools}
    system = pools["system"].inputs
    assert system["nodeConfig"]["machineType"] == plan.system_machine_type
    assert "guestAccelerators" not in system["nodeConfig"] and "taints" not in system["nodeConfig"]
    assert (system["autoscaling"]["totalMinNodeCount"], system["autoscaling"]["totalMaxNodeCount"]) == plan.system_nodes
    machines = {m.name: m for m in catalog.machine_types("gcp")}
    key, value, effect = GPU_TAINT
    for gpu_pool in plan.gpu_pools:
        pool = pools[gpu_pool.name].inputs
        config, machine = pool["nodeConfig"], machines[gpu_pool.machine_type]
        assert pool["cluster"] == plan.name and pool["location"] == plan.cloud.region.name
        assert config["machineType"] == gpu_pool.machine_type
        assert config["guestAccelerators"] == [{
            "type": machine.gke_accelerator, "count": machine.gpu_count,
            "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"}}]
        assert gpu_pool.gpus_per_node == machine.gpu_count
        assert config["taints"] == [{"key": key, "value": value, "effect": "NO_SCHEDULE"}] and effect == "NoSchedule"
        assert config["labels"] == {GPU_LABEL: gpu_pool.gpu, POOL_LABEL: gpu_pool.name} == dict(gpu_pool.labels)
        assert config["spot"] is gpu_pool.spot is plan.cloud.spot
        assert config["diskSizeGb"] >= 100
        assert config["gcfsConfig"] == {"enabled": True}   # Image streaming where the image is eligible
        scaling = pool["autoscaling"]
        assert (scaling["totalMinNodeCount"], scaling["totalMaxNodeCount"]) == (gpu_pool.min_nodes, gpu_pool.ceiling_nodes)
        assert "minNodeCount" not in scaling and "maxNodeCount" not in scaling  # totals, not per zone
        assert pool["management"] == {"autoRepair": True, "autoUpgrade": True}
    for pool in pools.values():  # upgrades add a node before draining one
        assert pool.inputs["upgradeSettings"] == {"strategy": "SURGE", "maxSurge": 1, "maxUnavailable": 0}


@gcp_stacks
def test_pool_sizes_follow_the_sizing_decision(graph):
    spec, decisions = graph.plan.spec, graph.plan.decisions
    replicas = {m.id: m.replicas for m in spec.models}
    expected: dict[str, list[int]] = {}
    fits = decisions.fits_for("gcp")
    for pool in cluster_plan(graph).gpu_pools:
        members = [f for f in fits if f.machine_type == pool.machine_type]
        # The models on one machine type share its pool: it holds all their replicas (sizing.nodes_for), and grows to
        # their maximum with a rolling-update surge replica of each model that scales.
        surges = [f.tensor_parallel for f in members if replicas[f.model].max > replicas[f.model].min]
        expected[pool.name] = [nodes_for(pods(members, replicas, "min"), pool.gpus_per_node),
                               nodes_for(pods(members, replicas, "max") + surges, pool.gpus_per_node)]
    pools = node_pools(graph)
    assert set(expected) == set(pools) - {"system"}
    for name, (low, high) in expected.items():
        pool = pools[name]
        zones = len(pool.inputs["nodeLocations"])
        scaling = pool.inputs["autoscaling"]
        assert [scaling["totalMinNodeCount"], scaling["totalMaxNodeCount"]] == [low, high]
        # GKE's initial count is per zone: it reaches the desired total unless that passes the maximum.
        started = pool.inputs["initialNodeCount"] * zones
        assert started <= high
        assert started >= low or pool.inputs["initialNodeCount"] == low // zones
        assert "initialNodeCount" in pool.options["ignoreChanges"]  # the autoscaler owns the count


@gcp_stacks
def test_kubernetes_provider_uses_a_secret_exec_kubeconfig(graph):
    provider = graph.one(T.K8S_PROVIDER)
    assert provider.name == cluster_plan(graph).name
    assert provider.inputs["kubeconfig"] == SECRET_MASK
    assert provider.inputs["enableServerSideApply"] == "true"
    assert provider.inputs["deleteUnreachable"] == "true"
    assert node_pools(graph)["system"].urn in provider.options["dependsOn"]  # add-ons need nodes to run on


@gcp_stacks
def test_exported_cluster_outputs_name_the_cluster_endpoint_and_node_pools(graph):
    exported = graph.plan.outputs["clusters"]["gcp"]
    plan = cluster_plan(graph)
    assert exported["name"] == plan.name
    assert exported["endpoint"].startswith("https://")
    ipaddress.ip_address(exported["endpoint"].removeprefix("https://"))
    in_master_range = ipaddress.ip_address(exported["endpoint"].removeprefix("https://")) in \
        ipaddress.ip_network(plan.network.master_cidr)
    assert in_master_range is (not plan.cloud.api_access_cidrs)  # private endpoint when no operator CIDRs
    prefix = f"projects/{plan.cloud.project}/locations/{plan.cloud.region.name}/clusters/{plan.name}/nodePools/"
    assert exported["gpuPools"] == {p.name: prefix + p.name for p in plan.gpu_pools}


@gcp_stacks
def test_every_resource_names_this_regions_gcp_or_kubernetes_provider(graph):
    cloud = cluster_plan(graph).cloud
    gcp_provider = graph.whole.one(T.GCP_PROVIDER)
    assert (gcp_provider.inputs["region"], gcp_provider.inputs["project"]) == (cloud.region.name, cloud.project)
    k8s_provider = graph.one(T.K8S_PROVIDER)
    for r in graph.plan.resources:
        if r.type.startswith("gcp:"):
            assert r.provider == gcp_provider.urn, r.urn
    random_provider = graph.one("pulumi:providers:random")  # the secrets key ring's name suffix
    custom = [r for r in graph if r.custom and not r.type.startswith("pulumi:providers:")]
    assert len(custom) >= 10
    for r in custom:
        expected = {"gcp": gcp_provider, "random": random_provider}.get(r.type.split(":")[0], k8s_provider)
        assert r.provider == expected.urn, r.urn


@gcp_stacks
def test_images_come_through_artifact_registry_remote_repositories_the_nodes_read(graph):
    decision = graph.plan.decisions.cluster("gcp")
    plan = cluster_plan(graph)
    repositories = {r.inputs["repositoryId"]: r for r in graph.all("gcp:artifactregistry/repository:Repository")}
    assert set(repositories) == {m.name for m in decision.images.mirrors}
    api = next(s for s in graph.all(T.PROJECT_SERVICE) if s.inputs["service"] == "artifactregistry.googleapis.com")
    for mirror in decision.images.mirrors:
        repository = repositories[mirror.name].inputs
        assert (repository["format"], repository["mode"], repository["location"], repository["project"]) == (
            "DOCKER", "REMOTE_REPOSITORY", plan.cloud.region.name, plan.cloud.project)
        docker = repository["remoteRepositoryConfig"]["dockerRepository"]
        assert docker == ({"customRepository": {"uri": mirror.source}} if mirror.source.startswith("https://")
                          else {"publicRepository": mirror.source})
        assert api.urn in repositories[mirror.name].options["dependsOn"]
    readers = graph.all("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")
    [account] = graph.all(T.SERVICE_ACCOUNT)
    assert {(r.inputs["role"], r.inputs["member"]) for r in readers} == {
        ("roles/artifactregistry.reader", f"serviceAccount:{account.inputs['accountId']}@{plan.cloud.project}"
                                          ".iam.gserviceaccount.com")}
    assert len(readers) == len(repositories)


@gcp_stacks
def test_kubernetes_secrets_are_encrypted_with_the_stacks_own_rotating_key_in_the_cluster_region(graph):
    plan = cluster_plan(graph)
    gke = graph.one(T.GKE_CLUSTER)
    [ring] = graph.all("gcp:kms/keyRing:KeyRing")
    [key] = graph.all("gcp:kms/cryptoKey:CryptoKey")
    assert ring.inputs["location"] == gke.inputs["location"] == plan.cloud.region.name
    # A random suffix: the ring a destroyed cluster leaves (Cloud KMS deletes none) never collides with the next.
    assert re.fullmatch(rf"{plan.name}-secrets-[0-9a-f]{{6}}", ring.inputs["name"])
    assert key.inputs["rotationPeriod"] == "7776000s" and key.inputs["purpose"] == "ENCRYPT_DECRYPT"
    encryption = gke.inputs["databaseEncryption"]
    assert encryption["state"] == "ENCRYPTED" and encryption["keyName"].startswith(
        f"projects/{plan.cloud.project}/locations/{plan.cloud.region.name}/keyRings/{ring.inputs['name']}/")
    [grant] = graph.all("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert grant.inputs["cryptoKeyId"] == encryption["keyName"]
    assert re.fullmatch(r"serviceAccount:service-\d{12}@container-engine-robot\.iam\.gserviceaccount\.com",
                        grant.inputs["member"])
    assert grant.urn in gke.options["dependsOn"]
    # GKE's agent made to exist once GKE's API is enabled, before the grant names it.
    [agent] = graph.all("gcp:projects/serviceIdentity:ServiceIdentity")
    container_api = next(a for a in graph.all(T.PROJECT_SERVICE) if a.inputs["service"] == "container.googleapis.com")
    assert agent.inputs["service"] == "container.googleapis.com" and container_api.urn in agent.options["dependsOn"]
    assert agent.urn in grant.dependencies["member"]
