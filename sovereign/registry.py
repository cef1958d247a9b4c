"""A tag's manifest digest, read from its container registry over the distribution API (`sovereign images`).

GET /v2/<repository>/manifests/<tag>, accepting image indexes and manifests (OCI and Docker). Docker Hub, GHCR and
gcr.io answer an anonymous request with 401 and a Bearer challenge; the token its realm hands out for the pull scope
is used for the retry. The digest is the sha256 of the body as served, and where the registry sends
Docker-Content-Digest the two must agree, so a proxy that altered the manifest cannot be recorded. An index lists
its platforms; a single-platform manifest's platform is read from its config blob. A redirect to another host
(registries send blobs to a CDN) does not carry the token along.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Mapping

# Where each upstream serves the distribution API, where that is not https://<upstream> (Docker Hub's registry).
ENDPOINTS: dict[str, str] = {"docker.io": "https://registry-1.docker.io"}
MEDIA_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json",
               "application/vnd.oci.image.manifest.v1+json",
               "application/vnd.docker.distribution.manifest.v2+json")
INDEX_TYPES = frozenset(MEDIA_TYPES[:2])
MAX_MANIFEST_BYTES = 4 << 20    # the distribution spec lets registries refuse manifests over 4 MiB
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(Exception):
    """The registry could not be asked or gave an answer that cannot be recorded."""


@dataclass(frozen=True)
class Resolved:
    digest: str
    media_type: str
    platforms: tuple[str, ...]   # "os/architecture" of an index's manifests; () for a single-platform manifest
    endpoint: str

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def endpoint(upstream: str) -> str:
    return ENDPOINTS.get(upstream, f"https://{upstream}")


def resolve(upstream: str, repository: str, tag: str, *, timeout: float = 30.0) -> Resolved:
    """The digest the registry serves for `repository:tag`, with its platforms."""
    if upstream == "docker.io" and "/" not in repository:
        repository = f"library/{repository}"   # Docker Hub's official images
    base = endpoint(upstream)
    url = f"{base}/v2/{repository}/manifests/{urllib.parse.quote(tag, safe='')}"
    headers = {"Accept": ", ".join(MEDIA_TYPES)}
    try:
        status, response_headers, body = _get(url, headers, timeout)
        if status == 401:
            token = _token(url, response_headers.get("WWW-Authenticate", ""), timeout)
            headers["Authorization"] = f"Bearer {token}"
            status, response_headers, body = _get(url, headers, timeout)
        if status != 200:
            raise RegistryError(f"{url}: HTTP {status}")
        resolved = _resolved(url, base, response_headers, body)
        if resolved.is_index:
            return resolved
        config = _config_platform(f"{base}/v2/{repository}/blobs/", body, headers, timeout)
        return Resolved(resolved.digest, resolved.media_type, config, base)
    except (OSError, http.client.HTTPException) as exc:   # URLError is an OSError
        raise RegistryError(f"{base} unreachable: {getattr(exc, 'reason', exc)}") from None


def _resolved(url: str, base: str, response_headers: Mapping[str, str], body: bytes) -> Resolved:
    if len(body) > MAX_MANIFEST_BYTES:
        raise RegistryError(f"{url}: the manifest is over {MAX_MANIFEST_BYTES >> 20} MiB")
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    if (sent := response_headers.get("Docker-Content-Digest")) and sent != digest:
        raise RegistryError(f"{url}: Docker-Content-Digest {sent} is not the body's {digest}")
    try:
        manifest = json.loads(body)
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict):
        raise RegistryError(f"{url}: the manifest is not a JSON object")
    media_type = manifest.get("mediaType") or response_headers.get("Content-Type", "").split(";")[0]
    platforms = tuple(f"{p.get('os')}/{p.get('architecture')}" for m in manifest.get("manifests") or ()
                      if isinstance(m, dict) and isinstance(p := m.get("platform"), dict))
    return Resolved(digest, media_type, platforms, base)


def _config_platform(blobs: str, manifest: bytes, headers: Mapping[str, str], timeout: float) -> tuple[str, ...]:
    """("os/architecture",) of a single-platform manifest, from its config blob (checked against its digest)."""
    config = (json.loads(manifest).get("config") or {}) if manifest else {}
    digest = config.get("digest") if isinstance(config, dict) else None
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        raise RegistryError(f"{blobs}: the manifest names no sha256 config blob")
    status, _, body = _get(blobs + digest, {"Authorization": headers.get("Authorization", "")}, timeout)
    if status != 200 or "sha256:" + hashlib.sha256(body).hexdigest() != digest:
        raise RegistryError(f"{blobs}{digest}: HTTP {status}, or not the blob the manifest names")
    try:
        image = json.loads(body)
        return (f"{image['os']}/{image['architecture']}",)
    except (ValueError, KeyError, TypeError):
        raise RegistryError(f"{blobs}{digest}: no os/architecture in the image config") from None


class _SameHostAuth(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but send the registry's token to the registry's host only."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_SameHostAuth)


def _get(url: str, headers: Mapping[str, str], timeout: float) -> tuple[int, Mapping[str, str], bytes]:
    request = urllib.request.Request(url, headers={k: v for k, v in headers.items() if v})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read(MAX_MANIFEST_BYTES + 1)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, b""


def _token(url: str, challenge: str, timeout: float) -> str:
    """An anonymous pull token from the `Bearer realm=…,service=…,scope=…` challenge `url` answered with."""
    if not challenge.lower().startswith("bearer "):
        raise RegistryError(f"the registry asks for {challenge.split(' ')[0] or 'no'} authentication, not a "
                            "Bearer token: an anonymous pull is not allowed")
    params = dict(_CHALLENGE.findall(challenge))
    if "realm" not in params:
        raise RegistryError(f"Bearer challenge without a realm: {challenge!r}")
    realm = urllib.parse.urljoin(url, params["realm"])
    query = urllib.parse.urlencode({k: v for k, v in params.items() if k in ("service", "scope")})
    status, _, body = _get(f"{realm}?{query}" if query else realm, {}, timeout)
    if status != 200:
        raise RegistryError(f"{params['realm']}: HTTP {status} for an anonymous token")
    try:
        answer = json.loads(body)
        return answer.get("token") or answer["access_token"]
    except (ValueError, KeyError, AttributeError):
        raise RegistryError(f"{params['realm']}: no token in its answer") from None
