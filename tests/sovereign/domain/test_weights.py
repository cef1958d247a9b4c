"""What a bucket's model prefix holds, and the streaming rate the cold start is modelled with."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from sovereign.clouds import CLOUDS, profile
from sovereign.domain.sizing import GIB
from sovereign.domain.weights import STREAM, STREAMER_BUFFER_GIB, seed_patterns, stream_mib_s

from tests.support.domain import CATALOG

ROOT = Path(__file__).resolve().parents[3]

# File listings as the hub shows them (meta-llama/Llama-3.1-8B-Instruct, mistralai/Mistral-7B-Instruct-v0.3,
# openai/gpt-oss-20b), abridged to one of each kind.
LLAMA = {"config.json": True, "generation_config.json": True, "model-00001-of-00004.safetensors": True,
         "model.safetensors.index.json": True, "special_tokens_map.json": True, "tokenizer.json": True,
         "tokenizer_config.json": True, "LICENSE": False, "README.md": False, "USE_POLICY.md": False,
         "original/consolidated.00.pth": False, "original/params.json": False, "original/tokenizer.model": False}
MISTRAL = {"consolidated.safetensors": False, "model-00001-of-00003.safetensors": True, "params.json": True,
           "tokenizer.model": True, "tokenizer.model.v3": False, "tekken.json": True, "config.json": True}
GPT_OSS = {"chat_template.jinja": True, "model-00000-of-00002.safetensors": True, "metal/model.bin": False,
           "original/model.safetensors": False, "original/dtypes.json": False, "tokenizer.json": True}


@pytest.mark.parametrize("listing", [LLAMA, MISTRAL, GPT_OSS], ids=["llama", "mistral", "gpt-oss"])
def test_seeding_keeps_what_vllm_reads_and_drops_duplicate_checkpoints(listing):
    patterns = seed_patterns()
    assert {path: patterns.wanted(path) for path in listing} == listing


@pytest.mark.parametrize("readme", ["README.md", "charts/model-server/README.md"])
def test_readme_seeding_commands_use_the_domain_patterns(readme):
    text = (ROOT / readme).read_text()
    command = re.search(r"hf download [^\n]*\\\n(.*\\\n)*.*", text).group(0)
    quoted = lambda flag: tuple(re.findall(r"'([^']+)'", re.search(flag + r"((?: '[^']+')+)", command).group(1)))
    assert (quoted("--include"), quoted("--exclude")) == (seed_patterns().include, seed_patterns().exclude)


def test_every_cloud_streams_at_its_connections_rate():
    for cloud in CLOUDS:
        assert profile(cloud).weights_load == STREAM
    # 16 connections × 85 MB/s = 1360 MB/s = 1297 MiB/s
    assert stream_mib_s("aws") == pytest.approx(16 * 85e6 / 2**20) == pytest.approx(1297.0, abs=0.1)


def test_the_streamer_buffer_holds_every_catalog_models_embedding():
    # The streamer cannot buffer less than the largest tensor: vocab × hidden × 2 B (bf16), 3.9 GiB at most (405B).
    sizes = {m.id: m.vocab_size * m.hidden_size * 2 / GIB for m in CATALOG.models.values() if m.vocab_size}
    assert math.isclose(max(sizes.values()), 128256 * 16384 * 2 / GIB) and max(sizes.values()) < STREAMER_BUFFER_GIB
