"""The object store, scoped: the S3 gateway endpoint's policy lets the VPC read the stack's weight bucket and the
layers of ECR images, and nothing else of S3 — a pod can't copy data out to a bucket of its choosing.

Every S3 request of the region's S3 from the private subnets leaves through the endpoint (its route holds S3's
prefix list), whatever name or address the client uses; S3 of other regions has no name in the DNS allowlist.
Writes to the weight bucket come from outside the VPC (an operator seeding weights), so none is allowed here.
ECR serves image layers from S3 (`prod-<region>-starport-layer-bucket`); without it no node pulls an image
(reality rule s3-endpoint-policy-keeps-ecr-image-layers).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from sovereign.domain.topology import ClusterPlan


def scoped_storage(name: str, plan: ClusterPlan, endpoint_id: pulumi.Input[str], bucket: pulumi.Input[str],
                   opts: pulumi.ResourceOptions) -> None:
    region = plan.cloud.region
    aws.ec2.VpcEndpointPolicy(
        f"{name}-s3", vpc_endpoint_id=endpoint_id,
        policy=pulumi.Output.from_input(bucket).apply(lambda b: endpoint_policy(region.partition, region.name, b)),
        opts=opts)


def endpoint_policy(partition: str, region: str, bucket: str) -> str:
    s3 = f"arn:{partition}:s3:::"
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "WeightBucketRead", "Effect": "Allow", "Principal": "*",
         "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
         "Resource": [f"{s3}{bucket}", f"{s3}{bucket}/*"]},
        # https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-setting-up-s3-gateway
        {"Sid": "EcrImageLayers", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
         "Resource": [f"{s3}{ecr_layer_bucket(region)}/*"]}]})


def ecr_layer_bucket(region: str) -> str:
    return f"prod-{region}-starport-layer-bucket"
