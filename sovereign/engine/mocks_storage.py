"""Offline answers for the weight caches: S3 and GCS buckets named as the providers would name them."""

from __future__ import annotations

from typing import Any, Callable

import pulumi

from .mock_context import ProviderContext, short_hash

Args = pulumi.runtime.MockResourceArgs


def _s3_bucket(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    # Auto-naming (the engine's job) appends a random suffix to the logical name.
    bucket = args.inputs.get("bucket") or f"{args.name}-{short_hash('s3', args.name, n=7)}"
    return {"id": bucket, "bucket": bucket, "arn": f"arn:{ctx.partition}:s3:::{bucket}",
            "region": ctx.region, "bucketRegionalDomainName": f"{bucket}.s3.{ctx.region}.amazonaws.com"}


def _gcs_bucket(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    name = args.inputs.get("name") or f"{args.name}-{short_hash('gcs', args.name, n=7)}"
    return {"id": name, "name": name, "url": f"gs://{name}",
            "selfLink": f"https://www.googleapis.com/storage/v1/b/{name}", "project": ctx.project}


OUTPUTS: dict[str, Callable[[Args, ProviderContext], dict[str, Any]]] = {
    "aws:s3/bucket:Bucket": _s3_bucket,
    "gcp:storage/bucket:Bucket": _gcs_bucket,
}
