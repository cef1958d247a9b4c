"""The region's egress fence, decided once from its verdicts and rendered by every layer.

`allowed` — the hosts the gateway's pods may reach on 443 (every reachable verdict's hosts, and the token
            endpoints its credentials are exchanged at, e.g. Vertex's oauth2.googleapis.com);
`denied`  — every hostname of every denied provider, blocked at the network layer whatever the
            pod layer says. Hosts of allowed-but-unrequested providers are in neither: the pod
            layer's default deny already keeps them closed.
`platform_hosts` (per cloud) are not managed APIs: the object store and token endpoints the model
servers' weight reads need through workload identity. Only the serving pods get them.
`network` (per cloud) is the network layer's allowlist, for every pod and node: `allowed`, the platform hosts and
the cloud's node hosts (cluster API, registries, …), each declared once in the cloud's profile with why. The
layer evaluates, first match wins: `denied` blocked, `network` allowed, everything else blocked.
A host that is allowed and falls under a denied name or `*.` wildcard would make the layers disagree, so it
is a policy error, reported before anything is built. The reverse — a denied name under an allowed wildcard
(Gemini's generativelanguage.googleapis.com under GCP's `*.googleapis.com`) — is what `denied` coming first
is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..clouds import profile
from .errors import InputError, InvalidInput
from .spec import CloudSpec
from .verdict import Verdict

HTTPS = 443


@dataclass(frozen=True)
class EgressPlan:
    allowed: tuple[str, ...]
    denied: tuple[str, ...]
    allowed_by_provider: Mapping[str, tuple[str, ...]]
    denied_by_provider: Mapping[str, tuple[str, ...]]
    platform: Mapping[str, tuple[str, ...]]  # cloud → platform_hosts(cloud), for the serving pods
    network: Mapping[str, tuple[str, ...]]   # cloud → the network layer's allowlist

    def to_dict(self) -> dict[str, Any]:
        return {"allowed": list(self.allowed), "denied": list(self.denied),
                "allowedByProvider": {p: list(h) for p, h in sorted(self.allowed_by_provider.items())},
                "deniedByProvider": {p: list(h) for p, h in sorted(self.denied_by_provider.items())},
                "platform": {c: list(h) for c, h in sorted(self.platform.items())},
                "network": {c: list(h) for c, h in sorted(self.network.items())}}


def matches(pattern: str, host: str) -> bool:
    """DNS-firewall semantics: `*.example.com` matches any name below example.com, not the apex."""
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host != pattern[2:]
    return pattern == host


def egress_plan(verdicts: tuple[Verdict, ...], clouds: tuple[CloudSpec, ...], policy_file: str) -> EgressPlan:
    platform = {c.cloud: platform_hosts(c) for c in clouds}
    declared = {c.cloud: tuple(declared_host_reasons(c)) for c in clouds}
    allowed_by = {v.provider: v.hosts + v.auth_hosts for v in verdicts if v.reachable}
    allowed_by_with_platform = {**allowed_by, **{f"platform ({c})": hosts for c, hosts in declared.items()}}
    denied_by = {v.provider: v.blocked_hosts for v in verdicts if not v.allowed}
    allowed = tuple(sorted({h for hosts in allowed_by.values() for h in hosts}))
    denied = tuple(sorted({h for hosts in denied_by.values() for h in hosts}))
    clashes = [InputError(policy_file, f"verdicts ({allowed_provider} vs {denied_provider})",
                          f"{host} is reached for {allowed_provider} but is a host of denied {denied_provider} "
                          f"({pattern})", "use a residency host the denied provider does not share, or deny both")
               for allowed_provider, hosts in allowed_by_with_platform.items() for host in hosts
               for denied_provider, blocked in denied_by.items() for pattern in blocked if matches(pattern, host)]
    if clashes:
        raise InvalidInput(clashes)
    network = {c: tuple(sorted({*allowed, *hosts})) for c, hosts in declared.items()}
    return EgressPlan(allowed, denied, allowed_by, denied_by, platform, network)


def platform_hosts(cloud: CloudSpec) -> tuple[str, ...]:
    """Object store and workload-identity token endpoints of the cluster's own cloud region."""
    return tuple(platform_host_reasons(cloud))


def platform_host_reasons(cloud: CloudSpec) -> dict[str, str]:
    """Each platform host of the cluster's cloud region, with why the model servers need it."""
    return _reasons(cloud, profile(cloud.cloud).platform_hosts)


def declared_host_reasons(cloud: CloudSpec) -> dict[str, str]:
    """Every host the network layer lets through besides the verdicts' (platform and node hosts), with why."""
    return {**platform_host_reasons(cloud), **_reasons(cloud, profile(cloud.cloud).node_hosts)}


def _reasons(cloud: CloudSpec, templates: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {h.format(region=cloud.region.name, dns_suffix=cloud.region.dns_suffix): why for h, why in templates}
