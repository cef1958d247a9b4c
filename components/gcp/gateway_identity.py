"""`sovereign:gcp:GatewayIdentity`: the gateway's Google service account, which reaches the managed APIs its cloud
serves (Vertex) through GKE Workload Identity: no service-account key exists to hold, leak or rotate.

The gateway's Kubernetes service account may act as it and nothing else may; the account holds a custom role with
only the permissions the cloud profile names per provider (Vertex: aiplatform.endpoints.predict). LiteLLM finds it as application default credentials from the
GKE metadata server (the gateway's pods may reach it: egress_pod).
"""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_gcp as gcp

from sovereign.clouds import profile
from sovereign.domain.gateway import GATEWAY_NAME
from sovereign.domain.workloads import GATEWAY_NAMESPACE
from ..gateway_identity_args import GatewayIdentityArgs
from .identity import workload_account


class GcpGatewayIdentity(pulumi.ComponentResource):
    def __init__(self, name: str, args: GatewayIdentityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:gcp:GatewayIdentity", name, None, opts)
        project = args.plan.cloud.project
        # After the cluster, which creates the Workload Identity pool the binding names.
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[args.cluster.cluster])
        account = workload_account(f"{name}-gateway", name, "gateway", f"Inference gateway of {name}", project,
                                   [(GATEWAY_NAMESPACE, GATEWAY_NAME)], child)
        permissions = dict(profile("gcp").identity_providers)
        # Only what its routes need: a role of the stack's own (its id per cluster, as stacks may share a project).
        role = gcp.projects.IAMCustomRole(
            f"{name}-gateway", project=project, role_id=f"sovereignGateway_{name.replace('-', '_')}",
            title=f"Inference gateway of {name}", permissions=sorted({permissions[p] for p in args.providers}),
            opts=child)
        gcp.projects.IAMMember(f"{name}-gateway", project=project, role=role.name, member=account.member, opts=child)
        self.annotations = {"iam.gke.io/gcp-service-account": account.email}
        self.register_outputs({"serviceAccount": account.email})
