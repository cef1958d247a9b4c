"""Read-only records of the packaged catalog: cloud regions, managed-API providers, country groups,
open-weight models, GPUs with their machine types and list prices, and which GPUs each region offers.
Built only by the loader; nothing here reads files."""

from __future__ import annotations

import datetime
import difflib
import fnmatch
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ..clouds import CLOUDS



class CatalogError(ValueError):
    """A packaged data file is wrong. str() names the file, the key path and the problem."""

    def __init__(self, file: str, key: str, problem: str):
        self.file, self.key, self.problem = file, key, problem
        super().__init__(f"{file}: {key}: {problem}")


@dataclass(frozen=True)
class CloudRegion:
    cloud: str  # "aws" | "gcp"
    name: str  # "eu-central-1" / "europe-west3"
    country: str  # ISO 3166-1 alpha-2
    continent: str
    location: str  # AWS region display name or GCP location string
    partition: str | None  # AWS partition ("aws", "aws-cn", "aws-us-gov", "aws-eusc"); None for gcp
    dns_suffix: str | None  # AWS partition DNS suffix; None for gcp
    zones: tuple[str, ...]  # what the offline mocks report; AWS asks the provider at deploy time
    zones_verified: bool = True  # False: the zones follow the a,b,c pattern, no source listed them


@dataclass(frozen=True)
class HostSpec:
    host: str | None  # exact hostname, or
    pattern: str | None  # hostname with a {region} or {resource} placeholder
    purpose: str


@dataclass(frozen=True)
class RegionalHost:
    host: str
    area: str  # as the provider names it, e.g. "EEA+CH"
    countries: frozenset[str]
    regional_processing: bool | None  # None = not verified (or only partial)


@dataclass(frozen=True)
class Provider:
    id: str
    company: str
    hq_country: str
    docs: str
    hosts: tuple[HostSpec, ...]
    regional_hosts: tuple[RegionalHost, ...]
    related_hosts: tuple[HostSpec, ...]  # other endpoints of the provider (blocked on denial, never allowed)
    supported_countries: frozenset[str] | None  # None = the provider publishes no list that applies
    request_params: Mapping[str, tuple[str, ...]]  # e.g. {"inference_geo": ("global", "us")}
    # Parameter → the model names (fnmatch patterns) that take it; a parameter absent here applies to every model.
    request_param_models: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    auth_hosts: tuple[str, ...] = ()   # token endpoints its credentials are exchanged at: reached with it, never blocked

    def accepts(self, param: str, model: str) -> bool:
        patterns = self.request_param_models.get(param)
        return patterns is None or any(fnmatch.fnmatchcase(model, p) for p in patterns)


@dataclass(frozen=True)
class Group:
    id: str
    description: str
    source: str
    codes: frozenset[str]
    status: str | None  # e.g. "rescinded"


@dataclass(frozen=True)
class Model:
    id: str
    hf_repo: str
    publisher: str
    params_total_b: float
    params_active_b: float | None  # MoE only
    num_hidden_layers: int
    hidden_size: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int | None
    max_position_embeddings: int
    native_dtype: str  # "bfloat16" | "mxfp4-moe"
    moe_experts: int | None
    moe_experts_per_token: int | None
    license: str
    gated: bool | None
    tool_call_parser: str | None = None  # vLLM's parser for its tool-call format; None: the model takes no tools


@dataclass(frozen=True)
class MachineType:
    cloud: str
    name: str
    gpu: str  # Gpu.id
    gpu_count: int
    vcpu: int | None  # None when the cloud's catalog fields carry no machine shape
    memory_mib: int | None  # host RAM; None likewise
    gke_accelerator: str | None  # cloud.google.com/gke-accelerator value; None on aws or when not verified
    # On-demand list price in USD per hour (Linux, whole machine incl. its GPUs) in the cloud's price reference
    # region (Catalog.price_reference_regions); None = no price found. An ordering proxy within one cloud only.
    usd_per_hour: float | None = None


@dataclass(frozen=True)
class Gpu:
    id: str
    product: str
    memory_mib: int  # usable memory per GPU
    labels: Mapping[str, str | None]  # Kubernetes node labels; None = value not verified
    machine_types: tuple[MachineType, ...]  # both clouds


@dataclass(frozen=True)
class KubernetesVersion:
    cloud: str
    version: str  # minor version, "1.34"
    release: datetime.date  # available on the managed service (EKS release; GKE Regular channel)
    standard_end: datetime.date  # end of standard support
    extended_end: datetime.date | None  # end of extended support; None = not known (GKE)
    verified: bool  # False: a date rests on a secondary source (the data file's note says which)


