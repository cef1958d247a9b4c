"""How a model's weights reach its GPUs: the bucket's files, how the pod reads them, at what rate.

`stream` (the cloud profile's `weights_load`): vLLM serves the bucket URI with `--load-format runai_streamer`. vLLM
pulls the small files itself (config, generation config, tokenizer, chat template: `*.json`, `*.model`, `*.py`, then
everything but weights) into `$XDG_CACHE_HOME/vllm/assets/model_streamer/<hash>` (the pod's `$HOME` emptyDir), and
the Run:ai Model Streamer reads every top-level `*.safetensors` of the prefix straight into memory: no weight copy
on disk. Sources: vLLM `vllm/transformers_utils/runai_utils.py` (ObjectStorageModel) and
`ModelConfig.maybe_pull_model_tokenizer_for_runai`; `model_loader/runai_streamer_loader.py` (list_safetensors);
https://docs.vllm.ai/en/stable/models/extensions/runai_model_streamer/.
`copy`: an init container copies the prefix to local disk first (the chart's `weights.load: copy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch

from ..clouds import profile

STREAM, COPY = "stream", "copy"
# Threads (and connections) each vLLM rank reads the bucket with (RUNAI_STREAMER_CONCURRENCY; the streamer's default
# for object storage is 8, its S3 benchmark was fastest at 32 — docs/src/env-vars.md, docs/src/benchmarks.md).
STREAMER_CONCURRENCY = 16
# The CPU buffer each rank streams through (RUNAI_STREAMER_MEMORY_LIMIT; unlimited by default in distributed mode):
# it counts against the pod's memory, once per rank. It must hold the largest tensor (docs/src/usage.md, "CPU
# Memory Capping"): the catalog's largest, Llama 3.1 405B's embedding (128256 × 16384 × 2 B), is 3.9 GiB.
STREAMER_BUFFER_GIB = 4


@dataclass(frozen=True)
class SeedPatterns:
    """What a bucket's model prefix holds: the files vLLM reads, not the checkpoint's duplicates."""
    include: tuple[str, ...]
    exclude: tuple[str, ...]

    def wanted(self, path: str) -> bool:
        """Whether `hf download --include … --exclude …` keeps `path` (fnmatch on the repository path, as
        huggingface_hub's filter_repo_objects matches)."""
        return (any(fnmatch(path, p) for p in self.include)
                and not any(fnmatch(path, p) for p in self.exclude))


def seed_patterns() -> SeedPatterns:
    """Safetensors shards and their index, configs, tokenizer files and chat templates. Left out: Meta's `original/`
    checkpoint (`consolidated.*.pth`, its own params and tokenizer), Mistral's `consolidated.safetensors` — a second
    copy of the weights the streamer would load as well, since it lists every top-level `*.safetensors` without
    reading the index — and PyTorch `*.bin`/`*.pth` duplicates."""
    return SeedPatterns(
        include=("*.safetensors", "*.json", "tokenizer.model", "*.tiktoken", "*.jinja", "merges.txt", "vocab.txt"),
        exclude=("original/*", "consolidated.*", "*.pth", "*.bin"))


def load_mode(cloud: str) -> str:
    return profile(cloud).weights_load


def stream_mib_s(cloud: str) -> float:
    """Modelled read rate of one replica from its bucket: the streamer's connections × one connection's rate. One
    replica's ranks share a node's network, so tensor parallelism is not counted as more bandwidth."""
    return STREAMER_CONCURRENCY * profile(cloud).bucket_mb_s_per_connection * 1e6 / 2**20
