"""`sovereign images`: listing the pinned images, and checking / recording their digests against a registry that
speaks the distribution API the way Docker Hub, GHCR and gcr.io do (anonymous 401, Bearer token, manifest by tag).
The registry here is a local HTTP server; the real ones are out of this toolchain's reach."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import http.server
import json
import shutil
import threading
import urllib.parse

import pytest

from sovereign.catalog.images_file import images_path, pin
from sovereign.catalog.loader import read_images
from sovereign.commands import images as command
from sovereign.domain.gateway import LITELLM_VERSION
from sovereign.clouds import AWS, GCP
from sovereign.domain.images import IMAGES, cluster_images
from sovereign import registry
from tests.support.cli import run_cli
from tests.support.domain import region_spec

TOKEN = "pull-token"


def index(*platforms: str) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + f"{i}" * 64, "size": 1,
         "platform": dict(zip(("os", "architecture"), p.split("/")))} for i, p in enumerate(platforms)]}).encode()


class Registry(http.server.ThreadingHTTPServer):
    """Manifests by `repository:tag`; anonymous requests get a Bearer challenge, as the public registries answer."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.manifests: dict[str, bytes] = {}
        self.blobs: dict[str, bytes] = {}   # by digest, served from "the CDN": another host name, by redirect
        self.lie = False             # send a Docker-Content-Digest that is not the body's
        self.scopes: list[str] = []  # what each token request asked for
        self.cdn_auth: list[str | None] = []   # the Authorization header each CDN request carried
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    server: Registry

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/token":
            query = urllib.parse.parse_qs(url.query)
            self.server.scopes.append(query["scope"][0])
            return self.answer(200, json.dumps({"token": TOKEN}).encode())
        if url.path.startswith("/cdn/"):
            self.server.cdn_auth.append(self.headers.get("Authorization"))
            return self.answer(200, self.server.blobs[url.path.removeprefix("/cdn/")])
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            repository = url.path.split("/manifests/")[0].removeprefix("/v2/")
            challenge = (f'Bearer realm="{self.server.url}/token",service="test",'
                         f'scope="repository:{repository}:pull"')
            return self.answer(401, b"", {"WWW-Authenticate": challenge})
        if "/blobs/" in url.path:
            cdn = f"http://localhost:{self.server.server_address[1]}/cdn/{url.path.rsplit('/', 1)[1]}"
            return self.answer(307, b"", {"Location": cdn})
        body = self.server.manifests.get(url.path.removeprefix("/v2/").replace("/manifests/", ":"))
        if body is None:
            return self.answer(404, b"")
        digest = "sha256:" + hashlib.sha256(b"other" if self.server.lie else body).hexdigest()
        self.answer(200, body, {"Docker-Content-Digest": digest,
                                "Content-Type": json.loads(body)["mediaType"]})

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def served(monkeypatch):
    """A registry serving every pinned image's tag as a two-platform index, standing in for every upstream."""
    server = Registry()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    for image in IMAGES.values():
        monkeypatch.setitem(registry.ENDPOINTS, image.upstream, server.url)
        server.manifests[f"{image.repository}:{image.tag}"] = index("linux/amd64", "linux/arm64")
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def lock(tmp_path, monkeypatch):
    """A copy of images.yaml for --record to write (the packaged one stays as it is)."""
    path = tmp_path / "images.yaml"
    shutil.copy(images_path(), path)
    monkeypatch.setattr(command, "images_path", lambda: path)
    return path


