"""The region component: one stack's whole footprint, one explicit provider per cloud it runs on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from ..domain.spec import RegionSpec
from ..domain.verdict import Verdict
from .providers import aws_provider, gcp_provider


@dataclass(frozen=True)
class RegionArgs:
    spec: RegionSpec
    verdicts: tuple[Verdict, ...]


class Region(pulumi.ComponentResource):
    """`sovereign:index:Region` — composes the region's per-cloud footprint on explicit providers."""

    def __init__(self, name: str, args: RegionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:index:Region", name, None, opts)
        spec = args.spec
        labels = {"sovereign-region": spec.name, "sovereign-stack": spec.stack, "managed-by": "pulumi"}
        self.providers: dict[str, pulumi.ProviderResource] = {}
        for cloud in spec.clouds:
            make = aws_provider if cloud.cloud == "aws" else gcp_provider
            self.providers[cloud.cloud] = make(f"{name}-{cloud.cloud}", cloud, labels, self)
        self.clouds = {c.cloud: {"region": c.region.name, "country": c.region.country,
                                 "zones": list(c.region.zones)} for c in spec.clouds}
        self.register_outputs({"clouds": self.clouds,
                               "reachableProviders": [v.provider for v in args.verdicts if v.reachable]})
