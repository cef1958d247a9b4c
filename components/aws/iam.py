"""IAM roles of the cluster: trust policies as JSON and AWS managed policies in the right partition."""

from __future__ import annotations

import json
from typing import Sequence

import pulumi
import pulumi_aws as aws

STS_AUDIENCE = "sts.amazonaws.com"  # what EKS's pod identity webhook puts in tokens, China included


def managed_policy(partition: str, path: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{path}"


def service_trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def service_account_trust(oidc_arn: str, issuer: str, namespace: str, service_account: str) -> str:
    """IRSA: only this Kubernetes service account, with tokens minted for STS, may assume the role."""
    host = issuer.removeprefix("https://")
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": oidc_arn}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                                       f"{host}:aud": STS_AUDIENCE}}}]})


def role(name: str, trust: pulumi.Input[str], policy_arns: Sequence[str],
         opts: pulumi.ResourceOptions) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """A role (autonamed: IAM names are account-wide) with AWS managed policies attached."""
    created = aws.iam.Role(name, assume_role_policy=trust, opts=opts)
    attachments = [aws.iam.RolePolicyAttachment(f"{name}-{arn.rsplit('/', 1)[-1]}", role=created.name,
                                                policy_arn=arn, opts=opts)
                   for arn in policy_arns]
    return created, attachments


def key_use_policy(key_arn: str) -> str:
    """Lets the EKS control plane encrypt and decrypt Kubernetes secrets with the cluster's KMS key."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
        "Resource": key_arn}]})


def key_policy(partition: str, account: str, only_via: str | None = None) -> str:
    """A key policy written out rather than KMS's implicit default, so a reviewer sees it in the diff.

    The account's IAM decides who may use and manage the key (AWS's default statement: without it the key could
    become unmanageable). `only_via`: the one service (e.g. s3.eu-central-1.amazonaws.com) through which the key
    decrypts or generates data keys for anyone but the account root — a principal holding the key's IAM grant still
    cannot decrypt a downloaded object outside S3 in the region."""
    statements = [{"Sid": "AccountIamDecides", "Effect": "Allow",
                   "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"}]
    if only_via:
        statements.append({
            "Sid": f"UseOnlyVia{only_via.split('.')[0].upper()}", "Effect": "Deny", "Principal": {"AWS": "*"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"], "Resource": "*",
            "Condition": {"StringNotEquals": {"kms:ViaService": only_via},
                          "ArnNotEquals": {"aws:PrincipalArn": f"arn:{partition}:iam::{account}:root"}}})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
