"""What every cloud's components expose, so the region composes AWS and GCP the same way.

Per-cloud components have identical shapes (Pulumi's component guidelines: per-cloud components of
the same shape, not a lowest-common-denominator abstraction); these Protocols name that shape.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol

import pulumi


class GpuCluster(Protocol):
    cluster: pulumi.CustomResource            # EKS / GKE cluster: what runs inside is deleted with it
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]            # secret; exec-based credentials
    k8s_provider: pulumi.ProviderResource
    network_id: pulumi.Output[str]
    # The endpoint every object-store request of the network leaves through, whose policy the fence scopes (the
    # S3 gateway endpoint on EKS); None where the cloud has no such policy point (GKE: Private Google Access).
    storage_endpoint: pulumi.Output[str] | None
    node_identity: pulumi.Output[str]
    workload_identity: pulumi.Output[str]
    gpu_pools: Mapping[str, pulumi.Output[str]]
    image_registry: pulumi.Output[str]        # where the cluster's registry mirrors are (cluster_args)
    # What enforces network policies once it is up (Cilium on EKS), for the fences to wait on; None where the
    # cluster's own dataplane does from the start (GKE Dataplane V2).
    policy_enforcer: pulumi.Resource | None


class EgressFence(Protocol):
    hosts: Mapping[str, Mapping[str, list[str]]]   # layer → lists of hosts as rendered (egress_args)


class WeightCache(Protocol):
    bucket_name: pulumi.Output[str]
    uri: pulumi.Output[str]                   # `s3://…/models` / `gs://…/models`


class WeightReader(Protocol):
    service_account_values: dict[str, Any]    # chart `serviceAccount` values binding the pods' identity
    weights_values: dict[str, Any]            # extra chart `weights` values


class GatewayIdentity(Protocol):
    annotations: Mapping[str, Any]            # the gateway's service account acts as the cloud identity with these
