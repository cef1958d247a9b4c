"""The validated model of one region stack (`stacks/Pulumi.<stack>.yaml`, namespace `sovereign:`).

Pure Python: no Pulumi import. `parse_spec` either returns a RegionSpec or raises InvalidInput with
every problem found, each naming the file, the key path and the fix, so nothing is registered from a
half-valid stack.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..catalog import Catalog, CloudRegion, Model
from ..clouds import CLOUDS, PROFILES
from .errors import InvalidInput, did_you_mean, one_of
from .evidence import CLOUDWATCH_RETENTION_DAYS, DEFAULT_RETENTION_DAYS
from .maintenance import DAYS, DEFAULT_WINDOW, MIN_HOURS_IN_32_DAYS, MaintenanceWindow, hours_in_32_days
from .reader import Reader, get
from .stackfile import is_secure

NAMESPACE = "sovereign"
# Providers whose endpoint hostnames embed a cloud region, and which cloud that region belongs to.
ENDPOINT_REGION_CLOUD = {"aws_bedrock": "aws", "google_vertex_ai": "gcp"}
# `sovereign:apiKeys.gateway`: the key applications present to the region's inference gateway (its
# master key); every other entry of sovereign:apiKeys is a managed-API provider's key.
GATEWAY_KEY = "gateway"
ROUTE53_INTERVALS = (10, 30)  # the only request intervals Route 53 health checks accept
# EKS versions this code is tested with; the default is the newest. Whether one is still in standard support
# on the day of the plan is the reality rule eks-version-in-standard-support (catalog dates).
EKS_VERSIONS = ("1.34", "1.35", "1.36")
GKE_CHANNELS = ("RAPID", "REGULAR", "STABLE")

# Every mapping of a stack's `sovereign:` config and the keys it takes, (required, optional). The readers
# below validate against exactly these, and the README's key reference is generated from them
# (sovereign/domain/stack_keys.py), so the two cannot drift.
KEYS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sovereign:": (("region", "clouds", "models"), ("jurisdiction", "managedApis", "dr", "apiKeys", "drill",
                                                    "drillPhase", "maintenance", "logRetentionDays")),
    "sovereign:maintenance": ((), ("days", "startHour", "hours")),
    **{f"sovereign:clouds.{p.id}": (p.required_keys, p.optional_keys) for p in PROFILES.values()},
    "sovereign:clouds.aws.capacityReservations[]": (("gpu", "id", "zone"), ("block",)),
    **{f"sovereign:clouds.{p.id}.registryCredentials": (tuple(m.credentials for m in p.mirrors if m.credentials), ())
       for p in PROFILES.values() if "registryCredentials" in p.optional_keys},
    "sovereign:models[]": (("id",), ("replicas", "contextLength", "maxConcurrency", "gpus")),
    "sovereign:models[].replicas": (("max",), ("min",)),
    "sovereign:managedApis[]": (("provider", "models"), ("endpointRegion", "resource")),
    "sovereign:managedApis[].models[]": (("name", "fallback"), ()),
    "sovereign:jurisdiction": (("countries", "reason"), ()),
    "sovereign:dr": ((), ("healthCheckIntervalSeconds", "failureThreshold", "dnsTtlSeconds", "minReplicas", "domain",
                          "globalZoneId", "serves", "default", "drillCapacity", "sourceRanges")),
}


def _keys(path: str) -> dict[str, tuple[str, ...]]:
    required, optional = KEYS[path]
    return {"required": required, "optional": optional}


_DNS_LABEL = re.compile(r"^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$")
_GCP_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_AWS_ACCOUNT = re.compile(r"^[0-9]{12}$")
_AZURE_RESOURCE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ZONE_ID = re.compile(r"^Z[A-Z0-9]{4,31}$")
_RESERVATION_ID = re.compile(r"^cr-[0-9a-f]{8,17}$")
_IAM_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$")
# ECR's pull-through cache takes credentials from Secrets Manager secrets named ecr-pullthroughcache/…
# (CreatePullThroughCacheRule, credentialArn).
_PULL_THROUGH_SECRET_ARN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:ecr-pullthroughcache/[a-zA-Z0-9/_+=.@-]+$")


@dataclass(frozen=True)
class Jurisdiction:
    countries: tuple[str, ...]  # sorted ISO codes the region's data is processed in
    derived: bool               # True when taken from the cloud regions
    reason: str | None          # required when overridden


@dataclass(frozen=True)
class CloudSpec:
    cloud: str                  # "aws" | "gcp"
    region: CloudRegion
    project: str | None         # GCP project id
    account_id: str | None      # AWS account the provider is pinned to
    api_access_cidrs: tuple[str, ...] = ()  # who may reach the public API endpoint; () = private only
    spot: bool = False          # GPU capacity on spot / preemptible VMs
    kubernetes_version: str | None = None   # EKS version (GKE follows its release channel)
    release_channel: str | None = None      # GKE release channel
    admin_role_arn: str | None = None       # IAM role granted cluster-admin through an EKS access entry
    offered_gpus: tuple[str, ...] = ()      # declared by the stack where the catalog has no verified offerings
    reservations: tuple[Reservation, ...] = ()   # capacity reserved per GPU type (AWS)
    # (`registryCredentials` key, Secrets Manager ARN of an upstream registry's credentials): AWS's mirrors
    registry_credentials: tuple[tuple[str, str], ...] = ()
    # The mirrors are repositories the stack creates and an operator fills (AWS China always; elsewhere by choice,
    # for images pinned by digest), not pull-through caches.
    prefilled_mirror: bool = False

    def credential(self, key: str) -> str | None:
        return dict(self.registry_credentials).get(key)

    def reservation(self, gpu: str) -> Reservation | None:
        return next((r for r in self.reservations if r.gpu == gpu), None)

    def gpus_offered(self, catalog: Catalog) -> frozenset[str] | None:
        """The catalog's verified offerings in this region, else what the stack declares; None: neither knows."""
        verified = catalog.offered_gpus(self.cloud, self.region.name)
        if verified is not None:
            return verified
        return frozenset(self.offered_gpus) if self.offered_gpus else None


