"""The node service account: the nodes' own identity instead of the default Compute Engine account
(which holds Editor on the project), with only what the kubelet and GKE's agents need."""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_gcp as gcp

NODE_ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/artifactregistry.reader",  # pull serving images from the project's registries
    # Image streaming on a custom node account: https://cloud.google.com/kubernetes-engine/docs/how-to/image-streaming
    "roles/serviceusage.serviceUsageConsumer",
)


def account_id(name: str, purpose: str = "nodes") -> str:
    """A service account id (6-30 characters) for one purpose of the cluster, stable for its name."""
    wanted = f"{name}-{purpose}"
    if len(wanted) <= 30:
        return wanted
    return f"{wanted[:21]}-{hashlib.sha256(wanted.encode()).hexdigest()[:8]}"


def node_identity(name: str, project: str, opts: pulumi.ResourceOptions
                  ) -> tuple[gcp.serviceaccount.Account, list[gcp.projects.IAMMember]]:
    account = gcp.serviceaccount.Account(
        f"{name}-nodes",
        account_id=account_id(name),
        display_name=f"GKE nodes of {name}",
        project=project,
        opts=opts,
    )
    bindings = [gcp.projects.IAMMember(
        f"{name}-nodes-{role.split('/')[1].replace('.', '-').lower()}",
        project=project,
        role=role,
        member=account.member,
        opts=opts,
    ) for role in NODE_ROLES]
    return account, bindings


def workload_account(resource: str, name: str, purpose: str, display_name: str, project: str,
                     kubernetes_accounts: list[tuple[str, str]], opts: pulumi.ResourceOptions
                     ) -> gcp.serviceaccount.Account:
    """A Google service account that these Kubernetes service accounts (namespace, name) may act as through
    Workload Identity, and nothing else may. `opts` must wait for the cluster, which creates the identity pool
    the bindings name (reality rule gke-workload-identity-bindings-wait-for-the-pool)."""
    account = gcp.serviceaccount.Account(resource, account_id=account_id(name, purpose), display_name=display_name,
                                         project=project, opts=opts)
    for namespace, kubernetes_account in kubernetes_accounts:
        gcp.serviceaccount.IAMMember(
            f"{name}-{kubernetes_account}-workload-identity", service_account_id=account.name,
            role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{project}.svc.id.goog[{namespace}/{kubernetes_account}]", opts=opts)
    return account
