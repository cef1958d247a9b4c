"""A modelled cold start of one replica: from a pod placed on a GPU node that has never run it, to vLLM serving.

    image (pull and unpack vLLM's image)  +  weights (stream them from the bucket)  +  engine (vLLM's own start)

A model, not a measurement: each rate below is a vendor's figure or a labelled assumption, and what a real cloud
measures replaces them (README, "What the offline plan proves"). Not counted: the GPU node's own provisioning and
boot, and its NVIDIA device plugin coming up, which precede the pod.

Images: neither cloud's image streaming is counted. EKS offers none (Karpenter's nodes pull the whole image with
containerd). GKE's Image streaming is on for the GPU pools and serves Artifact Registry images, remote repositories
(the Docker Hub mirror vLLM comes through) among them; how much of the pull it saves for vLLM depends on what the
container reads before it serves, which only a real node shows, so the full pull stays modelled (an upper bound on
GKE), and nothing is pre-pulled.
https://cloud.google.com/kubernetes-engine/docs/how-to/image-streaming
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .sizing import Fit
from .weights import STREAM, load_mode, stream_mib_s

# Assumption: vllm/vllm-openai's image transfers ~12.6 GB, the size reported for its 2025 releases
# (vllm-project/vllm#27154; discuss.vllm.ai/t/1204); v0.31.0 is taken to be alike (the registry is out of
# this toolchain's reach).
VLLM_IMAGE_GB = 12.6
# Assumption: 100 MB/s pulled and unpacked — containerd fetches a few layers at once (max_concurrent_downloads 3 by
# default) and gunzips each on one core, which bounds the rate more than the in-region mirror does.
IMAGE_PULL_MB_S = 100.0
# Assumption: 90 s from process start to /health answering, weights aside: Python and CUDA start, torch.compile with a
# cold cache ($HOME is a fresh emptyDir), CUDA graph capture and the KV-cache profile. Run:ai measured 18 s of it for
# vLLM 0.5.5 (ready 23.18 s, weights 4.88 s from S3; docs/src/benchmarks.md), before torch.compile was the default.
ENGINE_S = 90.0


@dataclass(frozen=True)
class ColdStart:
    image_s: float
    weights_s: float
    engine_s: float

    @property
    def total_s(self) -> float:
        return self.image_s + self.weights_s + self.engine_s

    def to_dict(self) -> dict[str, Any]:
        return {"imageSeconds": round(self.image_s, 1), "weightsSeconds": round(self.weights_s, 1),
                "engineSeconds": round(self.engine_s, 1), "totalSeconds": round(self.total_s, 1)}


def cold_start(fit: Fit) -> ColdStart:
    """One replica of `fit`, its weights streamed at its cloud's modelled rate (every cloud profile streams)."""
    assert load_mode(fit.cloud) == STREAM, f"{fit.cloud} copies weights; only the streamed path is modelled"
    return ColdStart(image_s=VLLM_IMAGE_GB * 1e3 / IMAGE_PULL_MB_S,
                     weights_s=fit.weights_gib * 1024 / stream_mib_s(fit.cloud),
                     engine_s=ENGINE_S)

