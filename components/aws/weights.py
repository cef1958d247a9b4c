"""`sovereign:aws:WeightCache` and `sovereign:aws:WeightReader`: model weights in S3, read through IRSA."""

from __future__ import annotations

import json
from typing import Optional

import pulumi
import pulumi_aws as aws

from sovereign.domain.serving import WEIGHTS_PREFIX
from sovereign.domain.workloads import SERVING_NAMESPACE
from ..weights_args import WeightCacheArgs, WeightReaderArgs
from . import iam
from .iam import STS_AUDIENCE

NONCURRENT_DAYS = 30  # overwritten checkpoints stay restorable this long
ACCESS_LOG_PREFIX = "weights/"


class AwsWeightCache(pulumi.ComponentResource):
    def __init__(self, name: str, args: WeightCacheArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:aws:WeightCache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        # Losing the key or the bucket loses every checkpoint: both survive `pulumi destroy` and drills.
        keep = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=True, retain_on_delete=True))
        region = args.cloud.region
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=args.provider)).account_id
        self.key = aws.kms.Key(
            f"{name}-weights", description=f"Model weights of {name}", enable_key_rotation=True,
            deletion_window_in_days=30,
            # The weights decrypt through S3 in the region only (the model servers' reads, an operator's sync).
            policy=account.apply(lambda a: iam.key_policy(
                region.partition, a, only_via=f"s3.{region.name}.{region.dns_suffix}")),
            opts=keep)
        self.bucket = aws.s3.Bucket(f"{name}-weights", force_destroy=False, opts=keep)
        bucket = self.bucket.id
        aws.s3.BucketOwnershipControls(f"{name}-weights", bucket=bucket,
                                       rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)
        private = aws.s3.BucketPublicAccessBlock(
            f"{name}-weights", bucket=bucket, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child)
        aws.s3.BucketVersioning(f"{name}-weights", bucket=bucket,
                                versioning_configuration={"status": "Enabled"}, opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-weights", bucket=bucket,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                                "kms_master_key_id": self.key.arn},
                    "bucket_key_enabled": True}], opts=child)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-weights", bucket=bucket,
            rules=[{"id": "expire-noncurrent", "status": "Enabled", "filter": {"prefix": ""},
                    "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_DAYS},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7}}], opts=child)
        aws.s3.BucketPolicy(f"{name}-weights", bucket=bucket, policy=self.bucket.arn.apply(_tls_only),
                            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[private])))
        _access_logs(name, self.bucket, args.log_retention_days, child, keep)
        self.bucket_name = self.bucket.bucket
        self.uri = pulumi.Output.concat("s3://", self.bucket.bucket, f"/{WEIGHTS_PREFIX}")
        self.register_outputs({"bucketName": self.bucket_name, "uri": self.uri, "keyArn": self.key.arn})


class AwsWeightReader(pulumi.ComponentResource):
    def __init__(self, name: str, args: WeightReaderArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:aws:WeightReader", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        issuer = args.cluster.cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
        trust = pulumi.Output.all(args.cluster.workload_identity, issuer).apply(
            lambda a: _serving_trust(a[0], a[1], args.service_accounts))
        role = aws.iam.Role(f"{name}-weights-reader", assume_role_policy=trust, opts=child)
        aws.iam.RolePolicy(
            f"{name}-weights-reader", role=role.name,
            policy=pulumi.Output.all(args.cache.bucket.arn, args.cache.key.arn).apply(lambda a: _read_only(*a)),
            opts=child)
        self.service_account_values = {"awsRoleArn": role.arn}
        self.weights_values = {"awsRegion": args.plan.cloud.region.name}
        self.register_outputs({"roleArn": role.arn})


def _access_logs(name: str, weights: aws.s3.Bucket, retention_days: int, child: pulumi.ResourceOptions,
                 keep: pulumi.ResourceOptions) -> None:
    """S3 server access logs of the weight bucket, into a private log bucket of their own: evidence of every
    read and write. The log bucket takes SSE-S3 only (S3 cannot deliver access logs into an SSE-KMS bucket), and
    only the logging service, for this source bucket, may write into it."""
    logs = aws.s3.Bucket(f"{name}-weights-access-logs", force_destroy=False, opts=keep)
    aws.s3.BucketOwnershipControls(f"{name}-weights-access-logs", bucket=logs.id,
                                   rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)
    private = aws.s3.BucketPublicAccessBlock(
        f"{name}-weights-access-logs", bucket=logs.id, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True, opts=child)
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-weights-access-logs", bucket=logs.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}], opts=child)
    # Versioned: a log object overwritten or deleted stays recoverable for the retention, as evidence should.
    aws.s3.BucketVersioning(f"{name}-weights-access-logs", bucket=logs.id,
                            versioning_configuration={"status": "Enabled"}, opts=child)
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-weights-access-logs", bucket=logs.id,
        rules=[{"id": "expire-logs", "status": "Enabled", "filter": {"prefix": ""},
                "expiration": {"days": retention_days},
                "noncurrent_version_expiration": {"noncurrent_days": retention_days}}], opts=child)
    policy = aws.s3.BucketPolicy(
        f"{name}-weights-access-logs", bucket=logs.id,
        policy=pulumi.Output.all(logs.arn, weights.arn).apply(lambda a: _log_delivery(*a)),
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[private])))
    aws.s3.BucketLogging(f"{name}-weights", bucket=weights.id, target_bucket=logs.id, target_prefix=ACCESS_LOG_PREFIX,
                         opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[policy])))


def _log_delivery(logs_arn: str, source_arn: str) -> str:
    """TLS only, and the S3 logging service may write access logs of the weight bucket, nothing else."""
    deny_insecure = json.loads(_tls_only(logs_arn))["Statement"]
    return json.dumps({"Version": "2012-10-17", "Statement": [*deny_insecure, {
        "Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": f"{logs_arn}/{ACCESS_LOG_PREFIX}*",
        "Condition": {"ArnLike": {"aws:SourceArn": source_arn}}}]})


def _tls_only(bucket_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


def _serving_trust(oidc_arn: str, issuer: str, service_accounts: tuple[str, ...]) -> str:
    """Only the releases' service accounts in the serving namespace, with STS-audience tokens."""
    host = issuer.removeprefix("https://")
    subjects = [f"system:serviceaccount:{SERVING_NAMESPACE}:{sa}" for sa in service_accounts]
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": oidc_arn}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{host}:sub": subjects, f"{host}:aud": STS_AUDIENCE}}}]})


def _read_only(bucket_arn: str, key_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket_arn,
         "Condition": {"StringLike": {"s3:prefix": [f"{WEIGHTS_PREFIX}/*"]}}},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"{bucket_arn}/{WEIGHTS_PREFIX}/*"},
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key_arn}]})
