"""`sovereign:k8s:InferenceGateway`: the LiteLLM proxy of one cluster, rendered from a GatewayConfig.

Everything the gateway does is decided in sovereign/domain/gateway.py; this component only renders it:
a ConfigMap with the proxy config (no secret in it), a Secret with the routed providers' keys taken
from Pulumi secret config, and the Deployment, Service, PodDisruptionBudget, HorizontalPodAutoscaler
and ServiceAccount in the gateway namespace. The pods carry GATEWAY_POD_LABELS, the labels the egress
fence lets reach the allowed managed-API hosts and the model servers; nothing else may.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from sovereign.domain.gateway import CONFIG_FILE, GATEWAY_NAME, KEYS_SECRET, GatewayConfig
from sovereign.domain.gateway_workload import (
    GATEWAY_LABELS, deployment_spec, hpa_spec, pdb_spec, scrape_spec, secret_reader_rbac, service_spec,
)
from sovereign.domain.workloads import GATEWAY_NAMESPACE

KEYS_ANNOTATION = "sovereign.ai/keys"


@dataclass(frozen=True)
class InferenceGatewayArgs:
    config: GatewayConfig
    k8s_provider: pulumi.ProviderResource
    cluster: pulumi.Resource                  # every object is deleted with it
    image: pulumi.Input[str]                  # LiteLLM's image as the cluster pulls it (its mirror)
    # The service account's annotations binding it to the gateway's cloud identity (GatewayIdentity), if any.
    account_annotations: Mapping[str, Any] = field(default_factory=dict)
    # `sovereign:apiKeys` as a secret Output (provider → key); None when the stack sets no key.
    api_keys: Optional[pulumi.Output[Any]] = None
    # The cloud's scrape object (profile.elastic.scrape) for the gateway's /metrics, and what installs its CRD.
    scrape: str = "serviceMonitor"
    scraper_account: Optional[tuple[str, str]] = None
    after: Sequence[pulumi.Resource] = ()


class InferenceGateway(pulumi.ComponentResource):
    def __init__(self, name: str, args: InferenceGatewayArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:k8s:InferenceGateway", name, None, opts)
        config = args.config
        on_cluster = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, deleted_with=args.cluster)

        def meta(suffix: str = "") -> dict[str, Any]:
            return {"name": f"{GATEWAY_NAME}{suffix}", "namespace": GATEWAY_NAMESPACE, "labels": GATEWAY_LABELS}

        account_meta = {**meta(), **({"annotations": dict(args.account_annotations)} if args.account_annotations else {})}
        account = k8s.core.v1.ServiceAccount(
            f"{name}-gateway", metadata=account_meta, automount_service_account_token=False, opts=on_cluster)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-gateway-config", metadata=meta("-config"), data={CONFIG_FILE: config.render()}, opts=on_cluster)
        secret = None
        entries = config.secret_entries
        if entries:
            if args.api_keys is None:
                raise ValueError(f"{name}: the gateway needs {', '.join(entries)} but no apiKeys were given")
            # Each value stays a secret Output from Pulumi config to the Secret: masked in state and plans.
            secret = k8s.core.v1.Secret(
                f"{name}-gateway-keys", type="Opaque",
                # Which variables it holds (names, not values): the Deployment's secretKeyRefs, readable in plans.
                metadata={**meta(), "name": KEYS_SECRET, "annotations": {KEYS_ANNOTATION: ",".join(entries)}},
                string_data={env: pulumi.Output.secret(args.api_keys.apply(lambda keys, k=entry: keys[k]))
                             for env, entry in entries.items()},
                opts=on_cluster)
        # Its pods are ready only once a model server of the cluster is (GPU nodes, weights: often longer than an
        # update should wait), and never without the gateway key (fail-closed): `pulumi up` does not wait for them.
        deployment_meta = {**meta(), "annotations": {"pulumi.com/skipAwait": "true"}}
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-gateway", metadata=deployment_meta,
            spec=deployment_spec(config, GATEWAY_LABELS, account_name=GATEWAY_NAME, config_map=f"{GATEWAY_NAME}-config",
                                 image=args.image),
            opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(
                depends_on=[account, config_map, *([secret] if secret else [])],
                # The HPA owns the replica count after the first rollout.
                ignore_changes=["spec.replicas"])))
        self.service = k8s.core.v1.Service(f"{name}-gateway", metadata=meta(), spec=service_spec(), opts=on_cluster)
        k8s.policy.v1.PodDisruptionBudget(f"{name}-gateway", metadata=meta(), spec=pdb_spec(), opts=on_cluster)
        if secret is not None:   # a gateway without its key serves nothing, /metrics included
            self._scrape(name, args, meta, on_cluster, secret)
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-gateway", metadata=meta(), spec=hpa_spec(), opts=pulumi.ResourceOptions.merge(
                on_cluster, pulumi.ResourceOptions(depends_on=[self.deployment])))
        self.endpoint = config.endpoint
        self.summary = config.to_dict()
        self.register_outputs({"endpoint": self.endpoint, "routes": self.summary["routes"],
                               "fallbacks": self.summary["fallbacks"], "aliases": self.summary["aliases"],
                               "warnings": self.summary["warnings"]})

    def _scrape(self, name: str, args: InferenceGatewayArgs, meta, on_cluster: pulumi.ResourceOptions,
                secret: pulumi.Resource) -> None:
        """The cloud's scrape object for /metrics, with the gateway's key (after the CRD's installer), and, where the
        scraper reads secrets only when granted, its grant on the key Secret alone."""
        grants: list[pulumi.Resource] = []
        if args.scraper_account:
            rules, subject = secret_reader_rbac(args.scraper_account)
            role = k8s.rbac.v1.Role(f"{name}-gateway-metrics-key", metadata=meta("-metrics-key"), rules=rules,
                                    opts=on_cluster)
            grants.append(k8s.rbac.v1.RoleBinding(
                f"{name}-gateway-metrics-key", metadata=meta("-metrics-key"), subjects=[subject],
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{GATEWAY_NAME}-metrics-key"},
                opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[role]))))
        api_version, kind, spec = scrape_spec(args.scrape)
        k8s.apiextensions.CustomResource(
            f"{name}-gateway-metrics", api_version=api_version, kind=kind, metadata=meta(), spec=spec,
            opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(
                depends_on=[*args.after, secret, *grants])))

