"""Node pools: models of one GPU type share nodes where that costs less, every replica fits its pool's minimum
nodes in any placement, and each model's rollout is what the pool's spare GPUs allow."""

from __future__ import annotations

import functools
import itertools
from dataclasses import replace

import pytest

from sovereign.domain.decisions import decide_region
from sovereign.domain.errors import InvalidInput
from sovereign.domain.serving import rollout
from sovereign.domain.sizing import nodes_for, size_region
from sovereign.domain.topology import plan_clusters

from tests.support.domain import CATALOG, LLAMA, region_spec


def can_get_stuck(pods: list[int], gpus: int, nodes: int) -> bool:
    """Whether some order and some choice of node (any node with room, as a scheduler may pick) leaves a pod
    with no node that has its GPUs free."""
    return _stuck(tuple(sorted(pods)), (gpus,) * nodes)


@functools.cache
def _stuck(remaining: tuple[int, ...], free: tuple[int, ...]) -> bool:
    """Every order and placement, exhaustively: pods left and nodes' free GPUs as sorted tuples, since neither
    the order pods are listed in nor which node is which changes the answer (hence the cache)."""
    for pod in set(remaining):
        i = remaining.index(pod)
        rest = remaining[:i] + remaining[i + 1:]
        options = {tuple(sorted(free[:j] + (free[j] - pod,) + free[j + 1:])) for j in range(len(free))
                   if free[j] >= pod}
        if not options or any(_stuck(rest, option) for option in options):
            return True
    return False


@pytest.mark.parametrize("gpus", [1, 2, 4, 8])
def test_nodes_for_holds_every_pod_in_any_placement_and_one_node_less_does_not(gpus):
    # Every multiset of 1 to 8 pods: enough nodes under every order and placement, and with one node fewer some
    # order and placement leaves a pod with nowhere to go.
    sizes = [t for t in (1, 2, 4, 8) if t <= gpus]
    for count in range(1, 9):
        for pods in itertools.combinations_with_replacement(sizes, count):
            nodes = nodes_for(pods, gpus)
            assert not can_get_stuck(list(pods), gpus, nodes), (pods, gpus, nodes)
            assert nodes == 1 or can_get_stuck(list(pods), gpus, nodes - 1), (pods, gpus, nodes)


def test_fragmentation_needs_a_node_more_than_the_gpu_count_suggests():
    # Six 1-GPU pods and one 4-GPU pod on two 8-GPU nodes: however the 1-GPU pods spread, a node keeps 4 free.
    pods = [1] * 6 + [4]
    assert nodes_for(pods, 8) == 2 and not can_get_stuck(pods, 8, 2)
    # Five 2-GPU pods and one 4-GPU pod on 4-GPU nodes: 14 GPUs, 4 nodes if packed by hand, but spread one per
    # node the 2-GPU pods leave every node of five with 2 free: any order needs 6.
    pods = [2] * 5 + [4]
    assert can_get_stuck(pods, 4, 5) and nodes_for(pods, 4) == 6 and not can_get_stuck(pods, 4, 6)


def test_a_model_never_pays_for_gpus_its_replicas_leave_idle():
    # Mistral Small 24B, at most 2 replicas, fits one A100 80GB (p4de.24xlarge, 8 GPUs, $27.45/h: 6 GPUs idle at
    # 2 replicas, cheapest per replica only if all 8 served) or two L40S (g6e.12xlarge, 4 GPUs, $10.49/h).
    spec = region_spec(models=[{"id": "mistral-small-24b-instruct-2501", "replicas": {"min": 1, "max": 2},
                                "gpus": ["nvidia-a100-80gb", "nvidia-l40s"]}])
    [fit] = size_region(spec, CATALOG)
    assert (fit.machine_type, fit.tensor_parallel, fit.replicas_per_node) == ("g6e.12xlarge", 2, 2)
    # Left to any GPU, four L4 on one g6.12xlarge ($4.60/h) cost less still.
    [fit] = size_region(region_spec(models=[{"id": "mistral-small-24b-instruct-2501", "replicas": {"min": 1, "max": 2}}]),
                        CATALOG)
    assert (fit.machine_type, fit.tensor_parallel) == ("g6.12xlarge", 4)


def test_ties_go_to_the_smaller_machine():
    # One L4 replica: g2-standard-24 (2 L4) and -48 (4 L4) both hold it on one node; the smaller costs less.
    spec = region_spec(clouds={"gcp": {"region": "me-central2", "project": "p-test-1"}},
                       models=[{"id": LLAMA, "replicas": 1, "gpus": ["nvidia-l4"]}])
    [fit] = size_region(spec, CATALOG)
    assert fit.machine_type == "g2-standard-24"


def test_models_of_one_gpu_type_share_the_nodes_their_replicas_need():
    models = ["llama-3.1-8b-instruct", "mistral-7b-instruct-v0.3", "gemma-2-9b-it", "qwen2.5-7b-instruct",
              "mixtral-8x7b-instruct-v0.1", "llama-3.3-70b-instruct"]
    spec = region_spec(clouds={"aws": {"region": "us-east-1"}},
                       models=[{"id": m, "replicas": 1, "gpus": ["nvidia-a100-80gb"]} for m in models])
    fits = size_region(spec, CATALOG)
    [cluster] = plan_clusters(spec, fits, CATALOG)
    [pool] = cluster.gpu_pools
    demand = [f.tensor_parallel for f in fits]
    assert pool.machine_type == "p4de.24xlarge" and sorted(pool.models) == sorted(models)
    # One pool, sized for all of them together: far fewer nodes than one per model.
    assert pool.min_nodes == nodes_for(demand, 8) <= 2 < len(models)


