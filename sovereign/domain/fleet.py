"""Decisions that span stacks: what one stack cannot see from its own config.

Route 53 takes one geolocation record set per name, type and location in a zone: two stacks routing the
same client country (or both claiming the default) from one global zone would make the second
`pulumi up` fail with InvalidChangeBatch (Amazon Route 53 API Reference, ChangeResourceRecordSets:
"a resource record set with the same name, type and geolocation already exists";
https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-geo.html).
"""

from __future__ import annotations

from typing import Iterable

from .errors import InputError
from .spec import RegionSpec

DEFAULT_LOCATION = "*"


def geolocation_conflicts(specs: Iterable[RegionSpec]) -> list[InputError]:
    """One error per stack whose global-name location another stack of the same zone already routes."""
    owners: dict[tuple[str, str], RegionSpec] = {}
    errors = []
    for spec in sorted(specs, key=lambda s: s.stack):
        dr = spec.dr
        if not (dr.domain and dr.global_zone_id):
            continue
        locations = [*(dr.serves or spec.jurisdiction.countries), *([DEFAULT_LOCATION] if dr.default else [])]
        for location in locations:
            first = owners.setdefault((dr.global_zone_id, location), spec)
            if first is not spec:
                key = "sovereign:dr.default" if location == DEFAULT_LOCATION else "sovereign:dr.serves"
                what = "the default location" if location == DEFAULT_LOCATION else f"clients in {location}"
                errors.append(InputError(spec.file, key, f"{what} of api.{dr.domain} are already routed by "
                                         f"{first.file} in zone {dr.global_zone_id}: Route 53 refuses a second "
                                         "geolocation record set for one location",
                                         "route each location from one stack only (dr.serves / dr.default)"))
    return errors
