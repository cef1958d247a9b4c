"""Reads and validates the packaged YAML in sovereign/catalog/data into read-only records.

Every check names the file and the key path, so a bad edit to the data fails on the first
load_catalog() call with a message that says where to look, not deep inside a Pulumi program.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

import yaml

from ..clouds import CLOUDS, profile
from ..yamlio import YamlError, load_yaml

from .records import (
    Catalog, CatalogError, CloudRegion, Gpu, Group, HostSpec, Image, KubernetesVersion, MachineType, Model, Provider,
    RegionalHost, UpgradePolicy,
)

CONTINENTS = frozenset({"Europe", "North America", "South America", "Asia", "Oceania", "Africa", "Middle East"})
NATIVE_DTYPES = frozenset({"bfloat16", "mxfp4-moe"})
PLACEHOLDERS = frozenset({"region", "resource"})
_COUNTRY = re.compile(r"[A-Z]{2}\Z")
_MINOR_VERSION = re.compile(r"1\.(\d+)\Z")
_HOSTNAME = re.compile(r"(?=.{4,253}\Z)([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}\Z")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")   # the OCI distribution spec's tag grammar
EVIDENCE = ("registry", "public-records")
_GKE_LABEL = "cloud.google.com/gke-accelerator"
_KARPENTER_MEMORY_LABEL = "karpenter.k8s.aws/instance-gpu-memory"


@functools.cache
def load_catalog() -> Catalog:
    """The packaged catalog, read and validated once per process."""
    return _load_from(resources.files(__package__) / "data")


def _load_from(directory: Traversable | Path) -> Catalog:
    """Build a catalog from the YAML files in `directory` (tests point this at a corrupted copy)."""
    availability = _availability(_File(directory, "availability.yaml"))
    providers_file = _File(directory, "providers.yaml")
    regions = _regions(_File(directory, "regions.yaml"))
    gpus = _gpus(_File(directory, "gpus.yaml"))
    reference_regions, prices = _prices(_File(directory, "prices.yaml"), regions, gpus)
    gpus = {gid: dataclasses.replace(gpu, machine_types=tuple(
        dataclasses.replace(mt, usd_per_hour=prices[(mt.cloud, mt.name)]) for mt in gpu.machine_types))
        for gid, gpu in gpus.items()}
    offerings = _offerings(_File(directory, "offerings.yaml"), regions, gpus)
    catalog = Catalog(
        regions=MappingProxyType(regions),
        providers=MappingProxyType(_providers(providers_file, availability)),
        groups=MappingProxyType(_groups(_File(directory, "jurisdictions.yaml"))),
        models=MappingProxyType(_models(_File(directory, "models.yaml"))),
        gpus=MappingProxyType(gpus),
        offerings=MappingProxyType(offerings),
        zone_offerings=MappingProxyType(_gpu_zones(_File(directory, "gpu_zones.yaml"), regions, offerings)),
        price_reference_regions=MappingProxyType(reference_regions),
        **_kubernetes(_File(directory, "kubernetes.yaml")),
        images=MappingProxyType(_images(_File(directory, "images.yaml"))),
    )
    known = catalog.known_countries()
    for provider in catalog.providers.values():
        for i, regional in enumerate(provider.regional_hosts):
            if unknown := sorted(regional.countries - known):
                providers_file.fail(f"{provider.id}.regional_hosts[{i}].countries",
                                    f"{', '.join(unknown)} appear in no region, group or availability list")
    return catalog


class _File:
    """One parsed data file plus typed accessors that report `file: key.path: problem`."""

    def __init__(self, directory: Traversable | Path, name: str):
        self.name = name
        try:
            text = directory.joinpath(name).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CatalogError(name, "(file)", f"missing from {directory}") from None
        try:
            self.data = load_yaml(text)
        except YamlError as exc:
            raise CatalogError(name, exc.where, exc.problem) from None
        except yaml.YAMLError as exc:
            raise CatalogError(name, "(file)", f"not valid YAML: {exc}") from None

    def fail(self, key: str, problem: str) -> NoReturn:
        raise CatalogError(self.name, key, problem)

    def table(self, value: Any, key: str, *, allow_empty: bool = False) -> dict[str, Any]:
        if not isinstance(value, dict) or not (value or allow_empty):
            self.fail(key, "must be a non-empty mapping")
        for name in value:
            if not isinstance(name, str):
                self.fail(key, f"key {name!r} must be a string")
        return value

    def entry(self, value: Any, key: str, required: set[str], optional: frozenset[str] = frozenset()) -> dict:
        """A mapping with exactly the required keys plus any of the optional ones (catches typos)."""
        entry = self.table(value, key)
        if missing := sorted(required - entry.keys()):
            self.fail(key, f"missing {', '.join(missing)}")
        if extra := sorted(entry.keys() - required - optional):
            self.fail(f"{key}.{extra[0]}", "unknown field")
        return entry

    def value(self, entry: dict, key: str, field: str, kind: type | tuple[type, ...], *,
              nullable: bool = False) -> Any:
        value = entry.get(field)
        path = f"{key}.{field}"
        if value is None and nullable:
            return None
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            expected = " or ".join(k.__name__ for k in kinds) + (" or null" if nullable else "")
            self.fail(path, f"must be {expected}, got {value!r}")
        if isinstance(value, str) and not value.strip():
            self.fail(path, "must not be empty")
        return value

    def positive(self, entry: dict, key: str, field: str, *, nullable: bool = False) -> int | None:
        value = self.value(entry, key, field, int, nullable=nullable)
        if value is not None and value <= 0:
            self.fail(f"{key}.{field}", f"must be > 0, got {value}")
        return value

    def items(self, value: Any, key: str, *, allow_empty: bool = False) -> list:
        if not isinstance(value, list) or not (value or allow_empty):
            self.fail(key, "must be a non-empty list")
        return value

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        items = self.items(value, key)
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                self.fail(f"{key}[{i}]", f"must be a non-empty string, got {item!r}")
        return tuple(items)

    def date(self, entry: dict, key: str, field: str, *, nullable: bool = False) -> datetime.date | None:
        value = self.value(entry, key, field, str, nullable=nullable)
        if value is None:
            return None
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            self.fail(f"{key}.{field}", f"{value!r} is not a YYYY-MM-DD date")

    def country(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not _COUNTRY.match(value):
            hint = " (YAML reads an unquoted NO as false; write 'NO')" if value is False else ""
            self.fail(key, f"{value!r} is not a two-letter upper-case ISO 3166-1 code{hint}")
        return value

    def countries(self, value: Any, key: str) -> frozenset[str]:
        codes = [self.country(code, f"{key}[{i}]") for i, code in enumerate(self.items(value, key))]
        if len(set(codes)) != len(codes):
            self.fail(key, f"duplicate codes: {sorted({c for c in codes if codes.count(c) > 1})}")
        return frozenset(codes)

    def hostname(self, value: str, key: str) -> str:
        if not _HOSTNAME.match(value):
            self.fail(key, f"{value!r} is not a lower-case DNS hostname")
        return value


def _regions(f: _File) -> dict[tuple[str, str], CloudRegion]:
    top = f.entry(f.data, "(top)", {"aws_partitions", *CLOUDS}, frozenset({"zones_not_verified"}))
    unverified_zones = f.entry(top.get("zones_not_verified", {c: [] for c in CLOUDS}), "zones_not_verified",
                               set(CLOUDS))
    unverified = {cloud: f.items(unverified_zones[cloud], f"zones_not_verified.{cloud}", allow_empty=True)
                  for cloud in CLOUDS}
    partitions = {
        name: f.value(f.entry(part, f"aws_partitions.{name}", {"dns_suffix"}), f"aws_partitions.{name}",
                      "dns_suffix", str)
        for name, part in f.table(top["aws_partitions"], "aws_partitions").items()
    }
    regions = {}
    for cloud, shape in ((c, profile(c).catalog) for c in CLOUDS):
        for name, raw in f.table(top[cloud], cloud).items():
            key = f"{cloud}.{name}"
            entry = f.entry(raw, key, set(shape.region_fields))
            partition = f.value(entry, key, "partition", str) if shape.partitioned else None
            if partition is not None and partition not in partitions:
                f.fail(f"{key}.partition", f"{partition!r} is not under aws_partitions")
            continent = f.value(entry, key, "continent", str)
            if continent not in CONTINENTS:
                f.fail(f"{key}.continent", f"{continent!r} is not one of {', '.join(sorted(CONTINENTS))}")
            regions[(cloud, name)] = CloudRegion(
                cloud=cloud, name=name,
                country=f.country(entry["country"], f"{key}.country"),
                continent=continent,
                location=f.value(entry, key, shape.location_field, str),
                partition=partition,
                dns_suffix=partitions.get(partition),
                zones=_zones(f, entry["zones"], f"{key}.zones", name + shape.zone_separator),
                zones_verified=name not in unverified[cloud],
            )
        for i, name in enumerate(unverified[cloud]):
            if (cloud, name) not in regions:
                f.fail(f"zones_not_verified.{cloud}[{i}]", f"{name!r} is not a catalog {cloud} region")
    return regions


def _zones(f: _File, value: Any, key: str, prefix: str) -> tuple[str, ...]:
    zones = f.items(value, key)
    if len(zones) < 2:
        f.fail(key, f"needs at least 2 zones, got {len(zones)}")
    for i, zone in enumerate(zones):
        if not isinstance(zone, str) or not zone.startswith(prefix) or len(zone) == len(prefix):
            f.fail(f"{key}[{i}]", f"{zone!r} must start with {prefix!r} and add a zone suffix")
    if len(set(zones)) != len(zones):
        f.fail(key, "duplicate zones")
    return tuple(zones)


def _availability(f: _File) -> dict[str, frozenset[str]]:
    lists = {}
    for list_id, raw in f.table(f.data, "(top)").items():
        entry = f.entry(raw, list_id, {"page", "page_date", "codes", "qualifiers", "notes"})
        f.value(entry, list_id, "page", str)
        f.value(entry, list_id, "page_date", str)
        codes = f.countries(entry["codes"], f"{list_id}.codes")
        for i, qualifier in enumerate(f.items(entry["qualifiers"], f"{list_id}.qualifiers", allow_empty=True)):
            qkey = f"{list_id}.qualifiers[{i}]"
            if f.country(f.entry(qualifier, qkey, {"code", "text"})["code"], f"{qkey}.code") not in codes:
                f.fail(f"{qkey}.code", "qualifies a code that is not in the list")
        lists[list_id] = codes
    return lists


def _host_spec(f: _File, raw: Any, key: str) -> HostSpec:
    entry = f.entry(raw, key, {"purpose"}, frozenset({"host", "pattern"}))
    if ("host" in entry) == ("pattern" in entry):
        f.fail(key, "needs exactly one of host or pattern")
    purpose = f.value(entry, key, "purpose", str)
    if "host" in entry:
        return HostSpec(host=f.hostname(f.value(entry, key, "host", str), f"{key}.host"), pattern=None,
                        purpose=purpose)
    pattern = f.value(entry, key, "pattern", str)
    names = set(_PLACEHOLDER.findall(pattern))
    if not names or names - PLACEHOLDERS:
        f.fail(f"{key}.pattern", f"{pattern!r} must use only the placeholders {{region}} / {{resource}}")
    f.hostname(_PLACEHOLDER.sub("x", pattern), f"{key}.pattern")
    return HostSpec(host=None, pattern=pattern, purpose=purpose)


def _regional_host(f: _File, raw: Any, key: str) -> RegionalHost:
    entry = f.entry(raw, key, {"host", "area", "countries", "regional_processing"})
    return RegionalHost(
        host=f.hostname(f.value(entry, key, "host", str), f"{key}.host"),
        area=f.value(entry, key, "area", str),
        countries=f.countries(entry["countries"], f"{key}.countries"),
        regional_processing=f.value(entry, key, "regional_processing", bool, nullable=True),
    )


def _providers(f: _File, availability: dict[str, frozenset[str]]) -> dict[str, Provider]:
    providers, used = {}, set()
    for pid, raw in f.table(f.data, "(top)").items():
        entry = f.entry(raw, pid, {"company", "hq_country", "docs", "hosts", "availability"},
                        frozenset({"related_hosts", "regional_hosts", "request_params", "request_param_models",
                                   "auth_hosts"}))
        hosts = tuple(_host_spec(f, h, f"{pid}.hosts[{i}]")
                      for i, h in enumerate(f.items(entry["hosts"], f"{pid}.hosts")))
        # related_hosts (e.g. Claude Platform on AWS) are never allowed, but blocked when a provider is denied.
        related = tuple(_host_spec(f, h, f"{pid}.related_hosts[{i}]") for i, h in enumerate(
            f.items(entry.get("related_hosts", []), f"{pid}.related_hosts", allow_empty=True)))
        auth = tuple(_host_spec(f, h, f"{pid}.auth_hosts[{i}]") for i, h in enumerate(
            f.items(entry.get("auth_hosts", []), f"{pid}.auth_hosts", allow_empty=True)))
        if any(h.host is None for h in auth):
            f.fail(f"{pid}.auth_hosts", "token endpoints are exact hosts, not patterns")
        regional = tuple(_regional_host(f, r, f"{pid}.regional_hosts[{i}]") for i, r in enumerate(
            f.items(entry.get("regional_hosts", []), f"{pid}.regional_hosts", allow_empty=True)))
        list_id = f.value(entry, pid, "availability", str, nullable=True)
        if list_id is not None and list_id not in availability:
            f.fail(f"{pid}.availability", f"{list_id!r} is not a list in availability.yaml "
                                          f"({', '.join(sorted(availability))})")
        used.add(list_id)
        params = {name: f.strings(values, f"{pid}.request_params.{name}")
                  for name, values in f.table(entry.get("request_params", {}), f"{pid}.request_params",
                                              allow_empty=True).items()}
        scoped = {name: f.strings(patterns, f"{pid}.request_param_models.{name}")
                  for name, patterns in f.table(entry.get("request_param_models", {}), f"{pid}.request_param_models",
                                                allow_empty=True).items()}
        if stray := sorted(scoped.keys() - params.keys()):
            f.fail(f"{pid}.request_param_models", f"{stray[0]!r} is not one of its request_params")
        providers[pid] = Provider(
            id=pid,
            company=f.value(entry, pid, "company", str),
            hq_country=f.country(entry["hq_country"], f"{pid}.hq_country"),
            docs=f.value(entry, pid, "docs", str),
            hosts=hosts,
            regional_hosts=regional,
            related_hosts=related,
            supported_countries=availability[list_id] if list_id else None,
            request_params=MappingProxyType(params),
            request_param_models=MappingProxyType(scoped),
            auth_hosts=tuple(h.host for h in auth),
        )
    if unused := sorted(availability.keys() - used):
        f.fail("(top)", f"no provider uses the availability list(s) {', '.join(unused)}")
    return providers


def _groups(f: _File) -> dict[str, Group]:
    top = f.entry(f.data, "(top)", {"groups"})
    groups = {}
    for gid, raw in f.table(top["groups"], "groups").items():
        key = f"groups.{gid}"
        entry = f.entry(raw, key, {"description", "source", "as_of", "codes"},
                        frozenset({"status", "notes", "partial_regions"}))
        for i, region in enumerate(f.items(entry.get("partial_regions", []), f"{key}.partial_regions",
                                           allow_empty=True)):
            rkey = f"{key}.partial_regions[{i}]"
            f.country(f.entry(region, rkey, {"code", "subdivision", "program"})["code"], f"{rkey}.code")
        f.value(entry, key, "as_of", str)
        groups[gid] = Group(
            id=gid,
            description=f.value(entry, key, "description", str),
            source=f.value(entry, key, "source", str),
            codes=f.countries(entry["codes"], f"{key}.codes"),
            status=f.value(entry, key, "status", str, nullable=True),
        )
    return groups


_MODEL_FIELDS = {
    "hf_repo", "publisher", "params_total_b", "params_active_b", "architecture", "moe", "num_hidden_layers",
    "hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim", "intermediate_size", "vocab_size",
    "max_position_embeddings", "native_dtype", "license", "gated", "tool_call_parser",
}
# vLLM's tool-call parsers the catalog may name (https://docs.vllm.ai/en/latest/features/tool_calling/).
TOOL_CALL_PARSERS = frozenset({"llama3_json", "hermes", "openai"})


def _models(f: _File) -> dict[str, Model]:
    models = {}
    for mid, raw in f.table(f.data, "(top)").items():
        e = f.entry(raw, mid, _MODEL_FIELDS)
        total = float(f.value(e, mid, "params_total_b", (int, float)))
        active = f.value(e, mid, "params_active_b", (int, float), nullable=True)
        moe = None if e["moe"] is None else f.entry(e["moe"], f"{mid}.moe", {"experts", "experts_per_token"})
        experts = f.positive(moe, f"{mid}.moe", "experts") if moe else None
        per_token = f.positive(moe, f"{mid}.moe", "experts_per_token") if moe else None
        if total <= 0:
            f.fail(f"{mid}.params_total_b", "must be > 0")
        if (active is None) != (moe is None):
            f.fail(f"{mid}.params_active_b", "must be set exactly when moe is set")
        if active is not None and not 0 < active < total:
            f.fail(f"{mid}.params_active_b", f"must be between 0 and params_total_b ({total})")
        if moe and per_token > experts:
            f.fail(f"{mid}.moe.experts_per_token", f"{per_token} exceeds experts ({experts})")
        heads = f.positive(e, mid, "num_attention_heads")
        kv_heads = f.positive(e, mid, "num_key_value_heads")
        if heads % kv_heads:
            f.fail(f"{mid}.num_key_value_heads", f"{kv_heads} does not divide num_attention_heads ({heads})")
        dtype = f.value(e, mid, "native_dtype", str)
        if dtype not in NATIVE_DTYPES:
            f.fail(f"{mid}.native_dtype", f"{dtype!r} is not one of {', '.join(sorted(NATIVE_DTYPES))}")
        f.value(e, mid, "architecture", str)
        models[mid] = Model(
            id=mid,
            hf_repo=f.value(e, mid, "hf_repo", str),
            publisher=f.value(e, mid, "publisher", str),
            params_total_b=total,
            params_active_b=None if active is None else float(active),
            num_hidden_layers=f.positive(e, mid, "num_hidden_layers"),
            hidden_size=f.positive(e, mid, "hidden_size"),
            num_attention_heads=heads,
            num_key_value_heads=kv_heads,
            head_dim=f.positive(e, mid, "head_dim"),
            intermediate_size=f.positive(e, mid, "intermediate_size"),
            vocab_size=f.positive(e, mid, "vocab_size", nullable=True),
            max_position_embeddings=f.positive(e, mid, "max_position_embeddings"),
            native_dtype=dtype,
            moe_experts=experts,
            moe_experts_per_token=per_token,
            license=f.value(e, mid, "license", str),
            gated=f.value(e, mid, "gated", bool, nullable=True),
            tool_call_parser=_tool_call_parser(f, e, mid),
        )
    return models


def _tool_call_parser(f: _File, e: dict, mid: str) -> str | None:
    parser = f.value(e, mid, "tool_call_parser", str, nullable=True)
    if parser is not None and parser not in TOOL_CALL_PARSERS:
        f.fail(f"{mid}.tool_call_parser", f"{parser!r} is not one of {', '.join(sorted(TOOL_CALL_PARSERS))}")
    return parser


def _gpus(f: _File) -> dict[str, Gpu]:
    gpus = {}
    seen: dict[tuple[str, str], str] = {}  # (cloud, machine type) -> gpu id
    for gid, raw in f.table(f.data, "(top)").items():
        e = f.entry(raw, gid, {"product", "memory_mib", "memory_nominal_gb", "labels",
                               *(profile(c).catalog.machine_listing for c in CLOUDS)})
        memory = f.positive(e, gid, "memory_mib")
        f.positive(e, gid, "memory_nominal_gb", nullable=True)
        labels = f.table(e["labels"], f"{gid}.labels")
        for name in labels:
            f.value(labels, f"{gid}.labels", name, str, nullable=True)
        if labels.get(_KARPENTER_MEMORY_LABEL) not in (None, str(memory)):
            f.fail(f"{gid}.labels.{_KARPENTER_MEMORY_LABEL}", f"disagrees with memory_mib ({memory})")
        machine_types = []
        for cloud, shape in ((c, profile(c).catalog) for c in CLOUDS):
            listing = shape.machine_listing
            for i, raw_mt in enumerate(f.items(e[listing], f"{gid}.{listing}", allow_empty=True)):
                key = f"{gid}.{listing}[{i}]"
                mt = f.entry(raw_mt, key, set(shape.machine_fields))
                name = f.value(mt, key, "name", str)
                if (cloud, name) in seen:
                    f.fail(f"{key}.name", f"{name!r} is already listed under {seen[(cloud, name)]}")
                seen[(cloud, name)] = gid
                accelerator = f.value(mt, key, "gke_accelerator", str, nullable=True) if shape.accelerator_type else None
                if accelerator and labels.get(_GKE_LABEL) not in (None, accelerator):
                    f.fail(f"{key}.gke_accelerator", f"disagrees with labels.{_GKE_LABEL}")
                machine_types.append(MachineType(
                    cloud=cloud, name=name, gpu=gid,
                    gpu_count=f.positive(mt, key, "gpu_count"),
                    vcpu=f.positive(mt, key, "vcpu") if shape.machine_shape else None,
                    memory_mib=f.positive(mt, key, "memory_mib") if shape.machine_shape else None,
                    gke_accelerator=accelerator,
                ))
        gpus[gid] = Gpu(id=gid, product=f.value(e, gid, "product", str), memory_mib=memory,
                        labels=MappingProxyType(dict(labels)), machine_types=tuple(machine_types))
    return gpus


def _prices(f: _File, regions: dict[tuple[str, str], CloudRegion], gpus: dict[str, Gpu]
            ) -> tuple[dict[str, str], dict[tuple[str, str], float | None]]:
    """Reference region per cloud and the on-demand USD/hour of every catalog machine type (None = not found)."""
    top = f.entry(f.data, "(top)", set(CLOUDS))
    known = {(mt.cloud, mt.name) for gpu in gpus.values() for mt in gpu.machine_types}
    reference_regions, prices = {}, {}
    for cloud in CLOUDS:
        entry = f.entry(top[cloud], cloud, {"reference_region", "on_demand_usd_per_hour"})
        region = f.value(entry, cloud, "reference_region", str)
        if (cloud, region) not in regions:
            f.fail(f"{cloud}.reference_region", f"{region!r} is not a catalog {cloud} region (regions.yaml)")
        reference_regions[cloud] = region
        key = f"{cloud}.on_demand_usd_per_hour"
        table = f.table(entry["on_demand_usd_per_hour"], key)
        for name in table:
            if (cloud, name) not in known:
                f.fail(f"{key}.{name}", f"not a {cloud} machine type in gpus.yaml")
            price = f.value(table, key, name, (int, float), nullable=True)
            if price is not None and not price > 0:
                f.fail(f"{key}.{name}", f"must be > 0 or null, got {price!r}")
            prices[(cloud, name)] = None if price is None else float(price)
        if missing := sorted(name for c, name in known if c == cloud and (c, name) not in prices):
            f.fail(key, f"no entry for {', '.join(missing)} (write null when no price was found)")
    return reference_regions, prices


def _offerings(f: _File, regions: dict[tuple[str, str], CloudRegion], gpus: dict[str, Gpu]
               ) -> dict[tuple[str, str], frozenset[str]]:
    """(cloud, region) -> GPU ids offered there. Every catalog region is either listed under its cloud or named
    under not_verified, so a region added to regions.yaml must be classified here too."""
    top = f.entry(f.data, "(top)", set(CLOUDS) | {"not_verified"})
    unverified = f.entry(top["not_verified"], "not_verified", set(CLOUDS))
    offerings = {}
    for cloud in CLOUDS:
        on_cloud = {gid for gid, gpu in gpus.items() if any(mt.cloud == cloud for mt in gpu.machine_types)}
        for region, listed in f.table(top[cloud], cloud, allow_empty=True).items():
            key = f"{cloud}.{region}"
            if (cloud, region) not in regions:
                f.fail(key, f"{region!r} is not a catalog {cloud} region (regions.yaml)")
            ids = f.items(listed, key, allow_empty=True)
            for i, gid in enumerate(ids):
                if gid not in gpus:
                    f.fail(f"{key}[{i}]", f"{gid!r} is not a GPU id in gpus.yaml")
                if gid not in on_cloud:
                    f.fail(f"{key}[{i}]", f"gpus.yaml has no {cloud} machine type for {gid}")
            if len(set(ids)) != len(ids):
                f.fail(key, "duplicate GPU ids")
            offerings[(cloud, region)] = frozenset(ids)
        key = f"not_verified.{cloud}"
        names = f.items(unverified[cloud], key, allow_empty=True)
        for i, region in enumerate(names):
            if (cloud, region) not in regions:
                f.fail(f"{key}[{i}]", f"{region!r} is not a catalog {cloud} region (regions.yaml)")
            if (cloud, region) in offerings:
                f.fail(f"{key}[{i}]", f"{region} is also listed under {cloud}")
        classified = {name for c, name in offerings if c == cloud} | set(names)
        if missing := sorted(name for c, name in regions if c == cloud and name not in classified):
            f.fail(cloud, f"regions neither listed nor under not_verified: {', '.join(missing)}")
    return offerings


def _kubernetes(f: _File) -> dict[str, Any]:
    """Managed Kubernetes minor versions per cloud with their support dates, and each cloud's upgrade-policy
    setting. Dates must run release < standard_end < extended_end, and a later minor version is released later."""
    top = f.entry(f.data, "(top)", set(CLOUDS))
    versions, policies = {}, {}
    for cloud in CLOUDS:
        entry = f.entry(top[cloud], cloud, {"upgrade_policy", "versions"})
        key = f"{cloud}.upgrade_policy"
        raw = f.entry(entry["upgrade_policy"], key, {"field", "values", "default"})
        values = f.strings(raw["values"], f"{key}.values")
        if len(set(values)) != len(values):
            f.fail(f"{key}.values", "duplicate values")
        default = f.value(raw, key, "default", str, nullable=True)
        if default is not None and default not in values:
            f.fail(f"{key}.default", f"{default!r} is not one of the values")
        policies[cloud] = UpgradePolicy(cloud=cloud, field=f.value(raw, key, "field", str), values=values,
                                        default=default)
        previous: KubernetesVersion | None = None
        for version, raw_version in f.table(entry["versions"], f"{cloud}.versions").items():
            vkey = f"{cloud}.versions.{version}"
            if not _MINOR_VERSION.match(version):
                f.fail(vkey, "must be a Kubernetes minor version written as a string, e.g. '1.34'")
            v = f.entry(raw_version, vkey, {"release", "standard_end", "extended_end"},
                        frozenset({"verified", "note"}))
            verified = f.value(v, vkey, "verified", bool) if "verified" in v else True
            if not verified and "note" not in v:
                f.fail(vkey, "verified: false needs a note saying why")
            if "note" in v:
                f.value(v, vkey, "note", str)
            record = KubernetesVersion(
                cloud=cloud, version=version,
                release=f.date(v, vkey, "release"),
                standard_end=f.date(v, vkey, "standard_end"),
                extended_end=f.date(v, vkey, "extended_end", nullable=True),
                verified=verified,
            )
            if not record.release < record.standard_end:
                f.fail(f"{vkey}.standard_end", "must be after release")
            if record.extended_end is not None and not record.standard_end < record.extended_end:
                f.fail(f"{vkey}.extended_end", "must be after standard_end")
            if previous is not None:
                if int(version.split(".")[1]) != int(previous.version.split(".")[1]) + 1:
                    f.fail(vkey, f"must follow {previous.version} with no minor version skipped")
                if not previous.release < record.release:
                    f.fail(f"{vkey}.release", f"must be after {previous.version}'s release")
            versions[(cloud, version)] = previous = record
    return {"kubernetes_versions": MappingProxyType(versions), "upgrade_policies": MappingProxyType(policies)}


def read_images(path: Path) -> dict[str, Image]:
    """images.yaml at `path`, validated (`sovereign images --record` checks its rewrite before replacing the file)."""
    return _images(_File(path.parent, path.name))


def _images(f: _File) -> dict[str, Image]:
    """The images the program's workloads run: a release tag each (never `latest`), and a digest with the evidence
    it was read from and the day, or none of the three."""
    images = {}
    for image_id, raw in f.table(f.data, "(top)").items():
        e = f.entry(raw, image_id, {"upstream", "repository", "tag", "min_driver", "digest", "evidence", "recorded",
                                    "note"})
        tag = f.value(e, image_id, "tag", str)
        if not _TAG.match(tag) or tag == "latest":
            f.fail(f"{image_id}.tag", f"{tag!r} must be a release tag (not latest)")
        digest = f.value(e, image_id, "digest", str, nullable=True)
        if digest is not None and not _DIGEST.match(digest):
            f.fail(f"{image_id}.digest", f"{digest!r} is not sha256: and 64 lower-case hex digits")
        evidence = f.value(e, image_id, "evidence", str, nullable=True)
        recorded = f.date(e, image_id, "recorded", nullable=True)
        if (digest is None) != (evidence is None) or (digest is None) != (recorded is None):
            f.fail(image_id, "digest, evidence and recorded are given together or all null")
        if evidence is not None and evidence not in EVIDENCE:
            f.fail(f"{image_id}.evidence", f"{evidence!r} is not one of {', '.join(EVIDENCE)}")
        f.value(e, image_id, "note", str, nullable=True)
        images[image_id] = Image(upstream=f.hostname(f.value(e, image_id, "upstream", str), f"{image_id}.upstream"),
                                 repository=f.value(e, image_id, "repository", str), tag=tag, digest=digest,
                                 evidence=evidence, recorded=recorded,
                                 min_driver=f.positive(e, image_id, "min_driver", nullable=True))
    return images


def _gpu_zones(f: _File, regions: dict[tuple[str, str], CloudRegion],
               offerings: dict[tuple[str, str], frozenset[str]]) -> dict[tuple[str, str, str], tuple[str, ...]]:
    """(cloud, region, gpu) -> zones offering it. Every GPU offerings.yaml lists for a region is either given zones
    here or named under not_verified, and nothing else appears."""
    top = f.entry(f.data, "(top)", set(CLOUDS) | {"not_verified"})
    unverified = f.entry(top["not_verified"], "not_verified", set(CLOUDS))
    zones: dict[tuple[str, str, str], tuple[str, ...]] = {}
    for cloud in CLOUDS:
        named: set[tuple[str, str]] = set()
        for region, raw in f.table(unverified[cloud], f"not_verified.{cloud}", allow_empty=True).items():
            for i, gid in enumerate(f.strings(raw, f"not_verified.{cloud}.{region}")):
                named.add((region, gid))
        listed: set[tuple[str, str]] = set()
        for region, by_gpu in f.table(top[cloud], cloud, allow_empty=True).items():
            key = f"{cloud}.{region}"
            if (cloud, region) not in offerings:
                f.fail(key, f"{region!r} has no verified entry in offerings.yaml")
            for gid, raw in f.table(by_gpu, key).items():
                gkey = f"{key}.{gid}"
                if gid not in offerings[(cloud, region)]:
                    f.fail(gkey, f"offerings.yaml does not list {gid} in {region}")
                if (region, gid) in named:
                    f.fail(gkey, "also named under not_verified")
                names = f.strings(raw, gkey)
                if unknown := sorted(set(names) - set(regions[(cloud, region)].zones)):
                    f.fail(gkey, f"{', '.join(unknown)} not among the region's zones in regions.yaml")
                if len(set(names)) != len(names):
                    f.fail(gkey, "duplicate zones")
                listed.add((region, gid))
                zones[(cloud, region, gid)] = tuple(names)
        offered = {(region, gid) for (c, region), gpus in offerings.items() if c == cloud for gid in gpus}
        if stray := sorted(named - offered):
            f.fail(f"not_verified.{cloud}", f"not offered per offerings.yaml: {stray[0][1]} in {stray[0][0]}")
        if missing := sorted(offered - listed - named):
            f.fail(cloud, f"{missing[0][1]} in {missing[0][0]} (offerings.yaml) is neither listed nor under "
                          f"not_verified ({len(missing)} such)")
    return zones
