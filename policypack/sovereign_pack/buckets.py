"""Every bucket of the stack is private, encrypted and versioned: it holds model weights, or the access logs of the
weight bucket (the target of a BucketLogging), which S3 can deliver only into an SSE-S3 bucket.

s3-buckets-private-encrypted-versioned (stack) — pulumi-aws 7 configures a bucket through companion resources
  that name it by `bucket`: each `aws:s3/bucket:Bucket` (or BucketV2) needs a BucketPublicAccessBlock with all
  four switches on, a server-side-encryption configuration with SSE-KMS (`aws:kms` / `aws:kms:dsse`: the key
  policy, not the bucket's cloud account alone, decides who may decrypt) — SSE-S3 (`AES256`) for an access-log
  bucket, the only encryption S3 delivers access logs into — and BucketVersioning `Enabled`.
  A companion belongs to the bucket when it depends on it (its `bucket` property dependency, or any
  dependency) or names it by the bucket's name; inline legacy arguments on the bucket count as well.
gcs-buckets-private-versioned — `gcp:storage/bucket:Bucket`: uniform bucket-level access, public access
  prevention `enforced`, versioning enabled (GCS always encrypts at rest).
buckets-grant-no-public-access — no ACL, bucket policy or IAM grant opens a bucket to everyone: S3 canned ACLs
  public-read / public-read-write / authenticated-read, S3 bucket policies with an Allow to Principal `*`,
  GCS IAM / ACL grants to allUsers or allAuthenticatedUsers.
"""

from __future__ import annotations

import json
from typing import Iterator, Optional

from pulumi_policy import PolicyResource, StackValidationArgs

from .base import resource_policy, stack_policy
from .props import as_dict, as_list, dig, plain

S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
SSE = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
       "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
BLOCK_SWITCHES = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
GCS_BUCKET = "gcp:storage/bucket:Bucket"
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")


def _belongs(companion: PolicyResource, companion_props: dict, bucket: PolicyResource, bucket_props: dict) -> bool:
    deps = list((companion.property_dependencies or {}).get("bucket", [])) or list(companion.dependencies or [])
    if any(d is not None and d.urn == bucket.urn for d in deps):
        return True
    named = companion_props.get("bucket")
    return isinstance(named, str) and named in (bucket_props.get("bucket"), bucket_props.get("id"))


def _sse_ok(rules: list, algorithms: tuple[str, ...]) -> bool:
    return any(as_dict(dig(rule, "applyServerSideEncryptionByDefault")).get("sseAlgorithm") in algorithms
               for rule in rules)


def _log_target(logging: PolicyResource, props: dict, bucket: PolicyResource, bucket_props: dict) -> bool:
    """The bucket receives this BucketLogging's access logs."""
    deps = list((logging.property_dependencies or {}).get("targetBucket", []))
    if any(d is not None and d.urn == bucket.urn for d in deps):
        return True
    return props.get("targetBucket") in (bucket_props.get("bucket"), bucket_props.get("id")) and bool(
        props.get("targetBucket"))


def _check_s3(args: StackValidationArgs) -> Iterator[tuple[str, Optional[str]]]:
    resources = [r for r in args.resources if r is not None]
    props = {r.urn: plain(r.props) for r in resources}
    for bucket in (r for r in resources if r.resource_type in S3_BUCKETS):
        bp = props[bucket.urn]
        mine = {kinds: [r for r in resources if r.resource_type in kinds
                        and _belongs(r, props[r.urn], bucket, bp)]
                for kinds in (PUBLIC_ACCESS_BLOCK, SSE, VERSIONING)}
        problems = []
        blocks = mine[PUBLIC_ACCESS_BLOCK]
        if not blocks:
            problems.append("no BucketPublicAccessBlock")
        else:
            off = [s for s in BLOCK_SWITCHES if not any(props[b.urn].get(s) is True for b in blocks)]
            if off:
                problems.append(f"public access block leaves {', '.join(off)} off")
        inline_sse = as_list(dig(bp, "serverSideEncryptionConfiguration", "rules")) \
            or as_list(dig(bp, "serverSideEncryptionConfiguration", "rule"))
        sse_rules = [rule for s in mine[SSE] for rule in as_list(props[s.urn].get("rules"))] + inline_sse
        access_logs = any(_log_target(r, props[r.urn], bucket, bp) for r in resources if r.resource_type in LOGGING)
        if access_logs and not _sse_ok(sse_rules, ("AES256",)):
            problems.append("an access-log bucket without default encryption SSE-S3 (AES256)")
        elif not access_logs and not _sse_ok(sse_rules, KMS_ALGORITHMS):
            problems.append("no default encryption with SSE-KMS (aws:kms)")
        statuses = [dig(props[v.urn], "versioningConfiguration", "status") for v in mine[VERSIONING]]
        inline_versioning = dig(bp, "versioning", "enabled") is True
        if not (inline_versioning or "Enabled" in statuses):
            problems.append("versioning not Enabled")
        if problems:
            yield (f"S3 bucket {bucket.name}: {'; '.join(problems)}. Weight buckets must be private, encrypted "
                   "with the region's KMS key and versioned (see components/aws/weights.py)"), bucket.urn


