"""The container images the program's workloads run, and where each cluster pulls them from.

A registry is a provider that can be cut off too, so a cluster pulls every image its cloud can mirror through a
mirror the stack creates in its own cloud region (the cloud profile's `mirrors`: ECR pull-through caches on AWS,
Artifact Registry remote repositories on GCP). A mirror fetches an image on its first pull and serves it from the
region afterwards; once cached, the upstream being unreachable no longer stops a node from starting.

Each image is pinned to a release tag and, where known, its digest (`sha256:…`, the tag's manifest digest): a digest
pins the bytes whatever the tag later points at. Pods name it wherever their mirror serves a first pull by digest
(not ECR's pull-through cache: there everything goes by tag). `sovereign images` lists the pins and records or
checks the digests against the registries from a machine that reaches them.
Images of charts the clusters install (Cilium and Karpenter pin theirs by digest; the NVIDIA device plugin) are the
charts' own; their registries are mirrored the same way where the cloud can (`chart_mirror`), and their digests
kept where the mirror serves them (`chart_digests`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ..catalog import Image, load_catalog
from ..clouds import CloudProfile, RegistryMirror
from .spec import CloudSpec


# The releases (and digests) the program's own workloads run: sovereign/catalog/data/images.yaml, where each digest's
# evidence is recorded. The model-server chart's defaults name the same (tests/charts hold them equal).
IMAGES: Mapping[str, Image] = load_catalog().images


@dataclass(frozen=True)
class Mirror:
    """One upstream registry mirrored in the cluster's cloud region."""
    upstream: str
    name: str                      # ECR repository prefix / Artifact Registry repository id
    source: str                    # what the mirror pulls from (ECR upstream URL / Artifact Registry preset or URI)
    credential_arn: str | None     # Secrets Manager ARN of the upstream's credentials (ECR's Docker Hub, GHCR)
    # False where the registry does not pull through (AWS China, or `imageMirror: prefilled`): repositories, one per
    # image, filled beforehand.
    pulls_through: bool = True
    repositories: tuple[str, ...] = ()   # the upstream repositories it serves (e.g. vllm/vllm-openai)
    by_digest: bool = True               # False: it serves a first pull by tag only, so images go by tag


@dataclass(frozen=True)
class ImageRef:
    """Where a cluster pulls one image: `<registry>/<mirror>/<repository>` through a mirror, else upstream; by its
    digest where one is recorded and the mirror serves a first pull by digest."""
    mirror: str | None
    image: Image
    by_digest: bool = True

    @property
    def digest(self) -> str | None:
        return self.image.digest if self.by_digest else None

    def repository(self, registry: str) -> str:
        """The image's repository as a pod names it; `registry` is the cluster's mirror registry host."""
        if self.mirror is None:
            return f"{self.image.upstream}/{self.image.repository}"
        return f"{registry}/{self.mirror}/{self.image.repository}"

    def reference(self, registry: str) -> str:
        """`repository:tag`, and `@sha256:…` where pulled by digest (the tag then only reads well)."""
        return f"{self.repository(registry)}:{self.image.tag}" + (f"@{self.digest}" if self.digest else "")

    def chart_values(self, registry: str) -> dict[str, str]:
        """The model-server chart's image values (repository, tag, digest)."""
        return {"repository": self.repository(registry), "tag": self.image.tag, "digest": self.digest or ""}


@dataclass(frozen=True)
class ClusterImages:
    mirrors: tuple[Mirror, ...]
    refs: Mapping[str, ImageRef]   # image id → where the cluster pulls it

    def chart_mirror(self, upstream: str) -> str | None:
        """The mirror a chart's images from `upstream` are pulled through, if the cloud mirrors it."""
        return next((m.name for m in self.mirrors if m.upstream == upstream), None)

    def chart_digests(self, upstream: str) -> bool:
        """Whether a chart's digest-pinned images from `upstream` may keep their digests (unmirrored: the upstream
        serves them; mirrored: if the mirror serves a first pull by digest)."""
        return next((m.by_digest for m in self.mirrors if m.upstream == upstream), True)


# Chart-managed images, by the upstream their chart pulls them from (tags and digests pinned by the charts): Cilium,
# kube-prometheus-stack with its Grafana and exporters, KEDA, Karpenter. Prefilled mirrors (AWS China, or a stack's
# `imageMirror: prefilled`) hold a repository for each.
CHART_REPOSITORIES = {
    "quay.io": ("cilium/cilium", "cilium/operator-aws", "cilium/cilium-envoy", "prometheus/prometheus",
                "prometheus/alertmanager", "prometheus/node-exporter", "prometheus-operator/prometheus-operator",
                "prometheus-operator/prometheus-config-reloader", "prometheus-operator/admission-webhook",
                "kiwigrid/k8s-sidecar"),
    "ghcr.io": ("kedacore/keda", "kedacore/keda-metrics-apiserver", "kedacore/keda-admission-webhooks",
                "jkroepke/kube-webhook-certgen"),
    "docker.io": ("grafana/grafana",),
    "registry.k8s.io": ("kube-state-metrics/kube-state-metrics",),
    "public.ecr.aws": ("karpenter/controller",),
}


def cluster_images(stack: str, cloud: CloudSpec, profile: CloudProfile) -> ClusterImages:
    mirrors = tuple(_mirror(stack, cloud, profile, m) for m in profile.mirrors)
    by_upstream = {m.upstream: m for m in mirrors}
    # A plain dict: decisions travel to worker processes, which pickle them.
    refs = {}
    for image_id, image in IMAGES.items():
        mirror = by_upstream.get(image.upstream)
        refs[image_id] = ImageRef(mirror.name if mirror else None, image, mirror.by_digest if mirror else True)
    return ClusterImages(mirrors, refs)


def _mirror(stack: str, cloud: CloudSpec, profile: CloudProfile, mirror: RegistryMirror) -> Mirror:
    pulls_through = not cloud.prefilled_mirror
    arn = cloud.credential(mirror.credentials) if mirror.credentials and pulls_through else None
    repositories = tuple(sorted({i.repository for i in IMAGES.values() if i.upstream == mirror.upstream}
                                | set(CHART_REPOSITORIES.get(mirror.upstream, ()))))
    return Mirror(mirror.upstream, profile.mirror_name.format(stack=stack, name=mirror.name), mirror.source, arn,
                  pulls_through, repositories, by_digest=profile.pull_through_by_digest or not pulls_through)
