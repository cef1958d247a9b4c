"""Concrete hostnames of a managed-API provider: what a region reaches, and what a denial blocks.

Catalog hosts are exact names or patterns with `{region}` / `{resource}`. A region reaches only the
expansion for its own endpoint region or resource; a denial must block every name the provider
answers on, so patterns are expanded over every catalog region of the cloud they belong to, or turned
into a `*.` wildcard when the placeholder is a whole leading label (which DNS firewalls and FQDN
policies match natively).
"""

from __future__ import annotations

from ..catalog import Catalog, CloudRegion, Provider
from .spec import ENDPOINT_REGION_CLOUD, ManagedApiRequest

# Clouds whose region codes fill a provider's `{region}` placeholders when blocking. Anthropic's
# related pattern (Claude Platform on AWS) is keyed by AWS region.
_BLOCK_REGION_CLOUD = {**ENDPOINT_REGION_CLOUD, "anthropic": "aws"}
_AWS_COMMERCIAL_SUFFIX = "amazonaws.com"


def reachable_hosts(names: tuple[str, ...], request: ManagedApiRequest, catalog: Catalog) -> tuple[str, ...]:
    """Expand the chosen host names/patterns for one region's request; unexpandable patterns drop out."""
    hosts = set()
    for name in names:
        if "{resource}" in name:
            if request.resource:
                hosts.add(name.replace("{resource}", request.resource))
        elif "{region}" in name:
            cloud = ENDPOINT_REGION_CLOUD.get(request.provider)
            if cloud and request.endpoint_region:
                hosts.add(_with_region(name, catalog.region(cloud, request.endpoint_region)))
        else:
            hosts.add(name)
    return tuple(sorted(hosts))


def default_host_names(provider: Provider) -> tuple[str, ...]:
    """The provider's primary hosts and patterns, before any residency preference."""
    return tuple(h.host or h.pattern for h in provider.hosts)


def every_host(provider: Provider, catalog: Catalog) -> tuple[str, ...]:
    """Every hostname the provider serves on, for blocking a denied provider."""
    hosts = {h.host for h in provider.regional_hosts}
    for spec in (*provider.hosts, *provider.related_hosts):
        if spec.host:
            hosts.add(spec.host)
            continue
        pattern = spec.pattern
        first, _, rest = pattern.partition(".")
        if first in ("{region}", "{resource}"):
            hosts.add(f"*.{rest}")
        else:
            cloud = _BLOCK_REGION_CLOUD[provider.id]
            hosts.update(_with_region(pattern, catalog.region(cloud, name)) for name in catalog.region_names(cloud))
    return tuple(sorted(hosts))


def _with_region(pattern: str, region: CloudRegion) -> str:
    host = pattern.replace("{region}", region.name)
    # AWS endpoints live under their partition's DNS suffix (amazonaws.com.cn, amazonaws.eu, ...).
    if region.dns_suffix and host.endswith("." + _AWS_COMMERCIAL_SUFFIX):
        host = host[: -len(_AWS_COMMERCIAL_SUFFIX)] + region.dns_suffix
    return host
