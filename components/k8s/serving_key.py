"""`sovereign:k8s:ServingKey`: the model servers' API key in one cluster, and where it may be read.

Generated once (pulumi-random keeps it in the stack's state, encrypted like any secret) and written to a Secret
in the serving namespace, for vLLM, and one in the gateway namespace, for the open-weight routes: nothing else
holds it. A pod that reaches a model server past the ingress policy still cannot use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from sovereign.domain.workloads import GATEWAY_NAMESPACE, SERVING_KEY_FIELD, SERVING_KEY_SECRET, SERVING_NAMESPACE

KEY_LENGTH = 48


@dataclass(frozen=True)
class ServingKeyArgs:
    random_provider: pulumi.ProviderResource
    k8s_provider: pulumi.ProviderResource
    cluster: pulumi.Resource                  # the Secrets are deleted with it; the key stays in state


class ServingKey(pulumi.ComponentResource):
    def __init__(self, name: str, args: ServingKeyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:k8s:ServingKey", name, None, opts)
        key = random.RandomPassword(f"{name}-serving-key", length=KEY_LENGTH, special=False,
                                    opts=pulumi.ResourceOptions(parent=self, provider=args.random_provider))
        on_cluster = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, deleted_with=args.cluster)
        self.secrets = [
            k8s.core.v1.Secret(f"{name}-{namespace}-serving-key", type="Opaque",
                               metadata={"name": SERVING_KEY_SECRET, "namespace": namespace},
                               string_data={SERVING_KEY_FIELD: key.result}, opts=on_cluster)
            for namespace in (SERVING_NAMESPACE, GATEWAY_NAMESPACE)]
        self.register_outputs({})
