"""The modelled cold start of one replica, from inline fits; the arithmetic is written out."""

from __future__ import annotations

import dataclasses

import pytest

from sovereign.clouds import profile
from sovereign.domain import weights
from sovereign.domain.cold_start import ColdStart, cold_start
from sovereign.domain.sizing import Fit

FIT = Fit(model="llama-3.1-70b-instruct", cloud="gcp", region="europe-west3", gpu="nvidia-h100-80gb",
          machine_type="a3-highgpu-8g", gpus_per_node=8, tensor_parallel=4, replicas_per_node=2, usd_per_hour=88.0,
          weights_gib=130.39, kv_cache_gib=40.0, need_per_gpu_gib=44.6, budget_per_gpu_gib=72.0, host_memory_gib=40)


def test_cold_start_adds_image_weights_and_engine():
    start = cold_start(FIT)
    # image: 12.6 GB at 100 MB/s = 126 s; weights: 130.39 GiB × 1024 / (16 × 85e6 / 2^20 MiB/s) = 102.9 s
    assert start.image_s == pytest.approx(126.0)
    assert start.weights_s == pytest.approx(130.39 * 2**30 / (16 * 85e6))
    assert start.engine_s == 90.0 and start.total_s == pytest.approx(126.0 + 102.94 + 90.0, abs=0.01)


def test_weights_time_grows_with_the_model_not_its_gpus():
    small = cold_start(dataclasses.replace(FIT, weights_gib=14.9, tensor_parallel=1))
    assert small.weights_s == pytest.approx(cold_start(FIT).weights_s * 14.9 / 130.39)
    assert (small.image_s, small.engine_s) == (cold_start(FIT).image_s, cold_start(FIT).engine_s)


def test_to_dict_is_camel_case_seconds():
    assert ColdStart(120.04, 10.0, 90.0).to_dict() == {
        "imageSeconds": 120.0, "weightsSeconds": 10.0, "engineSeconds": 90.0, "totalSeconds": 220.0}


def test_a_copying_cloud_is_not_modelled(monkeypatch):
    monkeypatch.setattr(weights, "profile", lambda c: dataclasses.replace(profile(c), weights_load="copy"))
    with pytest.raises(AssertionError, match="copies weights"):
        cold_start(FIT)
