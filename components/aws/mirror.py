"""The cluster's registry mirrors on AWS: ECR pull-through cache rules, one per upstream the profile mirrors.

A pod names `<account>.dkr.ecr.<region>.<suffix>/<prefix>/<upstream repository>`; on the first pull ECR creates
that repository, fetches the image from its upstream (Docker Hub and GHCR with the credentials the stack's
secrets hold) and serves it from the region afterwards. Creating the repository on that first pull is done with
the puller's permissions, so the node role may create repositories under the stack's prefixes and import into
them, nothing else. Repositories ECR creates this way are ECR's, not the stack's: a teardown leaves them
(`aws ecr delete-repository --force` per prefix, or keep them as the region's image cache).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from sovereign.domain.images import ClusterImages

# https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html
PULL_THROUGH_ACTIONS = ("ecr:CreateRepository", "ecr:BatchImportUpstreamImage")


def pull_through_caches(name: str, images: ClusterImages, opts: pulumi.ResourceOptions
                        ) -> list[aws.ecr.PullThroughCacheRule]:
    return [aws.ecr.PullThroughCacheRule(
        f"{name}-mirror-{m.name.rsplit('/', 1)[-1]}", ecr_repository_prefix=m.name, upstream_registry_url=m.source,
        credential_arn=m.credential_arn, opts=opts) for m in images.mirrors]


def registry_host(rules: list[aws.ecr.PullThroughCacheRule], region: str, dns_suffix: str) -> pulumi.Output[str]:
    """The account's registry, built from every rule: whatever pulls through the mirrors waits for all of them."""
    return pulumi.Output.all(*[r.registry_id for r in rules]).apply(
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
