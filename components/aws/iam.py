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