def test_each_model_rolls_out_as_its_pools_spare_gpus_allow():
    def decided(replicas: dict):
        spec = region_spec(models=[{"id": LLAMA, "replicas": replicas, "gpus": ["nvidia-l40s"]}])
        fits = size_region(spec, CATALOG)
        [cluster] = plan_clusters(spec, fits, CATALOG)
        [pool] = cluster.gpu_pools
        return pool, rollout(spec.models[0], pool)
    pool, strategy = decided({"min": 1, "max": 1})   # one g6e.xlarge, its one GPU taken, nothing adds another
    assert (pool.min_nodes, pool.surge_room, strategy) == (1, False, {"type": "Recreate"})
    pool, strategy = decided({"min": 2, "max": 2})   # two nodes, both full: one replica at a time
    assert (pool.min_nodes, pool.surge_room) == (2, False)
    assert strategy == {"type": "RollingUpdate", "maxSurge": 0, "maxUnavailable": 1}
    # A model that scales surges: the node autoscaler adds the surge's node, up to a ceiling that counts it.
    pool, strategy = decided({"min": 1, "max": 2})
    assert strategy == {"type": "RollingUpdate", "maxSurge": 1, "maxUnavailable": 0}
    assert (pool.max_nodes, pool.ceiling_nodes) == (2, 3)


def test_a_pool_with_a_spare_gpu_surges(decisions):
    # sa-east: Llama 8B on g6.12xlarge (4 L4) leaves GPUs free on its one node.
    [cluster] = decisions["sa-east"].clusters
    [pool] = cluster.plan.gpu_pools
    assert pool.surge_room
    assert {r.values["strategy"]["type"] for r in cluster.releases} == {"RollingUpdate"}
    assert all(r.values["strategy"]["maxSurge"] == 1 for r in cluster.releases)


def test_a_drill_adds_nodes_but_keeps_every_machine_type(decisions, policy):
    normal = decisions["us-east"]
    drilled = decide_region(replace(normal.spec, drill="aws"), policy, CATALOG)
    [survivor] = drilled.clusters
    before = {p.name: p for c in normal.clusters if c.cloud == "gcp" for p in c.plan.gpu_pools}
    for pool in survivor.plan.gpu_pools:
        assert pool.machine_type == before[pool.name].machine_type
        assert pool.min_nodes >= before[pool.name].min_nodes


VIRGINIA = "us-east-1"
A100_40 = [{"id": "llama-3.3-70b-instruct", "replicas": 1, "gpus": ["nvidia-a100-40gb"]}]


def reserved(**reservation) -> dict:
    return {"aws": {"region": VIRGINIA, "capacityReservations": [
        {"gpu": "nvidia-a100-40gb", "id": "cr-0123456789abcdef0", "zone": "us-east-1b", **reservation}]}}


def test_a_scarce_machine_family_without_a_reservation_is_reported_and_a_reservation_pins_its_zone():
    spec = region_spec(clouds={"aws": {"region": VIRGINIA, "spot": True}}, models=A100_40)
    [pool] = plan_clusters(spec, size_region(spec, CATALOG), CATALOG)[0].gpu_pools
    assert pool.machine_type.startswith("p4d.") and pool.needs_reservation and pool.capacity == "spot"
    spec = region_spec(clouds={"aws": {**reserved()["aws"], "spot": True}}, models=A100_40)
    [pool] = plan_clusters(spec, size_region(spec, CATALOG), CATALOG)[0].gpu_pools
    assert pool.zones == ("us-east-1b",) and not pool.needs_reservation and not pool.spot
    assert pool.capacity == "capacity reservation cr-0123456789abcdef0 in us-east-1b"
    spec = region_spec(clouds=reserved(block=True), models=A100_40)
    [pool] = plan_clusters(spec, size_region(spec, CATALOG), CATALOG)[0].gpu_pools
    assert pool.capacity.startswith("Capacity Block cr-")


@pytest.mark.parametrize("clouds, models, key, words", [
    (reserved(), [{"id": LLAMA, "gpus": ["nvidia-l40s"]}], "sovereign:clouds.aws.capacityReservations",
     "no pool runs nvidia-a100-40gb"),
    (reserved(zone="us-east-1f"), A100_40, "sovereign:clouds.aws.capacityReservations", "not one of the zones"),
    (reserved(id="r-123"), A100_40, "sovereign:clouds.aws.capacityReservations[0].id", "not a capacity reservation"),
    (reserved(zone="eu-west-1a"), A100_40, "sovereign:clouds.aws.capacityReservations[0].zone", "unknown value"),
])
def test_a_reservation_names_a_gpu_a_pool_runs_in_one_of_its_zones(clouds, models, key, words):
    with pytest.raises(InvalidInput) as caught:
        spec = region_spec(clouds=clouds, models=models)
        plan_clusters(spec, size_region(spec, CATALOG), CATALOG)
    assert [e.key for e in caught.value.errors] == [key] and words in caught.value.errors[0].problem
