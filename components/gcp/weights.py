"""`sovereign:gcp:WeightCache` and `sovereign:gcp:WeightReader`: model weights in GCS, read through
GKE Workload Identity."""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_gcp as gcp

from sovereign.domain.serving import WEIGHTS_PREFIX
from sovereign.domain.workloads import SERVING_NAMESPACE
from ..weights_args import WeightCacheArgs, WeightReaderArgs
from .identity import workload_account

NONCURRENT_DAYS = 30  # overwritten checkpoints stay restorable this long
ACCESS_LOG_WRITER = "cloud-storage-analytics@google.com"  # the group GCS writes usage logs as


class GcpWeightCache(pulumi.ComponentResource):
    def __init__(self, name: str, args: WeightCacheArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:gcp:WeightCache", name, None, opts)
        cloud = args.cloud
        # Losing the bucket loses every checkpoint: it survives `pulumi destroy` and drills.
        keep = pulumi.ResourceOptions(parent=self, provider=args.provider, protect=True, retain_on_delete=True)
        # Usage logs of every request to the weight bucket, into a private log bucket only GCS's analytics
        # account may write to (https://cloud.google.com/storage/docs/access-logs), kept for the audit trail.
        logs = gcp.storage.Bucket(
            f"{name}-weights-access-logs", project=cloud.project, location=cloud.region.name.upper(),
            uniform_bucket_level_access=True, public_access_prevention="enforced", force_destroy=False,
            # Versioned: a log object overwritten or deleted stays recoverable for the retention.
            versioning={"enabled": True},
            lifecycle_rules=[{"action": {"type": "Delete"}, "condition": {"age": args.log_retention_days}},
                             {"action": {"type": "Delete"}, "condition": {
                                 "days_since_noncurrent_time": args.log_retention_days, "with_state": "ARCHIVED"}}],
            labels=dict(args.labels), opts=keep)
        writer = gcp.storage.BucketIAMMember(
            f"{name}-weights-access-logs", bucket=logs.name, role="roles/storage.objectCreator",
            member=f"group:{ACCESS_LOG_WRITER}", opts=pulumi.ResourceOptions(parent=self, provider=args.provider))
        # GCS encrypts every object at rest with Google-managed keys; public access is prevented outright.
        self.bucket = gcp.storage.Bucket(
            f"{name}-weights", project=cloud.project, location=cloud.region.name.upper(),
            uniform_bucket_level_access=True, public_access_prevention="enforced", force_destroy=False,
            versioning={"enabled": True},
            lifecycle_rules=[{"action": {"type": "Delete"},
                              "condition": {"days_since_noncurrent_time": NONCURRENT_DAYS, "with_state": "ARCHIVED"}}],
            soft_delete_policy={"retention_duration_seconds": 7 * 24 * 3600},
            logging={"log_bucket": logs.name, "log_object_prefix": "weights"},
            labels=dict(args.labels), opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[writer])))
        self.bucket_name = self.bucket.name
        self.uri = pulumi.Output.concat("gs://", self.bucket.name, f"/{WEIGHTS_PREFIX}")
        self.register_outputs({"bucketName": self.bucket_name, "uri": self.uri})


class GcpWeightReader(pulumi.ComponentResource):
    def __init__(self, name: str, args: WeightReaderArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:gcp:WeightReader", name, None, opts)
        project = args.plan.cloud.project
        # After the cluster: it creates the Workload Identity pool the bindings name, and waits for the IAM
        # API (reality rules gke-workload-identity-bindings-wait-for-the-pool, gcp-resources-wait-for-their-api).
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[args.cluster.cluster])
        # Each release's Kubernetes service account may act as the reader, and nothing else may.
        reader = workload_account(f"{name}-weights-reader", name, "weights", f"Model servers of {name} reading weights",
                                  project, [(SERVING_NAMESPACE, sa) for sa in args.service_accounts], child)
        gcp.storage.BucketIAMMember(f"{name}-weights-reader", bucket=args.cache.bucket_name,
                                    role="roles/storage.objectViewer", member=reader.member, opts=child)
        self.service_account_values = {"gcpServiceAccount": reader.email}
        self.weights_values: dict = {}
        self.register_outputs({"serviceAccount": reader.email})
