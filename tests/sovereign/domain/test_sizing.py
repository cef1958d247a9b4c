"""GPU-fit sizing against hand-checked cases; the arithmetic is written out in each test."""

from __future__ import annotations

import dataclasses

import pytest

from sovereign.clouds import profile
from sovereign.domain import weights
from sovereign.domain.errors import InputError, InvalidInput
from sovereign.domain.sizing import (GIB, cache_gib, load_memory_gib, local_disk_gib, need_per_gpu_gib, size_model,
                                     size_region)
from sovereign.domain.spec import CloudSpec, ModelSpec, Replicas

from tests.support.domain import CATALOG, region_spec
from tests.support.stacks import STACKS


def model_spec(model_id, context, concurrency, gpus=(), **arch):
    model = dataclasses.replace(CATALOG.models[model_id], **arch)
    return ModelSpec(model_id, model, Replicas(1, 2), context, concurrency, tuple(gpus))


def cloud(name, region, project=None):
    return CloudSpec(name, CATALOG.region(name, region), project, None)


def test_small_model_fits_one_24gb_gpu():
    # weights: 8.0e9 params × 2 B = 16.0e9 B = 14.90 GiB
    # KV: 2 × 32 layers × 8 kv heads × 128 dim × 2 B = 131072 B/token; × 4096 tokens × 4 seqs = 2.00 GiB
    # need at TP1: 14.90 + 2.00 + 2.00 overhead = 18.90 GiB
    # budget: 22888 MiB × 0.90 = 20.12 GiB → one L4 suffices, 1.22 GiB headroom
    fit = size_model(model_spec("llama-3.1-8b-instruct", 4096, 4, ["nvidia-l4"]), cloud("aws", "us-east-1"), CATALOG)
    assert (fit.gpu, fit.tensor_parallel) == ("nvidia-l4", 1)
    assert fit.weights_gib == pytest.approx(16.0e9 / GIB) and fit.kv_cache_gib == pytest.approx(2.0)
    assert fit.need_per_gpu_gib == pytest.approx(16.0e9 / GIB + 4.0)
    assert fit.budget_per_gpu_gib == pytest.approx(22888 / 1024 * 0.9)
    assert fit.headroom_gib == pytest.approx(1.215, abs=0.01)
    # Host RAM, weights streamed (AWS): one 4 GiB streamer buffer + 8 + 4 (/dev/shm at TP1, memory-backed) = 16 GiB
    # per replica; g6.xlarge has 16 GiB (13.6 usable at 85%), so the cheapest L4 type that holds it is g6.2xlarge.
    assert fit.host_memory_gib == 16
    assert (fit.machine_type, fit.replicas_per_node) == ("g6.2xlarge", 1)
    cheaper = [m for m in CATALOG.machine_types("aws") if m.gpu == "nvidia-l4" and m.usd_per_hour
               and m.usd_per_hour < fit.usd_per_hour]
    assert [m.name for m in cheaper] == ["g6.xlarge"] and cheaper[0].memory_mib == 16384


def test_70b_model_needs_tensor_parallelism_on_80gb_gpus():
    # weights: 70e9 × 2 B = 140e9 B = 130.39 GiB
    # KV: 2 × 80 × 8 × 128 × 2 = 327680 B/token; × 8192 × 16 = 40.00 GiB
    # budget: 81920 MiB × 0.90 = 72.0 GiB per GPU
    # TP1: 130.39 + 40 + 2 = 172.39 ✗   TP2: 65.19 + 20 + 2 = 87.19 ✗   TP4: 32.60 + 10 + 2 = 44.60 ✓
    spec = model_spec("llama-3.1-70b-instruct", 8192, 16, ["nvidia-h100-80gb"])
    assert need_per_gpu_gib(spec.model, 8192, 16, 2) == pytest.approx(140e9 / GIB / 2 + 20 + 2)
    fit = size_model(spec, cloud("aws", "us-east-1"), CATALOG)
    assert fit.tensor_parallel == 4 and fit.need_per_gpu_gib == pytest.approx(140e9 / GIB / 4 + 10 + 2)
    # AWS carries H100 as p5.4xlarge (1 GPU) or p5.48xlarge (8): TP4 needs the 8-GPU node, 2 replicas on it.
    assert (fit.machine_type, fit.replicas_per_node) == ("p5.48xlarge", 2)


def test_kv_heads_shard_only_up_to_their_count():
    # qwen2.5-7b has 4 kv heads: at TP4 the KV cache splits 4 ways; 28 attention heads allow TP 1, 2, 4.
    model = CATALOG.models["qwen2.5-7b-instruct"]
    kv = 2 * 28 * 4 * 128 * 2 * 32768 * 16 / GIB      # 28.0 GiB
    assert kv == pytest.approx(28.0)
    assert need_per_gpu_gib(model, 32768, 16, 4) == pytest.approx(7.61e9 * 2 / GIB / 4 + 28.0 / 4 + 2)


