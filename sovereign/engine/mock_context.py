"""What the offline mocks know about a resource: its explicit provider's region, project and account."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..catalog import Catalog

MOCK_AWS_ACCOUNT = "111122223333"  # AWS documentation's example account id
MOCK_GCP_PROJECT_NUMBER = "123456789012"


def short_hash(*parts: str, n: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:n]


class ProviderContext:
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
        if isinstance(allowed, str):  # provider inputs reach the engine JSON-encoded
            allowed = json.loads(allowed)
        return allowed[0] if allowed else MOCK_AWS_ACCOUNT

    @property
    def partition(self) -> str:
        return self._aws_region_fact("partition", "aws")

    @property
    def dns_suffix(self) -> str:
        return self._aws_region_fact("dns_suffix", "amazonaws.com")

    def _aws_region_fact(self, fact: str, default: str) -> str:
        """A fact of the provider's AWS region from the catalog; the commercial partition's for a region it lacks."""
        try:
            return getattr(self.catalog.region("aws", self.region), fact) or default
        except KeyError:
            return default

    def arn(self, service: str, resource: str, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account}:{resource}"

    def zones(self, cloud: str) -> list[str]:
        return list(self.catalog.region(cloud, self.region).zones)
