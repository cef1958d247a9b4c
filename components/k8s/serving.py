"""`sovereign:k8s:ModelServing`: one charts/model-server release per model on one cluster.

Values come from the domain (spec + sizing, see domain/serving.py); this component only adds what
exists once cloud resources do: each model's weights URI in the region's bucket and the workload
identity that may read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from sovereign.domain.images import ClusterImages
from sovereign.domain.serving import CHART_PATH, Release
from sovereign.domain.workloads import SERVING_NAMESPACE, SERVING_PORT


@dataclass(frozen=True)
class ModelServingArgs:
    releases: tuple[Release, ...]
    k8s_provider: pulumi.ProviderResource
    cluster: pulumi.Resource                 # releases are deleted with it
    weights_uri: pulumi.Input[str]           # the cache's `…/models` prefix
    service_account_values: dict[str, Any]   # from the cloud's WeightReader
    weights_values: dict[str, Any]
    images: ClusterImages                    # where the cluster pulls vLLM and the prefetch's CLIs
    image_registry: pulumi.Output[str]       # the cluster's mirror registry
    # What every release waits for: the fence's policies and the namespace, and the releases installing the CRDs of
    # what the chart renders (KEDA's ScaledObject, the prometheus-operator's ServiceMonitor).
    after: tuple[pulumi.Resource, ...] = ()


class ModelServing(pulumi.ComponentResource):
    def __init__(self, name: str, args: ModelServingArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:k8s:ModelServing", name, None, opts)
        self.endpoints: dict[str, str] = {}
        images = {i: args.image_registry.apply(ref.chart_values) for i, ref in args.images.refs.items()}
        for release in args.releases:
            values = {
                **release.values,
                # Service and service account carry the release name: stable for routes and identity bindings.
                "fullnameOverride": release.name,
                "image": images["vllm"],
                "weights": {**release.values["weights"], **args.weights_values,
                            "uri": pulumi.Output.concat(args.weights_uri, "/", release.model),
                            "prefetch": {"awsImage": images["aws-cli"], "gcpImage": images["google-cloud-cli"]}},
                "serviceAccount": {"create": True, "name": release.name, **args.service_account_values},
            }
            k8s.helm.v4.Chart(
                f"{name}-{release.name}", chart=CHART_PATH, name=release.name, namespace=SERVING_NAMESPACE,
                values=values,
                # A GPU node scale-up plus the weight load can outlast Pulumi's await; readiness is the
                # probes' job and the failover health checks', not the deployment's.
                skip_await=True,
                opts=pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, deleted_with=args.cluster,
                                            depends_on=list(args.after)))
            self.endpoints[release.model] = f"http://{release.name}.{SERVING_NAMESPACE}.svc:{SERVING_PORT}"
        self.register_outputs({"endpoints": self.endpoints})
