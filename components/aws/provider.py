"""The region's explicit AWS provider: every AWS resource of a region names it.

Stacks disable default providers, so nothing can fall back to ambient credentials or region.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from sovereign.domain.spec import CloudSpec


def aws_provider(name: str, cloud: CloudSpec, tags: dict[str, str], parent: pulumi.Resource) -> aws.Provider:
    return aws.Provider(
        name,
        region=cloud.region.name,
        # Pinning the account turns "wrong credentials" into an error before anything is changed.
        allowed_account_ids=[cloud.account_id] if cloud.account_id else None,
        default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
