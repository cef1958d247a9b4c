"""The project's one Pulumi mocks implementation: realistic, deterministic cloud answers offline.

IDs, ARNs, endpoints and availability zones are derived from the resource's name, its explicit
provider's region/project and the catalog, so two runs give byte-identical graphs and the values look
like what AWS and GCP return. A resource type or invoke with no entry in `OUTPUTS` / `CALLS` gets a
generic id; an unknown invoke fails loudly so a missing mock is never a silent empty answer.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

import pulumi

from ..catalog import Catalog

MOCK_AWS_ACCOUNT = "111122223333"  # AWS documentation's example account id
MOCK_GCP_PROJECT_NUMBER = "123456789012"


def short_hash(*parts: str, n: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:n]


class ProviderContext:
    """What a resource's explicit provider says about where it lives."""

    def __init__(self, catalog: Catalog, inputs: dict[str, Any]):
        self.catalog = catalog
        self.inputs = inputs

    @property
    def region(self) -> str:
        return self.inputs.get("region", "")

    @property
    def project(self) -> str:
        return self.inputs.get("project", "")

    @property
    def account(self) -> str:
        allowed = self.inputs.get("allowedAccountIds") or []
        return allowed[0] if allowed else MOCK_AWS_ACCOUNT

    @property
    def partition(self) -> str:
        try:
            return self.catalog.region("aws", self.region).partition or "aws"
        except KeyError:
            return "aws"

    def arn(self, service: str, resource: str, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account}:{resource}"

    def zones(self, cloud: str) -> list[str]:
        return list(self.catalog.region(cloud, self.region).zones)


OutputFn = Callable[[pulumi.runtime.MockResourceArgs, ProviderContext, str], dict[str, Any]]
CallFn = Callable[[dict[str, Any], ProviderContext], dict[str, Any]]

# Computed outputs per resource type, merged over the inputs. Later issues add their types here.
OUTPUTS: dict[str, OutputFn] = {}
# Invoke answers per function token.
CALLS: dict[str, CallFn] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda args, ctx: {
        "names": ctx.zones("aws"),
        "zoneIds": [f"{ctx.region}-az{i + 1}" for i in range(len(ctx.zones("aws")))],
        "id": ctx.region, "state": args.get("state"),
    },
    "aws:index/getCallerIdentity:getCallerIdentity": lambda args, ctx: {
        "accountId": ctx.account, "arn": f"arn:{ctx.partition}:iam::{ctx.account}:user/sovereign-ci",
        "userId": "AIDAMOCKUSER", "id": ctx.account,
    },
    "aws:index/getPartition:getPartition": lambda args, ctx: {
        "partition": ctx.partition, "dnsSuffix": ctx.catalog.region("aws", ctx.region).dns_suffix,
        "id": ctx.partition,
    },
    "gcp:compute/getZones:getZones": lambda args, ctx: {
        "names": ctx.zones("gcp"), "project": ctx.project, "region": args.get("region", ctx.region),
        "id": f"projects/{ctx.project}/regions/{ctx.region}",
    },
}


class SovereignMocks(pulumi.runtime.Mocks):
    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._providers: dict[str, dict[str, Any]] = {}

    def _context(self, provider_ref: str | None) -> ProviderContext:
        # A provider reference is "<urn>::<id>"; the urn's last two parts are its type chain and name.
        parts = (provider_ref or "").split("::")
        key = f"{parts[2].split('$')[-1]}::{parts[3]}" if len(parts) >= 5 else ""
        return ProviderContext(self.catalog, self._providers.get(key, {}))

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ.startswith("pulumi:providers:"):
            urn = f"{args.typ}::{args.name}"
            self._providers[urn] = dict(args.inputs)
            return f"{args.name}-{short_hash(args.typ, args.name)}", dict(args.inputs)
        ctx = self._context(args.provider)
        computed = OUTPUTS.get(args.typ, lambda *_: {})(args, ctx, args.name)
        resource_id = computed.pop("id", None) or f"{args.name}-{short_hash(args.typ, args.name)}"
        return resource_id, {**args.inputs, **computed}

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        answer = CALLS.get(args.token)
        if answer is None:
            raise NotImplementedError(f"no offline mock for invoke {args.token}; add it to sovereign.engine.mocks.CALLS")
        return answer(dict(args.args), self._context(args.provider))