@dataclass(frozen=True)
class UpgradePolicy:
    """The cluster setting that chooses what happens at the end of standard support."""
    cloud: str
    field: str  # "upgradePolicy.supportType" (EKS) / "releaseChannel.channel" (GKE)
    values: tuple[str, ...]
    default: str | None  # what the API applies when unset; None = not verified


@dataclass(frozen=True)
class Image:
    """A container image the program's workloads run, pinned to a release tag and, once known, its digest."""
    upstream: str                      # the registry it is published to
    repository: str                    # its path there
    tag: str
    digest: str | None = None          # `sha256:…` of the tag's manifest (index); None: pulled by tag
    evidence: str | None = None        # where the digest was read: "registry" | "public-records"
    recorded: datetime.date | None = None
    min_driver: int | None = None      # oldest NVIDIA driver branch its CUDA runs on; None: no GPU


@dataclass(frozen=True)
class Catalog:
    regions: Mapping[tuple[str, str], CloudRegion]  # key (cloud, name)
    providers: Mapping[str, Provider]
    groups: Mapping[str, Group]
    models: Mapping[str, Model]
    gpus: Mapping[str, Gpu]
    # (cloud, region) -> ids of the catalog GPUs offered there; regions not verified are absent.
    offerings: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    # cloud -> the region whose list prices MachineType.usd_per_hour holds (prices differ by region).
    price_reference_regions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # (cloud, region, gpu id) -> the zones of the region offering that GPU; absent = not verified at zone level.
    zone_offerings: Mapping[tuple[str, str, str], tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}))
    # (cloud, minor version) -> support dates of the managed Kubernetes service.
    kubernetes_versions: Mapping[tuple[str, str], KubernetesVersion] = field(
        default_factory=lambda: MappingProxyType({}))
    upgrade_policies: Mapping[str, UpgradePolicy] = field(default_factory=lambda: MappingProxyType({}))
    # image id -> the release (and digest) the program's own workloads run.
    images: Mapping[str, Image] = field(default_factory=lambda: MappingProxyType({}))

    def region(self, cloud: str, name: str) -> CloudRegion:
        if cloud not in CLOUDS:
            raise KeyError(f"unknown cloud {cloud!r}; expected one of {', '.join(CLOUDS)}")
        try:
            return self.regions[(cloud, name)]
        except KeyError:
            names = self.region_names(cloud)
            close = difflib.get_close_matches(str(name), names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise KeyError(f"unknown {cloud} region {name!r}{hint}; the catalog has {len(names)} {cloud} "
                           f"regions, see sovereign/catalog/data/regions.yaml") from None

    def region_names(self, cloud: str) -> tuple[str, ...]:
        return tuple(sorted(name for c, name in self.regions if c == cloud))

    def machine_types(self, cloud: str) -> tuple[MachineType, ...]:
        found = (mt for gpu in self.gpus.values() for mt in gpu.machine_types if mt.cloud == cloud)
        return tuple(sorted(found, key=lambda mt: mt.name))

    def offered_gpus(self, cloud: str, region: str) -> frozenset[str] | None:
        """Ids of the catalog GPUs offered in `region` (an empty set: none of them), or None when the catalog has
        not verified that region. Raises KeyError, as region() does, for an unknown cloud or region."""
        self.region(cloud, region)
        return self.offerings.get((cloud, region))

    def gpu_zones(self, cloud: str, region: str, gpu: str) -> tuple[str, ...] | None:
        """Zones of `region` offering `gpu`: () when the region is verified not to offer it, None when the catalog
        has not verified it (region unverified, or offered with no zone-level source). KeyError as region()."""
        offered = self.offered_gpus(cloud, region)
        if offered is None:
            return None
        if gpu not in offered:
            return ()
        return self.zone_offerings.get((cloud, region, gpu))

    def versions(self, cloud: str) -> tuple[KubernetesVersion, ...]:
        """The catalog's Kubernetes minor versions of `cloud`'s managed service, oldest first."""
        found = (v for (c, _), v in self.kubernetes_versions.items() if c == cloud)
        return tuple(sorted(found, key=lambda v: tuple(int(part) for part in v.version.split("."))))

    @property
    def eks_versions(self) -> Mapping[str, KubernetesVersion]:
        return MappingProxyType({v.version: v for v in self.versions("aws")})

    def known_countries(self) -> frozenset[str]:
        known: set[str] = {r.country for r in self.regions.values()}
        for group in self.groups.values():
            known |= group.codes
        for provider in self.providers.values():
            known.add(provider.hq_country)
            known |= provider.supported_countries or frozenset()
        return frozenset(known)
