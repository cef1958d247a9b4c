"""Inputs of the GPU cluster components. AWS and GCP take the same Args and expose the same outputs.

Outputs, identical in name and meaning on both clouds:
    cluster_name       Output[str]   the EKS / GKE cluster name
    endpoint           Output[str]   the Kubernetes API endpoint (https://…)
    kubeconfig         Output[str]   secret; exec-based credentials, no static token
    k8s_provider       kubernetes.Provider for everything installed on the cluster
    network_id         Output[str]   VPC id / VPC network self link
    node_identity      Output[str]   node IAM role ARN / node service account email
    workload_identity  Output[str]   IRSA OIDC provider ARN / Workload Identity pool
    gpu_pools          dict[str, Output[str]]  pool name (as in the plan) → node group / node pool id
    image_registry     Output[str]   the registry host the cluster's mirrors are under (ECR registry / Artifact
                                     Registry location and project); ImageRef.repository(image_registry) names an image
    cluster            the EKS / GKE cluster resource (for `deleted_with` on what runs inside it)
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from sovereign.domain.images import ClusterImages
from sovereign.domain.topology import ClusterPlan


@dataclass(frozen=True)
class GpuClusterArgs:
    plan: ClusterPlan                   # every size, range and pool, decided in the domain layer
    provider: pulumi.ProviderResource   # the cloud's explicit provider for this region
    images: ClusterImages               # the registry mirrors to create and where each image is pulled from
    # Registries the stack fills itself, which outlive the cluster (AWS: the ImageStore's ECR repositories); the
    # cluster pulls from them and waits for them.
    stored_images: tuple[pulumi.Resource, ...] = ()
    # A drill's downed cluster in its release phase: nothing its controllers would make outside Pulumi (GPU nodes by
    # Karpenter), so the teardown that follows finds nothing of theirs in its network.
    released: bool = False