def digest_of(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def test_resolve_takes_an_anonymous_token_and_hashes_the_served_index(served):
    body = served.manifests["vllm/vllm-openai:v0.31.0"]
    found = registry.resolve("docker.io", "vllm/vllm-openai", "v0.31.0")
    assert (found.digest, found.platforms, found.is_index) == (digest_of(body), ("linux/amd64", "linux/arm64"), True)
    assert served.scopes == ["repository:vllm/vllm-openai:pull"]


def test_resolve_refuses_a_digest_header_that_is_not_the_body_and_says_what_is_unreachable(served, monkeypatch):
    served.lie = True
    with pytest.raises(registry.RegistryError, match="is not the body's"):
        registry.resolve("docker.io", "vllm/vllm-openai", "v0.31.0")
    with pytest.raises(registry.RegistryError, match="HTTP 404"):
        registry.resolve("docker.io", "vllm/vllm-openai", "v9.9.9")
    monkeypatch.setitem(registry.ENDPOINTS, "docker.io", "http://127.0.0.1:9")   # nothing listens on discard
    with pytest.raises(registry.RegistryError, match="127.0.0.1:9 unreachable"):
        registry.resolve("docker.io", "vllm/vllm-openai", "v0.31.0")


def test_list_shows_each_image_pinned_or_pulled_by_tag():
    result = run_cli("images")
    assert result.returncode == 0
    lines = dict(line.split(maxsplit=1) for line in result.stdout.splitlines())
    assert set(lines) == set(IMAGES)
    for image_id, image in IMAGES.items():
        assert (f"@{image.digest}  ({image.evidence}" if image.digest else "pulled by tag") in lines[image_id]


def test_check_reports_a_recorded_digest_the_registry_does_not_serve(served):
    result = run_cli("images", "--check")
    assert result.returncode == 1, result.stderr
    served_digest = digest_of(served.manifests["vllm/vllm-openai:v0.31.0"])
    assert f"vllm: recorded {IMAGES['vllm'].digest}, but {served.url} serves {served_digest}" in result.stdout
    assert f"litellm: not recorded; {served.url} serves " in result.stdout


def test_record_writes_what_the_registry_serves_and_a_second_run_changes_nothing(served, lock):
    before = lock.read_text()
    result = run_cli("images", "--record")
    assert result.returncode == 0, result.stdout + result.stderr
    recorded = read_images(lock)
    for image_id, image in IMAGES.items():
        assert recorded[image_id].digest == digest_of(served.manifests[f"{image.repository}:{image.tag}"])
        assert recorded[image_id].evidence == "registry" and recorded[image_id].tag == image.tag
    # Only the pin fields changed: every comment and every other field kept, line for line.
    changed = [(a, b) for a, b in zip(before.splitlines(), lock.read_text().splitlines()) if a != b]
    assert len(before.splitlines()) == len(lock.read_text().splitlines())
    assert {a.split(":")[0].strip() for a, _ in changed} == {"digest", "evidence", "recorded", "note"}
    again = run_cli("images", "--record")
    assert (again.returncode, again.stdout.strip()) == (0, "images.yaml: nothing to change")
    # --check now agrees with every record.
    assert run_cli("images", "--check").returncode == 0


def test_record_skips_an_index_without_the_nodes_platform(served, lock):
    served.manifests["amazon/aws-cli:2.37.5"] = index("linux/arm64")
    result = run_cli("images", "--record", "--image", "aws-cli", "--image", "litellm")
    assert result.returncode == 1
    assert "aws-cli: not built for linux/amd64 (linux/arm64)" in result.stdout
    recorded = read_images(lock)
    assert recorded["aws-cli"] == IMAGES["aws-cli"] and recorded["litellm"].evidence == "registry"


def test_unreachable_registry_exits_2_and_writes_nothing(lock, monkeypatch):
    for image in IMAGES.values():
        monkeypatch.setitem(registry.ENDPOINTS, image.upstream, "http://127.0.0.1:9")
    before = lock.read_text()
    result = run_cli("images", "--record")
    assert result.returncode == 2 and "unreachable" in result.stderr
    assert lock.read_text() == before


def test_pin_names_an_image_the_file_lacks():
    with pytest.raises(KeyError, match="no image 'vllm-nightly'"):
        pin(images_path().read_text(), "vllm-nightly", "sha256:" + "a" * 64, "registry",
            IMAGES["vllm"].recorded, "x")


def test_the_gateway_image_is_the_litellm_release_its_config_is_tested_against():
    assert IMAGES["litellm"].tag == f"v{LITELLM_VERSION}"


def test_the_plan_says_which_digests_are_recorded_and_how_each_cluster_names_its_images(monkeypatch):
    from sovereign.commands import readiness
    lines = readiness.image_pins().splitlines()
    for image_id, image in IMAGES.items():
        line = next(line for line in lines if f" {image_id}," in line or f" {image_id} " in line)
        assert ("NONE RECORDED" in line) == (image.digest is None), line
    assert all(len(line) <= 100 for line in lines)
    every = {i: dataclasses.replace(image, digest="sha256:" + "a" * 64, evidence="registry",
                                    recorded=datetime.date(2026, 12, 2)) for i, image in IMAGES.items()}
    monkeypatch.setattr(readiness, "IMAGES", every)
    assert readiness.image_pins() == f"digests  read from the registries: {', '.join(IMAGES)}\n"
    # Per cluster: a mirror serving first pulls by tag only names even a recorded digest's image by tag.
    spec = region_spec("eu-central", region="eu-central", clouds={
        "aws": {"region": "eu-central-1"}, "gcp": {"region": "europe-west3", "project": "sovereign-test"}})
    aws, gcp = (cluster_images(spec.name, c, p) for c, p in zip(spec.clouds, (AWS, GCP)))
    recorded = ", ".join(i for i, image in IMAGES.items() if image.digest)
    assert f"pull-through cache that serves first pulls by tag only: {recorded}" in readiness._images(aws)
    assert readiness._images(gcp).startswith(f"by digest: {recorded}")


def single_platform(served: Registry, platform: str) -> bytes:
    """A single-platform manifest whose config blob (served by redirect) says `platform`."""
    config = json.dumps(dict(zip(("os", "architecture"), platform.split("/")))).encode()
    served.blobs[digest_of(config)] = config
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": digest_of(config), "size": len(config)}, "layers": []}).encode()


def test_a_single_platform_image_is_recorded_only_if_built_for_the_nodes(served, lock):
    served.manifests["amazon/aws-cli:2.37.5"] = single_platform(served, "linux/arm64")
    served.manifests["berriai/litellm-non_root:v1.108.7"] = single_platform(served, "linux/amd64")
    result = run_cli("images", "--record", "--image", "aws-cli", "--image", "litellm")
    assert result.returncode == 1 and "aws-cli: not built for linux/amd64 (linux/arm64)" in result.stdout
    recorded = read_images(lock)
    assert recorded["aws-cli"] == IMAGES["aws-cli"]
    assert recorded["litellm"].digest == digest_of(served.manifests["berriai/litellm-non_root:v1.108.7"])
    assert "(single-platform manifest, linux/amd64)" in lock.read_text()
    # The blobs came from another host by redirect: the registry's token did not go along.
    assert served.cdn_auth == [None, None]


def test_record_upgrades_a_public_record_the_registry_confirms(served, lock):
    body = served.manifests["vllm/vllm-openai:v0.31.0"]
    lock.write_text(pin(lock.read_text(), "vllm", digest_of(body), "public-records", datetime.date(2026, 10, 8), "x"))
    result = run_cli("images", "--record", "--image", "vllm")
    assert result.returncode == 0, result.stdout + result.stderr
    recorded = read_images(lock)["vllm"]
    assert (recorded.digest, recorded.evidence) == (digest_of(body), "registry")
    assert run_cli("images", "--record", "--image", "vllm").stdout.strip() == "images.yaml: nothing to change"


def test_pin_keeps_comments_inside_a_block_and_drops_a_folded_notes_continuation():
    text = ("a:\n  tag: '1'\n  # why this digest\n  digest: null\n  evidence: null\n  recorded: null\n"
            "  note: >-\n    two\n    lines\n  upstream: x\n# next\nb:\n  tag: '2'\n")
    out = pin(text, "a", "sha256:" + "b" * 64, "registry", datetime.date(2026, 12, 2), "read")
    assert out == ("a:\n  tag: '1'\n  # why this digest\n  digest: sha256:" + "b" * 64 + "\n  evidence: registry\n"
                   "  recorded: 2026-12-02\n  note: \"read\"\n  upstream: x\n# next\nb:\n  tag: '2'\n")