@dataclass(frozen=True)
class Reservation:
    """Capacity the account has reserved for one GPU type's pool: an On-Demand Capacity Reservation or an EC2
    Capacity Block for ML (`block`), in one zone."""
    gpu: str
    id: str
    zone: str
    block: bool = False


@dataclass(frozen=True)
class Replicas:
    min: int
    max: int


@dataclass(frozen=True)
class ModelSpec:
    id: str
    model: Model
    replicas: Replicas          # per cluster
    context_length: int         # tokens per sequence the server must hold
    max_concurrency: int        # sequences in flight per replica
    gpus: tuple[str, ...] = ()  # GPU types the model may run on; () = any the region offers


@dataclass(frozen=True)
class ManagedModel:
    name: str                   # the provider's model name, e.g. "gpt-4.1"
    fallback: str               # open-weight model id this region serves


@dataclass(frozen=True)
class ManagedApiRequest:
    provider: str
    models: tuple[ManagedModel, ...]
    endpoint_region: str | None  # region embedded in Bedrock / Vertex hostnames
    resource: str | None         # Azure OpenAI resource name


@dataclass(frozen=True)
class DrSpec:
    health_check_interval_s: int
    failure_threshold: int
    dns_ttl_s: int
    min_replicas: int           # per model, the floor any single surviving cloud must serve
    domain: str | None = None   # parent DNS domain of the failover names; None = no failover DNS
    global_zone_id: str | None = None  # existing Route 53 zone of `domain`, for the global name
    serves: tuple[str, ...] = ()       # client countries the global name routes here; () = jurisdiction
    default: bool = False              # the global name's answer for every other country
    drill_capacity: Mapping[str, int] = field(default_factory=dict)  # model id → replicas per survivor
    source_ranges: tuple[str, ...] = ()  # clients that may reach the public gateway endpoints; () = anyone

    @property
    def worst_case_failover_s(self) -> int:
        """Detection (interval x threshold) plus resolvers holding the old answer for one TTL."""
        return self.health_check_interval_s * self.failure_threshold + self.dns_ttl_s


