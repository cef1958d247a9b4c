"""The Google APIs a GKE cluster needs, enabled on the stack's project."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

APIS = (
    "compute.googleapis.com",               # network, router, NAT, node VMs
    "container.googleapis.com",             # GKE
    "iam.googleapis.com",                   # the node service account
    "iamcredentials.googleapis.com",        # Workload Identity token exchange
    "cloudresourcemanager.googleapis.com",  # project IAM bindings
    "cloudkms.googleapis.com",              # the cluster's secrets key
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "containerfilesystem.googleapis.com",   # Image streaming on the GPU pools
)


def enable_apis(name: str, project: str, opts: pulumi.ResourceOptions) -> dict[str, gcp.projects.Service]:
    return {api: gcp.projects.Service(
        f"{name}-{api.split('.')[0]}",
        project=project,
        service=api,
        # Other stacks and tools share the project: a drill teardown must never switch an API off.
        disable_on_destroy=False,
        opts=opts,
    ) for api in APIS}