s3_buckets = stack_policy(
    "s3-buckets-private-encrypted-versioned",
    "S3 buckets block public access, encrypt with SSE-KMS and keep versions.",
    _check_s3)


def _check_gcs(resource_type: str, props: dict, args) -> Iterator[str]:
    problems = []
    if props.get("uniformBucketLevelAccess") is not True:
        problems.append("uniformBucketLevelAccess is not true")
    if props.get("publicAccessPrevention") != "enforced":
        problems.append("publicAccessPrevention is not `enforced`")
    if dig(props, "versioning", "enabled") is not True:
        problems.append("versioning is not enabled")
    if problems:
        yield f"GCS bucket {args.name}: {'; '.join(problems)}. Weight buckets must be private and versioned."


gcs_buckets = resource_policy(
    "gcs-buckets-private-versioned",
    "GCS buckets enforce uniform access and public access prevention, and keep versions.",
    (GCS_BUCKET,), _check_gcs)


def _public_statements(policy: object) -> list[str]:
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return []
    found = []
    for i, st in enumerate(as_list(as_dict(policy).get("Statement"))):
        st = as_dict(st)
        principal = st.get("Principal")
        everyone = principal == "*" or (isinstance(principal, dict) and "*" in as_list(
            principal.get("AWS") if isinstance(principal.get("AWS"), list) else [principal.get("AWS")]))
        if st.get("Effect") == "Allow" and everyone and not st.get("Condition"):
            found.append(f"Statement[{i}] allows {st.get('Action')} to Principal *")
    return found


def _check_grants(resource_type: str, props: dict, args) -> Iterator[str]:
    what = f"{resource_type.rsplit(':', 1)[-1]} {args.name}"
    if resource_type.startswith("aws:s3/"):
        acl = props.get("acl")
        if isinstance(acl, str) and acl in PUBLIC_ACLS:
            yield f"{what}: canned ACL `{acl}` makes the bucket public"
        for grant in as_list(dig(props, "accessControlPolicy", "grants")):
            uri = dig(grant, "grantee", "uri")
            if isinstance(uri, str) and uri.endswith(("/global/AllUsers", "/global/AuthenticatedUsers")):
                yield f"{what}: ACL grant to {uri} makes the bucket public"
        for statement in _public_statements(props.get("policy")):
            yield f"{what}: bucket policy {statement}"
        return
    members = [props.get("member"), props.get("entity")] + as_list(props.get("members"))
    for member in members:
        if isinstance(member, str) and member in PUBLIC_MEMBERS:
            yield f"{what}: grants {props.get('role')} to {member}, which makes the bucket public"
    for role in as_list(props.get("roleEntities")):
        if isinstance(role, str) and role.split(":", 1)[-1] in PUBLIC_MEMBERS:
            yield f"{what}: ACL entry {role} makes the bucket public"
    if isinstance(props.get("policyData"), str):
        for binding in as_list(as_dict(_json(props["policyData"])).get("bindings")):
            for member in as_list(as_dict(binding).get("members")):
                if member in PUBLIC_MEMBERS:
                    yield f"{what}: IAM policy grants {as_dict(binding).get('role')} to {member}"


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return {}


bucket_grants = resource_policy(
    "buckets-grant-no-public-access",
    "No ACL, bucket policy or IAM grant opens a bucket to everyone.",
    ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2", "aws:s3/bucketAcl:BucketAcl",
     "aws:s3/bucketAclV2:BucketAclV2", "aws:s3/bucketPolicy:BucketPolicy",
     "gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding",
     "gcp:storage/bucketIAMPolicy:BucketIAMPolicy", "gcp:storage/bucketACL:BucketACL",
     "gcp:storage/bucketAccessControl:BucketAccessControl",
     "gcp:storage/defaultObjectAccessControl:DefaultObjectAccessControl",
     "gcp:storage/objectAccessControl:ObjectAccessControl"),
    _check_grants)

POLICIES = [s3_buckets, gcs_buckets, bucket_grants]
