"""Where each cluster pulls its images (sovereign/domain/images.py): through mirrors in its own cloud region, named
after the stack, with the credentials the stack declares; pinned by tag, and by digest once one is recorded."""

from __future__ import annotations

import dataclasses

from sovereign.clouds import AWS, GCP
from sovereign.domain.images import CHART_REPOSITORIES, IMAGES, ImageRef, cluster_images
from tests.support.domain import region_spec, registry_credentials

TWO_CLOUDS = {"aws": {"region": "eu-central-1"}, "gcp": {"region": "europe-west3", "project": "sovereign-test"}}


def test_every_mirrorable_image_comes_through_a_mirror_named_after_the_stack():
    spec = region_spec("eu-central", region="eu-central", clouds=TWO_CLOUDS)
    aws, gcp = (cluster_images(spec.name, c, p) for c, p in zip(spec.clouds, (AWS, GCP)))
    assert [(m.upstream, m.name, m.source) for m in aws.mirrors] == [
        ("docker.io", "eu-central/docker-hub", "registry-1.docker.io"), ("ghcr.io", "eu-central/ghcr", "ghcr.io"),
        ("quay.io", "eu-central/quay", "quay.io"), ("registry.k8s.io", "eu-central/k8s", "registry.k8s.io"),
        ("public.ecr.aws", "eu-central/ecr-public", "public.ecr.aws")]
    assert [(m.upstream, m.name, m.source) for m in gcp.mirrors] == [
        ("docker.io", "eu-central-docker-hub", "DOCKER_HUB"), ("ghcr.io", "eu-central-ghcr", "https://ghcr.io")]
    # ECR's Docker Hub and GHCR caches carry the stack's credential secrets; Quay and Artifact Registry need none.
    assert {m.upstream: m.credential_arn for m in aws.mirrors} == {
        "docker.io": registry_credentials("eu-central-1")["dockerHub"], "ghcr.io": registry_credentials("eu-central-1")["ghcr"],
        "quay.io": None, "registry.k8s.io": None, "public.ecr.aws": None}
    assert {m.credential_arn for m in gcp.mirrors} == {None}
    assert aws.refs["vllm"].repository("1.dkr.ecr.eu-central-1.amazonaws.com") == \
        "1.dkr.ecr.eu-central-1.amazonaws.com/eu-central/docker-hub/vllm/vllm-openai"
    assert gcp.refs["litellm"].reference("europe-west3-docker.pkg.dev/p") == \
        f"europe-west3-docker.pkg.dev/p/eu-central-ghcr/berriai/litellm-non_root:{IMAGES['litellm'].tag}"
    # Google's own registry is reached through Private Google Access: no mirror of it.
    assert gcp.refs["google-cloud-cli"].mirror is None
    assert gcp.refs["google-cloud-cli"].repository("ignored") == "gcr.io/google.com/cloudsdktool/google-cloud-cli"
    assert aws.chart_mirror("quay.io") == "eu-central/quay" and gcp.chart_mirror("quay.io") is None
    # ECR's pull-through cache serves a first pull by tag only, so every image through it goes by tag; Artifact
    # Registry's remote repositories and unmirrored upstreams serve digests.
    assert {m.by_digest for m in aws.mirrors} == {False} and {m.by_digest for m in gcp.mirrors} == {True}
    assert IMAGES["vllm"].digest and aws.refs["vllm"].digest is None and gcp.refs["vllm"].digest == IMAGES["vllm"].digest
    assert "@sha256:" not in aws.refs["vllm"].reference("r") and not aws.chart_digests("quay.io")
    assert gcp.chart_digests("quay.io") and gcp.refs["vllm"].chart_values("r")["digest"] == IMAGES["vllm"].digest


def test_a_recorded_digest_pins_the_bytes_and_the_chart_gets_it():
    pinned = ImageRef("s/docker-hub", dataclasses.replace(IMAGES["vllm"], digest="sha256:" + "a" * 64))
    assert pinned.reference("r") == f"r/s/docker-hub/vllm/vllm-openai:{IMAGES['vllm'].tag}@sha256:{'a' * 64}"
    assert pinned.chart_values("r")["digest"] == "sha256:" + "a" * 64
    by_tag = ImageRef("s/docker-hub", dataclasses.replace(IMAGES["vllm"], digest=None))
    assert by_tag.chart_values("r")["digest"] == "" and by_tag.reference("r").endswith(f":{IMAGES['vllm'].tag}")


def test_every_mirror_of_a_cloud_serves_an_image_and_every_upstream_is_mirrored_or_reachable():
    used = {i.upstream for i in IMAGES.values()} | set(CHART_REPOSITORIES)  # and the charts' images
    for profile in (AWS, GCP):
        assert {m.upstream for m in profile.mirrors} <= used, profile.id
    # What no mirror takes is Google's own registry (Private Google Access) or declared for the nodes with why.
    for image in IMAGES.values():
        unmirrored = [p.id for p in (AWS, GCP) if image.upstream not in {m.upstream for m in p.mirrors}]
        assert image.upstream == "gcr.io" or not unmirrored, image


def test_a_stack_may_fill_its_aws_mirrors_itself_and_then_names_every_digest():
    clouds = {"aws": {"region": "eu-central-1", "imageMirror": "prefilled"}}
    spec = region_spec("eu-central", region="eu-central", clouds=clouds)
    [cloud] = spec.clouds
    images = cluster_images(spec.name, cloud, AWS)
    assert cloud.prefilled_mirror and not cloud.registry_credentials   # no pull-through cache to give them to
    assert {(m.pulls_through, m.by_digest) for m in images.mirrors} == {(False, True)}
    assert images.refs["vllm"].digest == IMAGES["vllm"].digest and images.chart_digests("quay.io")
    docker_hub = next(m for m in images.mirrors if m.upstream == "docker.io")
    assert "vllm/vllm-openai" in docker_hub.repositories
