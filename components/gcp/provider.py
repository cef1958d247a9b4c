"""The region's explicit Google provider: every GCP resource of a region names it.

Stacks disable default providers, so nothing can fall back to ambient credentials, project or region.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from sovereign.domain.spec import CloudSpec


def gcp_provider(name: str, cloud: CloudSpec, labels: dict[str, str], parent: pulumi.Resource) -> gcp.Provider:
    return gcp.Provider(
        name,
        project=cloud.project,
        region=cloud.region.name,
        default_labels=labels,
        opts=pulumi.ResourceOptions(parent=parent),
    )
