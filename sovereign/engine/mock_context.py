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
        try:
            return self.catalog.region("aws", self.region).partition or "aws"
        except KeyError:
            return "aws"

    @property
    def dns_suffix(self) -> str:
        try:
            return self.catalog.region("aws", self.region).dns_suffix or "amazonaws.com"
        except KeyError:
            return "amazonaws.com"

    def arn(self, service: str, resource: str, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account}:{resource}"

    def zones(self, cloud: str) -> list[str]:
        return list(self.catalog.region(cloud, self.region).zones)