def test_tp_must_divide_attention_heads():
    # A 70B-weight model on L4 needs 8 GPUs: TP8 = 130.39/8 + KV 0.06 + 2 = 18.36 GiB ≤ 20.12 GiB.
    # With 32 heads TP8 is allowed; with 28 heads only TP 1, 2, 4 are, and TP4 needs 34.6 GiB: no fit.
    divisible = size_model(model_spec("llama-3.1-70b-instruct", 1024, 1, ["nvidia-l4"], num_attention_heads=32),
                           cloud("aws", "us-east-1"), CATALOG)
    assert divisible.tensor_parallel == 8 and divisible.machine_type == "g6.48xlarge"
    refused = size_model(model_spec("llama-3.1-70b-instruct", 1024, 1, ["nvidia-l4"], num_attention_heads=28),
                         cloud("aws", "us-east-1"), CATALOG)
    assert isinstance(refused, InputError) and "at TP 4" in refused.problem


def test_model_that_fits_nothing_names_model_region_and_largest_option():
    spec = region_spec(stack="me-central", clouds={"gcp": {"region": "me-central2", "project": "sovereign-test"}},
                       models=[{"id": "llama-3.1-405b-instruct", "contextLength": 131072, "maxConcurrency": 64}])
    with pytest.raises(InvalidInput) as caught:
        size_region(spec, CATALOG)
    [error] = caught.value.errors
    assert error.file == "stacks/Pulumi.me-central.yaml" and error.key == "sovereign:models[0]"
    assert "llama-3.1-405b-instruct fits no GPU offered in gcp me-central2" in error.problem
    assert "largest option tried is" in error.problem and "GiB per GPU" in error.problem
    assert "lower contextLength or maxConcurrency" in error.fix


BEIJING = {"aws": {"region": "cn-north-1"}}  # no source lists the China partition's GPU offerings


def test_a_region_without_verified_offerings_needs_the_stack_to_declare_them():
    assert CATALOG.offered_gpus("aws", "cn-north-1") is None
    with pytest.raises(InvalidInput) as caught:
        size_region(region_spec(clouds=BEIJING), CATALOG)
    [error] = caught.value.errors
    assert error.key == "sovereign:clouds.aws.offeredGpus" and "no verified GPU offerings" in error.problem
    declared = region_spec(clouds={"aws": {**BEIJING["aws"], "offeredGpus": ["nvidia-a10g"]}})
    assert {f.gpu for f in size_region(declared, CATALOG)} == {"nvidia-a10g"}


@pytest.mark.parametrize("offered, key, words", [
    (["nvidia-a10g"], "sovereign:clouds.aws.offeredGpus", "the catalog knows what eu-central-1 offers"),
    (["nvidia-a10"], "sovereign:clouds.aws.offeredGpus[0]", "did you mean 'nvidia-a10g'"),
    (["nvidia-tpu-v5e"], "sovereign:clouds.aws.offeredGpus[0]", "unknown value"),
])
def test_declared_offerings_never_override_the_catalog_and_name_real_gpus(offered, key, words):
    region = "eu-central-1" if "eu-central-1" in words else "cn-north-1"
    with pytest.raises(InvalidInput) as caught:
        region_spec(clouds={"aws": {"region": region, "offeredGpus": offered}})
    [error] = caught.value.errors
    assert error.key == key and words in error.problem


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_model_is_sized_on_every_cloud(decisions, stack):
    decided = decisions[stack]
    assert {(f.cloud, f.model) for f in decided.fits} == {
        (c.cloud, m.id) for c in decided.spec.clouds for m in decided.spec.models}
    for fit in decided.fits:
        assert 0 < fit.need_per_gpu_gib <= fit.budget_per_gpu_gib
        cloud_spec = next(c for c in decided.spec.clouds if c.cloud == fit.cloud)
        assert fit.gpu in cloud_spec.gpus_offered(CATALOG)


def test_streamed_weights_need_a_buffer_per_rank_and_no_local_cache(monkeypatch):
    # llama-3.1-70b at TP4: 140e9 B = 130.39 GiB of weights.
    model = CATALOG.models["llama-3.1-70b-instruct"]
    fit = size_model(model_spec("llama-3.1-70b-instruct", 8192, 16, ["nvidia-h100-80gb"]), cloud("aws", "us-east-1"),
                     CATALOG)
    # Streamed (every profile): 4 ranks × 4 GiB buffers in RAM, nothing on disk but the 14 GiB of scratch.
    assert load_memory_gib(model, 4, "aws") == 16 and cache_gib(fit) == 0 and local_disk_gib(fit) == 14
    assert fit.host_memory_gib == 16 + 8 + 16   # buffers + overhead + /dev/shm at TP4
    # Copied: the shard read through the page cache, ceil(130.39 / 4) = 33, and a cache of ceil(130.39 × 1.2).
    monkeypatch.setattr(weights, "profile", lambda c: dataclasses.replace(profile(c), weights_load="copy"))
    assert load_memory_gib(model, 4, "aws") == 33 and cache_gib(fit) == 157 and local_disk_gib(fit) == 171
