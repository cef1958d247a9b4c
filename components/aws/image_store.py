"""`sovereign:aws:ImageStore`: the ECR repositories a stack fills itself, where ECR cannot pull through (AWS China)
or the stack chooses to (`imageMirror: prefilled`, for images pinned by digest). One repository per image, named as
its pull-through twin would be, so the pods' references do not change; an operator fills them before the first
`pulumi up` (`crane copy <upstream>/<repository>@<digest> <registry>/<mirror>/<repository>:<tag>`: the whole index,
its digest kept).

The images in them may be the region's only copy once an upstream is cut off, so, like the weights, they are kept
outside the cluster: a drill that tears the cluster down keeps them, and `pulumi destroy` neither deletes them nor
stops at them (protected, retained; `force_delete` off as well).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from sovereign.domain.images import ClusterImages

CLUSTER_TYPE = "sovereign:aws:GpuCluster"   # where these repositories were declared before they had a store


@dataclass(frozen=True)
class ImageStoreArgs:
    images: ClusterImages                 # the cloud's mirrors; the prefilled ones get repositories here
    provider: pulumi.ProviderResource


class AwsImageStore(pulumi.ComponentResource):
    def __init__(self, name: str, args: ImageStoreArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:aws:ImageStore", name, None, opts)
        keep = pulumi.ResourceOptions(
            parent=self, provider=args.provider, protect=True, retain_on_delete=True,
            # Declared by the cluster component of the same name before: the same repositories, not new ones.
            aliases=[pulumi.Alias(parent=pulumi.create_urn(name, CLUSTER_TYPE, parent=opts.parent if opts else None))])
        self.repositories = [aws.ecr.Repository(
            f"{name}-mirror-{m.name.rsplit('/', 1)[-1]}-{repository.replace('/', '-')}", name=f"{m.name}/{repository}",
            image_tag_mutability="IMMUTABLE", image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS"}], force_delete=False, opts=keep)
            for m in args.images.mirrors if not m.pulls_through for repository in m.repositories]
        self.register_outputs({"repositories": [r.name for r in self.repositories]})