@dataclass(frozen=True)
class RegionSpec:
    stack: str
    file: str
    name: str
    jurisdiction: Jurisdiction
    clouds: tuple[CloudSpec, ...]
    models: tuple[ModelSpec, ...]
    managed_apis: tuple[ManagedApiRequest, ...]
    dr: DrSpec
    drill: str | None = None    # the cloud a DR drill tears down (`sovereign:drill`)
    # How far the drill has gone (`sovereign:drillPhase`): "release" — survivors at drill capacity, DNS on them,
    # the downed cloud's protections lifted and what its controllers made outside Pulumi removed; "teardown" — the
    # downed cloud gone. None without a drill.
    drill_phase: str | None = None
    # Entries of `sovereign:apiKeys` set as Pulumi secrets: provider ids, and GATEWAY_KEY for the
    # gateway's own key. Which ones, never the values: the program reads those as secret Outputs
    # straight into a Kubernetes Secret.
    api_keys: tuple[str, ...] = ()
    maintenance: MaintenanceWindow = DEFAULT_WINDOW   # when GKE may upgrade nodes on its own (UTC)
    log_retention_days: int = DEFAULT_RETENTION_DAYS   # flow, DNS query and control-plane logs

    def cloud(self, name: str) -> CloudSpec | None:
        return next((c for c in self.clouds if c.cloud == name), None)

    def request(self, provider: str) -> ManagedApiRequest | None:
        return next((r for r in self.managed_apis if r.provider == provider), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view for snapshots and diffs (catalog objects reduced to their ids)."""
        return {
            "stack": self.stack,
            "region": self.name,
            "jurisdiction": {"countries": list(self.jurisdiction.countries),
                             "derived": self.jurisdiction.derived, "reason": self.jurisdiction.reason},
            "clouds": [{"cloud": c.cloud, "region": c.region.name, "country": c.region.country,
                        "project": c.project, "accountId": c.account_id, "apiAccessCidrs": list(c.api_access_cidrs),
                        "spot": c.spot, "kubernetesVersion": c.kubernetes_version,
                        "releaseChannel": c.release_channel, "adminRoleArn": c.admin_role_arn,
                        "offeredGpus": list(c.offered_gpus),
                        "capacityReservations": [{"gpu": r.gpu, "id": r.id, "zone": r.zone, "block": r.block}
                                                 for r in c.reservations],
                        "registryCredentials": dict(c.registry_credentials),
                        **({"imageMirror": IMAGE_MIRRORS[c.prefilled_mirror]}
                           if "imageMirror" in PROFILES[c.cloud].optional_keys else {})}
                       for c in self.clouds],
            "models": [{"id": m.id, "replicas": {"min": m.replicas.min, "max": m.replicas.max},
                        "contextLength": m.context_length, "maxConcurrency": m.max_concurrency,
                        "gpus": list(m.gpus)}
                       for m in self.models],
            "managedApis": [{"provider": r.provider, "endpointRegion": r.endpoint_region,
                             "resource": r.resource,
                             "models": [{"name": m.name, "fallback": m.fallback} for m in r.models]}
                            for r in self.managed_apis],
            "apiKeys": list(self.api_keys),
            "dr": {"healthCheckIntervalSeconds": self.dr.health_check_interval_s,
                   "failureThreshold": self.dr.failure_threshold, "dnsTtlSeconds": self.dr.dns_ttl_s,
                   "minReplicas": self.dr.min_replicas,
                   "worstCaseFailoverSeconds": self.dr.worst_case_failover_s, "domain": self.dr.domain,
                   "globalZoneId": self.dr.global_zone_id, "serves": list(self.dr.serves),
                   "default": self.dr.default, "drillCapacity": dict(sorted(self.dr.drill_capacity.items())),
                   "sourceRanges": list(self.dr.source_ranges)},
            "drill": self.drill, "drillPhase": self.drill_phase,
            "maintenance": self.maintenance.to_dict(),
            "logRetentionDays": self.log_retention_days,
        }


def parse_spec(config: Mapping[str, Any], stack: str, file: str, catalog: Catalog) -> RegionSpec:
    """Validate a stack's whole `config:` mapping (namespaced keys) into a RegionSpec."""
    r = Reader(file)
    ours = _split_namespaces(r, config)
    region = r.string(get(ours, "region"), "sovereign:region")
    if region is not None and not _DNS_LABEL.match(region):
        r.error("sovereign:region", f"'{region}' is not usable in resource and DNS names",
                "use lower-case letters, digits and '-', starting with a letter, at most 32 characters")
    clouds = _clouds(r, get(ours, "clouds"), catalog)
    models = _models(r, get(ours, "models"), catalog)
    if "models" in ours and ours["models"] is None:
        r.error("sovereign:models", "empty: the region would serve no open-weight model",
                "list at least one `- id: <model>`")
    if models and all(m.replicas.min == 0 for m in models):
        # The gateway is ready only while a local model server is (its readiness probe): with none running it takes
        # no request, so nothing would ever wake a model, and failover DNS would count the cluster down.
        r.error("sovereign:models", "every model scales to zero: the gateway would never be ready to wake one",
                "keep replicas.min ≥ 1 for at least one model")
    # Until every listed model is valid the served set is unknown; fallback errors would only echo it.
    listed = get(ours, "models")
    served = {m.id for m in models} if isinstance(listed, list) and len(models) == len(listed) else None
    apis = _managed_apis(r, get(ours, "managedApis", []), catalog, served, clouds if "clouds" in ours else None)
    jurisdiction = _jurisdiction(r, get(ours, "jurisdiction"), clouds, catalog)
    dr = _dr(r, get(ours, "dr", {}), catalog, {m.id for m in models})
    drill = _drill(r, get(ours, "drill"), clouds, region)
    phase = _drill_phase(r, get(ours, "drillPhase"), drill)
    api_keys = _api_keys(r, get(ours, "apiKeys"), catalog, get(ours, "managedApis", []))
    maintenance = _maintenance(r, get(ours, "maintenance"))
    retention = get(ours, "logRetentionDays", DEFAULT_RETENTION_DAYS)
    if retention not in CLOUDWATCH_RETENTION_DAYS or isinstance(retention, bool):
        shown = repr(retention) if isinstance(retention, str) else retention
        r.error("sovereign:logRetentionDays", f"{shown} is not a retention CloudWatch Logs takes",
                f"use one of: {', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))}")
    if r.errors:
        raise InvalidInput(r.errors)
    return RegionSpec(stack=stack, file=file, name=region, jurisdiction=jurisdiction, clouds=clouds,
                      models=models, managed_apis=apis, dr=dr, api_keys=api_keys, drill=drill,
                      drill_phase=phase, maintenance=maintenance, log_retention_days=retention)


def _maintenance(r: Reader, value: Any) -> MaintenanceWindow:
    key = "sovereign:maintenance"
    if value is None:
        return DEFAULT_WINDOW
    body = r.mapping(value, key, **_keys(key)) or {}
    days = r.string_list(get(body, "days", list(DEFAULT_WINDOW.days)), f"{key}.days", DAYS)
    start = r.integer(get(body, "startHour", DEFAULT_WINDOW.start_hour), f"{key}.startHour", 0, 23)
    hours = r.integer(get(body, "hours", DEFAULT_WINDOW.hours), f"{key}.hours", 4, 24)
    if "days" in body and isinstance(body["days"], list) and not body["days"]:
        r.error(f"{key}.days", "empty: GKE would never upgrade", "list the days, e.g. [SA, SU]")
    if not days or start is None or hours is None:
        return DEFAULT_WINDOW
    window = MaintenanceWindow(tuple(sorted(set(days), key=DAYS.index)), start, hours)
    if hours_in_32_days(len(window.days), hours) < MIN_HOURS_IN_32_DAYS:
        r.error(key, f"{len(window.days)} day(s) × {hours} h a week leave {hours_in_32_days(len(window.days), hours)} "
                f"h in some 32 days; GKE requires {MIN_HOURS_IN_32_DAYS}", "add days or lengthen the window")
    return window


def _split_namespaces(r: Reader, config: Mapping[str, Any]) -> dict[str, Any]:
    ours: dict[str, Any] = {}
    for key, value in config.items():
        namespace, _, name = str(key).partition(":")
        if namespace == NAMESPACE:
            ours[name] = value
        elif namespace != "pulumi":  # project-level keys, checked with the stack file
            r.error(key, "this program reads no such key", "remove it, or move it under `sovereign:`")
    r.mapping(ours, f"{NAMESPACE}:", **_keys("sovereign:"))
    return ours


def _clouds(r: Reader, value: Any, catalog: Catalog) -> tuple[CloudSpec, ...]:
    key = "sovereign:clouds"
    if value is None:
        return ()
    clouds = r.mapping(value, key, optional=CLOUDS)
    if clouds is None:
        return ()
    if not clouds:
        r.error(key, "no cloud declared", "declare `aws:` and/or `gcp:` with their `region:`")
    specs = []
    for cloud in CLOUDS:
        if cloud not in clouds:
            continue
        ck = f"{key}.{cloud}"
        body = r.mapping(clouds[cloud], ck, **_keys(ck))
        if body is None:
            continue
        # Each cloud reads the keys its profile declares; a key of the other cloud is reported as unknown.
        keys = {*KEYS[ck][0], *KEYS[ck][1]}
        name = r.string(body["region"], f"{ck}.region", catalog.region_names(cloud)) if "region" in body else None
        project = account = admin = None
        if "project" in body:
            project = r.string(body["project"], f"{ck}.project")
            if project and not _GCP_PROJECT.match(project):
                r.error(f"{ck}.project", f"'{project}' is not a valid GCP project id",
                        "use 6-30 lower-case letters, digits or '-', starting with a letter")
        if "accountId" in body:
            account = str(body["accountId"])
            if not _AWS_ACCOUNT.match(account):
                r.error(f"{ck}.accountId", f"'{account}' is not a 12-digit AWS account id",
                        "quote the 12 digits, e.g. accountId: \"123456789012\"")
        if "adminRoleArn" in body:
            admin = r.string(body["adminRoleArn"], f"{ck}.adminRoleArn")
            if admin and not _IAM_ROLE_ARN.match(admin):
                r.error(f"{ck}.adminRoleArn", f"'{admin}' is not an IAM role ARN",
                        "use arn:<partition>:iam::<account>:role/<name>")
        cidrs = _cidrs(r, get(body, "apiAccessCidrs", []), f"{ck}.apiAccessCidrs")
        spot = get(body, "spot", False)
        if not isinstance(spot, bool):
            r.error(f"{ck}.spot", f"expected true or false, got {spot!r}", "write true or false")
        version = r.string(get(body, "kubernetesVersion", EKS_VERSIONS[-1]), f"{ck}.kubernetesVersion",
                           EKS_VERSIONS) if "kubernetesVersion" in keys else None
        channel = r.string(get(body, "releaseChannel", "REGULAR"), f"{ck}.releaseChannel",
                           GKE_CHANNELS) if "releaseChannel" in keys else None
        offered = _offered_gpus(r, body, ck, cloud, name, catalog) if name is not None else ()
        reserved = _reservations(r, get(body, "capacityReservations", []), ck, cloud, name, catalog) \
            if name is not None else ()
        partition = catalog.region(cloud, name).partition if name else None
        prefilled = _prefilled_mirror(r, body, ck, cloud, partition)
        credentials = _registry_credentials(r, body, ck, cloud, name, prefilled)
        if name is not None:
            specs.append(CloudSpec(cloud, catalog.region(cloud, name), project, account, cidrs, spot is True,
                                   version, channel, admin, offered, reserved, credentials, prefilled is True))
    return tuple(specs)


IMAGE_MIRRORS = ("pullThrough", "prefilled")


def _prefilled_mirror(r: Reader, body: dict, ck: str, cloud: str, partition: str | None) -> bool | None:
    """Whether the cluster's mirrors are repositories filled beforehand: where the cloud cannot pull through, or as
    the stack chooses (`imageMirror: prefilled`, so pods may name every image by digest). None: not readable."""
    forced = partition in PROFILES[cloud].prefilled_partitions
    if "imageMirror" not in body:
        return forced
    chosen = r.string(body["imageMirror"], f"{ck}.imageMirror", IMAGE_MIRRORS)
    if forced and chosen == "pullThrough":
        r.error(f"{ck}.imageMirror", f"{partition} has no pull-through cache", "write prefilled, or remove the key")
    return None if chosen is None else forced or chosen == "prefilled"


def _registry_credentials(r: Reader, body: dict, ck: str, cloud: str, region: str | None, prefilled: bool | None
                          ) -> tuple[tuple[str, str], ...]:
    """The upstream registries' credentials the cloud's mirrors need: Secrets Manager ARNs, never the secrets."""
    needed = [m for m in PROFILES[cloud].mirrors if m.credentials]
    if prefilled is None:        # the mirror's kind is already an error: whether credentials are due is unknown
        return ()
    if prefilled:
        if "registryCredentials" in body:
            r.error(f"{ck}.registryCredentials", "no pull-through cache uses them: the mirrors are repositories "
                    "filled beforehand (README, Images)", "remove registryCredentials")
        return ()
    if not needed:
        return ()
    key = f"{ck}.registryCredentials"
    if "registryCredentials" not in body:
        r.error(key, f"missing: the cluster pulls {', '.join(m.upstream for m in needed)} images through ECR "
                "pull-through caches, which need the registries' credentials",
                "store each as a Secrets Manager secret named ecr-pullthroughcache/<name> ({\"username\", "
                "\"accessToken\"}) and set " + ", ".join(f"{key}.{m.credentials}" for m in needed) + " to its ARN")
        return ()
    mapping = r.mapping(body["registryCredentials"], key, **_keys(f"sovereign:clouds.{cloud}.registryCredentials"))
    found = []
    for name, value in (mapping or {}).items():
        arn = r.string(value, f"{key}.{name}")
        if arn is not None and not _PULL_THROUGH_SECRET_ARN.match(arn):
            r.error(f"{key}.{name}", f"'{arn}' is not a Secrets Manager ARN named ecr-pullthroughcache/…",
                    "use arn:<partition>:secretsmanager:<region>:<account>:secret:ecr-pullthroughcache/<name>-<suffix>")
        elif arn is not None and region is not None and arn.split(":")[3] != region:
            # ECR reads a cache rule's credentials from its own region only.
            r.error(f"{key}.{name}", f"the secret is in {arn.split(':')[3]}, the cluster's ECR in {region}",
                    f"store the secret in {region} and name that ARN")
        elif arn is not None:
            found.append((name, arn))
    return tuple(sorted(found))


def _offered_gpus(r: Reader, body: dict, ck: str, cloud: str, region: str, catalog: Catalog) -> tuple[str, ...]:
    """GPUs the stack declares offered: only where the catalog has no verified fact (it never overrides one)."""
    verified = catalog.offered_gpus(cloud, region)
    if "offeredGpus" not in body:
        return ()
    if verified is not None:
        r.error(f"{ck}.offeredGpus", f"the catalog knows what {region} offers "
                f"({', '.join(sorted(verified)) or 'none of its GPUs'})", "remove offeredGpus")
        return ()
    on_cloud = sorted(g for g, gpu in catalog.gpus.items() if any(m.cloud == cloud for m in gpu.machine_types))
    return r.string_list(body["offeredGpus"], f"{ck}.offeredGpus", on_cloud)


def _reservations(r: Reader, value: Any, ck: str, cloud: str, region: str,
                  catalog: Catalog) -> tuple[Reservation, ...]:
    """One reservation per GPU type, in a zone of the region, by its EC2 id (cr-…)."""
    key = f"{ck}.capacityReservations"
    found: list[Reservation] = []
    gpus = sorted(g for g, gpu in catalog.gpus.items() if any(m.cloud == cloud for m in gpu.machine_types))
    for i, item in enumerate(r.sequence(value, key) or ()):
        ik = f"{key}[{i}]"
        body = r.mapping(item, ik, **_keys(f"{ck}.capacityReservations[]"))
        if body is None or not {"gpu", "id", "zone"} <= body.keys():
            continue
        gpu = r.string(body["gpu"], f"{ik}.gpu", gpus)
        rid = r.string(body["id"], f"{ik}.id")
        if rid and not _RESERVATION_ID.match(rid):
            r.error(f"{ik}.id", f"'{rid}' is not a capacity reservation id", "copy it from EC2, e.g. cr-0123456789abcdef0")
        zone = r.string(body["zone"], f"{ik}.zone", catalog.region(cloud, region).zones)
        block = get(body, "block", False)
        if not isinstance(block, bool):
            r.error(f"{ik}.block", f"expected true or false, got {block!r}", "write true for a Capacity Block")
        if gpu and any(f.gpu == gpu for f in found):
            r.error(f"{ik}.gpu", f"a second reservation for {gpu}", "one reservation per GPU type; list it once")
        elif gpu and rid and zone:
            found.append(Reservation(gpu, rid, zone, block is True))
    return tuple(found)


def _cidrs(r: Reader, value: Any, key: str, what: str = "opens the Kubernetes API to the whole internet",
           fix: str = "list the networks your operators and CI deploy from") -> tuple[str, ...]:
    cidrs = []
    for i, item in enumerate(r.string_list(value, key)):
        try:
            network = ipaddress.ip_network(item, strict=True)
        except ValueError:
            r.error(f"{key}[{i}]", f"'{item}' is not a CIDR block", "write it like 203.0.113.0/24")
            continue
        if network.prefixlen == 0:
            r.error(f"{key}[{i}]", what, fix)
            continue
        cidrs.append(str(network))
    return tuple(cidrs)


def _models(r: Reader, value: Any, catalog: Catalog) -> tuple[ModelSpec, ...]:
    key = "sovereign:models"
    if value is None:  # absent (reported as missing) or written with nothing after it
        return ()
    items = r.sequence(value, key, min_items=1)
    specs: list[ModelSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(items or ()):
        mk = f"{key}[{i}]"
        body = r.mapping(item, mk, **_keys("sovereign:models[]"))
        if body is None or "id" not in body:
            continue
        model_id = r.string(body["id"], f"{mk}.id", catalog.models)
        if model_id is None:
            continue
        if model_id in seen:
            r.error(f"{mk}.id", f"model '{model_id}' is listed twice", "keep one entry per model")
            continue
        seen.add(model_id)
        model = catalog.models[model_id]
        replicas = _replicas(r, get(body, "replicas", 1), f"{mk}.replicas")
        context = r.integer(get(body, "contextLength", min(8192, model.max_position_embeddings)),
                            f"{mk}.contextLength", 256, model.max_position_embeddings)
        concurrency = r.integer(get(body, "maxConcurrency", 16), f"{mk}.maxConcurrency", 1, 1024)
        gpus = r.string_list(get(body, "gpus", []), f"{mk}.gpus", catalog.gpus)
        if replicas and context and concurrency:
            specs.append(ModelSpec(model_id, model, replicas, context, concurrency, gpus))
    return tuple(specs)


def _replicas(r: Reader, value: Any, key: str) -> Replicas | None:
    """Replicas per cluster: a fixed count of at least one, or `{min, max}`. `min: 0` scales the model to zero
    between requests (the gateway's requests for it wake it: elastic.demand_query); a fixed `0` would leave its
    name answered by a Service with no pods."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value == 0:
            r.error(key, "0 replicas: nothing would serve the model",
                    "use 1 or more, `{min: 0, max: N}` to scale it to zero between requests, or remove the model")
            return None
        n = r.integer(value, key, 1, 64)
        return None if n is None else Replicas(n, n)
    body = r.mapping(value, key, **_keys("sovereign:models[].replicas"))
    if body is None or "max" not in body:
        return None
    low = r.integer(get(body, "min", 1), f"{key}.min", 0, 64)
    high = r.integer(body["max"], f"{key}.max", 1, 64)
    if low is None or high is None:
        return None
    if low > high:
        r.error(key, f"min {low} is above max {high}", "set min ≤ max")
        return None
    return Replicas(low, high)


def _managed_apis(r: Reader, value: Any, catalog: Catalog, served: set[str] | None,
                  clouds: tuple[CloudSpec, ...] | None) -> tuple[ManagedApiRequest, ...]:
    key = "sovereign:managedApis"
    items = r.sequence(value, key)
    requests: list[ManagedApiRequest] = []
    seen: set[str] = set()
    for i, item in enumerate(items or ()):
        ak = f"{key}[{i}]"
        body = r.mapping(item, ak, **_keys("sovereign:managedApis[]"))
        if body is None or "provider" not in body:
            continue
        provider = r.string(body["provider"], f"{ak}.provider", catalog.providers)
        if provider is None:
            continue
        if provider in seen:
            r.error(f"{ak}.provider", f"'{provider}' is requested twice", "merge its models into one entry")
            continue
        seen.add(provider)
        models = _managed_models(r, get(body, "models"), f"{ak}.models", served)
        endpoint_region = _endpoint_region(r, provider, get(body, "endpointRegion"), ak, catalog, clouds)
        resource = None
        if provider == "azure_openai":
            resource = r.string(get(body, "resource"), f"{ak}.resource") if "resource" in body else None
            if "resource" not in body:
                r.error(f"{ak}.resource", "missing: Azure OpenAI endpoints are per resource",
                        "set `resource:` to the Azure OpenAI resource name ({resource}.openai.azure.com)")
            elif resource and not _AZURE_RESOURCE.match(resource):
                r.error(f"{ak}.resource", f"'{resource}' is not a valid resource name",
                        "use lower-case letters, digits and '-'")
        elif "resource" in body:
            r.error(f"{ak}.resource", f"'{provider}' has no per-resource endpoint", "remove `resource:`")
        if models is not None:
            requests.append(ManagedApiRequest(provider, models, endpoint_region, resource))
    return tuple(requests)


def _managed_models(r: Reader, value: Any, key: str, served: set[str] | None) -> tuple[ManagedModel, ...] | None:
    items = r.sequence(value, key, min_items=1)
    if items is None:
        return None
    models = []
    for j, item in enumerate(items):
        mk = f"{key}[{j}]"
        body = r.mapping(item, mk, **_keys("sovereign:managedApis[].models[]"))
        if body is None or not {"name", "fallback"} <= set(body):
            continue
        name = r.string(body["name"], f"{mk}.name")
        fallback = r.string(body["fallback"], f"{mk}.fallback")
        if fallback is not None and served is not None and fallback not in served:
            r.error(f"{mk}.fallback", f"'{fallback}' is not served by this region",
                    f"name one of the region's models ({', '.join(sorted(served)) or 'none declared'}) "
                    "or add it to sovereign:models")
            continue
        if name and fallback:
            models.append(ManagedModel(name, fallback))
    return tuple(models)


def _endpoint_region(r: Reader, provider: str, value: Any, key: str, catalog: Catalog,
                     clouds: tuple[CloudSpec, ...] | None) -> str | None:
    cloud = ENDPOINT_REGION_CLOUD.get(provider)
    if cloud is None:
        if value is not None:
            r.error(f"{key}.endpointRegion", f"'{provider}' endpoints carry no cloud region",
                    "remove `endpointRegion:`")
        return None
    if value is not None:
        return r.string(value, f"{key}.endpointRegion", catalog.region_names(cloud))
    own = next((c for c in clouds or () if c.cloud == cloud), None)
    if own is None and clouds is not None:
        r.error(f"{key}.endpointRegion", f"missing: '{provider}' endpoints are per {cloud} region and "
                f"this stack runs no {cloud} cloud", f"set `endpointRegion:` to a {cloud} region")
    return own.region.name if own else None


def _api_keys(r: Reader, value: Any, catalog: Catalog, managed_apis: Any) -> tuple[str, ...]:
    """`sovereign:apiKeys`: provider (or GATEWAY_KEY) → Pulumi secret. Only which entries are set is
    kept; a value is never read, compared or echoed, so no error message can carry a key."""
    key = "sovereign:apiKeys"
    if value is None:
        return ()
    if is_secure(value):
        r.error(key, "the whole mapping is one secret, so the program cannot tell which providers are keyed",
                "set one secret per provider: `pulumi config set --secret --path 'sovereign:apiKeys.<provider>' "
                "<key>`")
        return ()
    body = r.table(value, key)
    if body is None:
        return ()
    # Providers named under managedApis, read raw so a typo there is reported once, not here again.
    requested = {item.get("provider") for item in managed_apis
                 if isinstance(item, Mapping) and isinstance(item.get("provider"), str)} \
        if isinstance(managed_apis, list) else set()
    names = (*catalog.providers, GATEWAY_KEY)
    keyed = []
    for provider, secret in body.items():
        pk = f"{key}.{provider}"
        if provider not in names:
            r.error(pk, f"unknown provider '{provider}'{did_you_mean(provider, names)}",
                    f"use one of: {one_of(names)}")
        elif not is_secure(secret):
            r.error(pk, "the API key is not a Pulumi secret: it would sit in plaintext in the stack file, "
                    "the state and every plan", f"delete it from the file and run `pulumi config set --secret "
                    f"--path '{pk}' <key>` (the stack file then holds `{provider}: {{secure: ...}}`)")
        elif provider != GATEWAY_KEY and provider not in requested:
            r.error(pk, f"a key for '{provider}', which this stack does not request",
                    f"remove it, or request '{provider}' under sovereign:managedApis")
        else:
            keyed.append(provider)
    return tuple(sorted(keyed))


def _jurisdiction(r: Reader, value: Any, clouds: tuple[CloudSpec, ...], catalog: Catalog) -> Jurisdiction:
    derived = tuple(sorted({c.region.country for c in clouds}))
    if value is None:
        return Jurisdiction(derived, True, None)
    key = "sovereign:jurisdiction"
    body = r.mapping(value, key, **_keys("sovereign:jurisdiction"))
    if body is None:
        return Jurisdiction(derived, True, None)
    countries = r.string_list(get(body, "countries", []), f"{key}.countries", catalog.known_countries())
    reason = r.string(get(body, "reason"), f"{key}.reason") if "reason" in body else None
    if "countries" in body and not countries:
        r.error(f"{key}.countries", "empty", "list the ISO country codes whose rules apply")
    return Jurisdiction(tuple(sorted(set(countries))), False, reason)


def _drill(r: Reader, value: Any, clouds: tuple[CloudSpec, ...], region: str | None) -> str | None:
    if value is None:
        return None
    down = r.string(value, "sovereign:drill", CLOUDS)
    if down and down not in {c.cloud for c in clouds}:
        r.error("sovereign:drill", f"{down} is not one of this region's clouds",
                f"tear down one of: {', '.join(c.cloud for c in clouds)}")
    elif down and len(clouds) == 1:
        r.error("sovereign:drill", f"tearing down {down} leaves {region} with no serving cloud",
                "a single-cloud region cannot be drilled; declare a second cloud under sovereign:clouds")
    return down


DRILL_PHASES = ("release", "teardown")


def _drill_phase(r: Reader, value: Any, drill: str | None) -> str | None:
    """The drill's phase: teardown unless said otherwise; none without a drill."""
    if value is None:
        return DRILL_PHASES[-1] if drill else None
    phase = r.string(value, "sovereign:drillPhase", DRILL_PHASES)
    if phase and drill is None:
        r.error("sovereign:drillPhase", "a drill phase without sovereign:drill", "set sovereign:drill to the cloud "
                "the drill tears down, or remove sovereign:drillPhase")
    return phase


def _dr(r: Reader, value: Any, catalog: Catalog, served: set[str]) -> DrSpec:
    key = "sovereign:dr"
    body = r.mapping(value, key, **_keys("sovereign:dr")) or {}
    domain = r.string(body["domain"], f"{key}.domain") if "domain" in body else None
    if domain and not _DNS_NAME.match(domain):
        r.error(f"{key}.domain", f"'{domain}' is not a DNS name", "write it like sovereign.example.com")
    zone = r.string(body["globalZoneId"], f"{key}.globalZoneId") if "globalZoneId" in body else None
    if zone and not _ZONE_ID.match(zone):
        r.error(f"{key}.globalZoneId", f"'{zone}' is not a Route 53 hosted zone id", "copy it from the zone, e.g. Z0123456789ABCDEFGHIJ")
    if zone and not domain:
        r.error(f"{key}.globalZoneId", "set without dr.domain", "set dr.domain to the zone's domain")
    if domain and "globalZoneId" not in body:
        r.error(f"{key}.globalZoneId", "missing: the public endpoints serve TLS only, with certificates validated in "
                f"the region's zone under {domain}, which the domain's own zone must delegate",
                f"set it to the Route 53 hosted zone of {domain}: the stack writes the delegation")
    serves = r.string_list(get(body, "serves", []), f"{key}.serves", catalog.known_countries())
    default = get(body, "default", False)
    if not isinstance(default, bool):
        r.error(f"{key}.default", f"expected true or false, got {default!r}", "write true or false")
    capacity = {}
    for model_id, replicas in (r.table(get(body, "drillCapacity", {}), f"{key}.drillCapacity") or {}).items():
        if model_id not in served:
            r.error(f"{key}.drillCapacity.{model_id}", "not a model this region serves",
                    f"use one of: {', '.join(sorted(served))}")
        elif (n := r.integer(replicas, f"{key}.drillCapacity.{model_id}", 0, 64)) is not None:
            capacity[model_id] = n
    interval = get(body, "healthCheckIntervalSeconds", 10)
    if interval not in ROUTE53_INTERVALS:
        r.error(f"{key}.healthCheckIntervalSeconds", f"{interval!r} is not a health-check interval",
                "use 10 or 30 (the intervals Route 53 health checks support)")
    threshold = r.integer(get(body, "failureThreshold", 3), f"{key}.failureThreshold", 1, 10)
    ttl = r.integer(get(body, "dnsTtlSeconds", 30), f"{key}.dnsTtlSeconds", 5, 3600)
    floor = r.integer(get(body, "minReplicas", 1), f"{key}.minReplicas", 1, 64)
    sources = _cidrs(r, get(body, "sourceRanges", []), f"{key}.sourceRanges", "admits every client: the same as no "
                     "sourceRanges", "list your clients' networks, or leave sourceRanges out")
    if sources and not domain:
        r.error(f"{key}.sourceRanges", "source ranges without public endpoints (no dr.domain)",
                "set dr.domain, or remove sourceRanges")
    return DrSpec(interval if interval in ROUTE53_INTERVALS else 10, threshold or 3, ttl or 30, floor or 1,
                  domain, zone, serves, default is True, capacity, sources)
