"""The cluster's registry mirrors on AWS: ECR pull-through cache rules, one per upstream the profile mirrors; in
AWS China, which has no pull-through cache, and for a stack with `imageMirror: prefilled`, the repositories of its
ImageStore (components/aws/image_store.py), which outlive the cluster.

A pod names `<account>.dkr.ecr.<region>.<suffix>/<prefix>/<upstream repository>`; on the first pull ECR creates
that repository, fetches the image from its upstream (Docker Hub and GHCR with the credentials the stack's
secrets hold) and serves it from the region afterwards. Creating the repository on that first pull is done with
the puller's permissions, so the node role may create repositories under the stack's prefixes and import into
them, nothing else. Repositories ECR creates this way are ECR's, not the stack's: a teardown leaves them
(`aws ecr delete-repository --force` per prefix, or keep them as the region's image cache).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_aws as aws

from sovereign.domain.images import ClusterImages

# https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html
PULL_THROUGH_ACTIONS = ("ecr:CreateRepository", "ecr:BatchImportUpstreamImage")


@dataclass(frozen=True)
class EcrMirrors:
    rules: list[aws.ecr.PullThroughCacheRule]     # where ECR pulls through
    repositories: list[aws.ecr.Repository]        # the ImageStore's, where ECR does not pull through

    @property
    def all(self) -> list[pulumi.CustomResource]:
        return [*self.rules, *self.repositories]


def registry_mirrors(name: str, images: ClusterImages, stored: Sequence[aws.ecr.Repository],
                     opts: pulumi.ResourceOptions) -> EcrMirrors:
    """The cache rules of the mirrors that pull through, beside the repositories the stack fills itself."""
    rules = [aws.ecr.PullThroughCacheRule(
        f"{name}-mirror-{m.name.rsplit('/', 1)[-1]}", ecr_repository_prefix=m.name, upstream_registry_url=m.source,
        credential_arn=m.credential_arn, opts=opts) for m in images.mirrors if m.pulls_through]
    return EcrMirrors(rules, list(stored))


def registry_host(mirrors: EcrMirrors, region: str, dns_suffix: str) -> pulumi.Output[str]:
    """The account's registry, built from every mirror: whatever pulls through them waits for all of them."""
    return pulumi.Output.all(*[m.registry_id for m in mirrors.all]).apply(
        lambda ids: f"{ids[0]}.dkr.ecr.{region}.{dns_suffix}")


def node_pull_through(name: str, role: aws.iam.Role, rules: list[aws.ecr.PullThroughCacheRule], partition: str,
                      region: str, opts: pulumi.ResourceOptions) -> aws.iam.RolePolicy:
    resources = [pulumi.Output.concat(f"arn:{partition}:ecr:{region}:", r.registry_id, ":repository/",
                                      r.ecr_repository_prefix, "/*") for r in rules]
    return aws.iam.RolePolicy(
        f"{name}-node-pull-through", role=role.id,
        policy=pulumi.Output.all(*resources).apply(lambda arns: json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(PULL_THROUGH_ACTIONS), "Resource": list(arns)}]})),
        opts=opts)
