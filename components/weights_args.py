"""Inputs of the weight-cache and weight-reader components. AWS and GCP take the same Args.

The cache is the region's stateful store of model weights: one private, encrypted, versioned bucket
per cloud, protected and retained, never parented to a cluster (a DR drill deletes clusters, never
weights). The reader is per cluster: the workload identity through which the model servers' pods —
and nothing else — read the bucket.

Every read and write of the bucket is logged into a log bucket of its own (kept as long as the stack's audit trail).

Cache outputs:   bucket_name  Output[str];  uri  Output[str] (`s3://…/models` / `gs://…/models`)
Reader outputs:  service_account_values  dict   chart `serviceAccount` values binding the pods' identity
                 weights_values          dict   extra chart `weights` values (e.g. the bucket's region)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import pulumi

from sovereign.domain.spec import CloudSpec
from sovereign.domain.topology import ClusterPlan

from .contracts import GpuCluster, WeightCache


@dataclass(frozen=True)
class WeightCacheArgs:
    cloud: CloudSpec                          # kept even when a drill tears the cloud's cluster down
    labels: Mapping[str, str]
    provider: pulumi.ProviderResource
    log_retention_days: int                   # the bucket's access logs are kept this long


@dataclass(frozen=True)
class WeightReaderArgs:
    plan: ClusterPlan
    provider: pulumi.ProviderResource
    cache: WeightCache                       # the same cloud's WeightCache
    cluster: GpuCluster                      # the same cloud's GpuCluster (workload identity issuer)
    service_accounts: tuple[str, ...]        # Kubernetes service accounts of the releases, in SERVING_NAMESPACE
