"""Elastic serving as decided: who scales each model and on what, the node autoscaler's machine types in order,
and what a model costs at its bounds — from inline stacks."""

from __future__ import annotations

from sovereign.clouds import profile
from sovereign.domain.elastic import QUEUE_METRIC, scaling
from sovereign.domain.sizing import HOST_RESERVE, nodes_for, pod_cpu

from tests.support.domain import CATALOG, LLAMA, policy_of, region_spec, decide

ALLOW_ALL = "rules: []"
BOTH = {"aws": {"region": "eu-central-1"}, "gcp": {"region": "europe-west3", "project": "p-test-1"}}


def _decided(replicas, clouds=None):
    return decide(region_spec(clouds=clouds or BOTH, models=[{"id": LLAMA, "replicas": replicas}]),
                  policy_of(ALLOW_ALL))


def test_a_model_with_room_scales_on_its_queue_through_its_clouds_pipeline():
    decided = _decided({"min": 1, "max": 4})
    for cluster in decided.clusters:
        [scaled] = scaling(cluster.plan, decided.spec.models, decided.fits, CATALOG)
        elastic = profile(cluster.cloud).elastic
        assert (scaled.replicas, scaled.scaler, scaled.pipeline) == ((1, 4), "KEDA", elastic.metrics_pipeline)
        assert scaled.to_dict()["metric"] == QUEUE_METRIC
        fit = next(f for f in cluster.fits if f.model == LLAMA)
        assert scaled.nodes == (nodes_for([fit.tensor_parallel], fit.gpus_per_node),
                                nodes_for([fit.tensor_parallel] * 4, fit.gpus_per_node))
        assert scaled.usd_per_hour == (round(scaled.nodes[0] * fit.usd_per_hour, 2),
                                       round(scaled.nodes[1] * fit.usd_per_hour, 2))
        # The pool the node autoscaler can grow reaches the max replicas' nodes.
        pool = next(p for p in cluster.plan.gpu_pools if p.name == scaled.pool)
        assert pool.max_nodes >= scaled.nodes[1]


def test_fixed_replicas_have_no_scaler():
    decided = _decided({"min": 2, "max": 2})
    for cluster in decided.clusters:
        [scaled] = scaling(cluster.plan, decided.spec.models, decided.fits, CATALOG)
        assert scaled.scaler is None and scaled.to_dict()["metric"] is None


def test_fallback_machines_hold_the_pools_replicas_and_come_cheapest_first():
    decided = _decided({"min": 1, "max": 4})
    aws = decided.cluster("aws")
    [pool] = aws.plan.gpu_pools
    assert pool.machine_types[0] == pool.machine_type and len(pool.fallback_machine_types) >= 1
    fit = next(f for f in aws.fits if f.model == LLAMA)
    machines = {m.name: m for m in CATALOG.machine_types("aws")}
    prices = [machines[m].usd_per_hour for m in pool.fallback_machine_types]
    assert prices == sorted(prices)
    for name in pool.fallback_machine_types:
        m = machines[name]
        assert m.gpu == pool.gpu and m.gpu_count == pool.gpus_per_node
        assert m.vcpu * HOST_RESERVE >= pod_cpu(fit, CATALOG) * fit.replicas_per_node
        assert m.memory_mib / 1024 * HOST_RESERVE >= fit.host_memory_gib * fit.replicas_per_node
    # Every machine of the GPU left out fails one of those tests (or is the sized one).
    left_out = [m for m in machines.values() if m.gpu == pool.gpu and m.name not in pool.machine_types
                and m.usd_per_hour is not None]
    for m in left_out:
        assert m.gpu_count != pool.gpus_per_node or m.vcpu * HOST_RESERVE < pod_cpu(fit, CATALOG) \
            * fit.replicas_per_node or m.memory_mib / 1024 * HOST_RESERVE < fit.host_memory_gib * fit.replicas_per_node


def test_a_node_pool_of_one_machine_type_has_no_fallback():
    gcp = _decided({"min": 1, "max": 4}).cluster("gcp")
    assert not profile("gcp").elastic.machine_fallback
    assert all(p.fallback_machine_types == () for p in gcp.plan.gpu_pools)


def test_a_model_may_scale_to_zero_while_another_keeps_the_gateway_ready():
    from sovereign.domain.elastic import demand_query
    from sovereign.domain.errors import InvalidInput

    import pytest
    decided = decide(region_spec(models=[{"id": LLAMA, "replicas": {"min": 1, "max": 2}},
                                         {"id": "qwen2.5-7b-instruct", "replicas": {"min": 0, "max": 2}}]),
                     policy_of(ALLOW_ALL))
    [cluster] = decided.clusters
    keda = {r.model: r.values["autoscaling"]["keda"] for r in cluster.releases}
    assert keda["qwen2.5-7b-instruct"]["activationQuery"] == demand_query("qwen2.5-7b-instruct")
    assert "activationQuery" not in keda[LLAMA]   # its queue is never gone
    for replicas, words in (({"min": 0, "max": 2}, "every model scales to zero"), (0, "0 replicas")):
        with pytest.raises(InvalidInput) as caught:
            region_spec(models=[{"id": LLAMA, "replicas": replicas}])
        assert any(words in e.problem for e in caught.value.errors)
