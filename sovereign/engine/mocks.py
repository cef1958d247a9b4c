"""The project's one Pulumi mocks implementation: realistic, deterministic cloud answers offline.

IDs, ARNs, endpoints and availability zones are derived from the resource's name, its explicit
provider's region/project and the catalog (see mocks_aws / mocks_gcp), so two runs give byte-identical
graphs and the values look like what AWS and GCP return. A resource type without an entry gets a
generic id; an unknown invoke fails loudly so a missing mock is never a silent empty answer.
"""

from __future__ import annotations

from typing import Any

import pulumi

from ..catalog import Catalog
from . import mocks_aws, mocks_gcp, mocks_k8s, mocks_storage
from .mock_context import ProviderContext, short_hash

def _random_password(args: pulumi.runtime.MockResourceArgs, _ctx: ProviderContext) -> dict[str, Any]:
    """A fixed stand-in of the requested length (the provider marks `result` secret), so plans stay identical."""
    length = int(args.inputs.get("length", 16))
    return {"result": (f"mock-random-{short_hash(args.name, n=16)}" * length)[:length]}


def _random_id(args: pulumi.runtime.MockResourceArgs, _ctx: ProviderContext) -> dict[str, Any]:
    """A stable stand-in of `byteLength` bytes, as hex and decimal, so plans stay identical."""
    hex_ = short_hash(args.name, n=2 * int(args.inputs.get("byteLength", 4)))
    return {"hex": hex_, "dec": str(int(hex_, 16)), "id": hex_}


OUTPUTS = {**mocks_aws.OUTPUTS, **mocks_gcp.OUTPUTS, **mocks_k8s.OUTPUTS, **mocks_storage.OUTPUTS,
           "random:index/randomPassword:RandomPassword": _random_password,
           "random:index/randomId:RandomId": _random_id}
CALLS = {**mocks_aws.CALLS, **mocks_gcp.CALLS}


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
            self._providers[f"{args.typ}::{args.name}"] = dict(args.inputs)
            return f"{args.name}-{short_hash(args.typ, args.name)}", dict(args.inputs)
        computed = OUTPUTS.get(args.typ, lambda *_: {})(args, self._context(args.provider))
        resource_id = computed.pop("id", None) or f"{args.name}-{short_hash(args.typ, args.name)}"
        return resource_id, {**args.inputs, **computed}

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        answer = CALLS.get(args.token)
        if answer is None:
            raise NotImplementedError(f"no offline mock for invoke {args.token}; add it to "
                                      "sovereign/engine/mocks_aws.py or mocks_gcp.py")
        return answer(dict(args.args), self._context(args.provider))
