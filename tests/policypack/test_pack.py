"""The policy pack (policypack/): each policy called directly with passing and violating resources, the whole pack
over every stack's resource graph (must pass), and over mutated graphs (must fail, with the right policy).

The pack runs in its own venv through tests/support/policypack_harness.py (a missing venv fails, naming `make tools`).
Every runner job gets the environment the Pulumi CLI gives a policy pack — PULUMI_STACK and PULUMI_CONFIG — so
the denied hosts come from the same config, policy file and domain code as under `pulumi preview --policy-pack`.
All jobs of this module run in one subprocess (module fixture `results`).
"""

from __future__ import annotations

import copy
import json
import os
import select
import subprocess
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from sovereign.engine.snapshot import snapshot

from tests.support.groups import RENDERED_RELEASES
from tests.support.graph import Graph
from tests.support.helm import REPO_ROOT
from tests.support.policypack_harness import (
    PACK_DIR, explain, graph_of, pack_python, resource, run, stack_env, stack_graph, violated,
)
from tests.support.stacks import POLICY_FILE, STACKS
from tests.support.tokens import T

pytestmark = RENDERED_RELEASES

EU = "eu-central"                      # DE: DeepSeek denied by rule, OpenAI through eu.api.openai.com
DENIED = "api.deepseek.com"
SK_OPENAI = "sk-proj-" + "Q" * 40
SK_ANTHROPIC = "sk-ant-api03-" + "x" * 40


# -- building blocks ---------------------------------------------------------------------------------------------

def cilium(name: str, *selectors: dict) -> dict:
    return resource(T.CILIUM_NETWORK_POLICY, name, {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                                   "metadata": {"name": name, "namespace": "sovereign-gateway"},
                                   "spec": {"endpointSelector": {"matchLabels": {"app": "x"}},
                                            "egress": [{"toFQDNs": list(selectors),
                                                        "toPorts": [{"ports": [{"port": "443"}]}]}]}})


def gke_fqdn(name: str, *matches: dict) -> dict:
    return resource(T.FQDN_NETWORK_POLICY, name, {
        "apiVersion": "networking.gke.io/v1alpha1", "kind": "FQDNNetworkPolicy",
        "metadata": {"name": name, "namespace": "sovereign-gateway"},
        "spec": {"podSelector": {}, "egress": [{"matches": list(matches)}]}})


def ngfw(name: str, action: str, *fqdns: str) -> dict:
    return resource(T.NGFW_RULE, name, {"action": action, "direction": "EGRESS", "priority": 900,
                                      "firewallPolicy": "p", "match": {"destFqdns": list(fqdns)}})


def dns_pair(name: str, action: str, domains: list[str], link: str = "property") -> list[dict]:
    domain_list = resource(T.DNS_FIREWALL_DOMAIN_LIST, f"{name}-list", {"name": f"{name}-list", "domains": domains})
    rule = resource(T.DNS_FIREWALL_RULE, name, {"action": action, "priority": 50, "firewallRuleGroupId": "rslvr-frg-1",
                                     "firewallDomainListId": "[unknown]"})
    if link == "property":
        rule["propertyDependencies"] = {"firewallDomainListId": [domain_list["urn"]]}
        rule["options"] = {"dependsOn": [domain_list["urn"]]}
    elif link == "depends":
        rule["options"] = {"dependsOn": [domain_list["urn"]]}
    return [domain_list, rule] if link != "none" else [rule]


def litellm(*routes: dict, **extra) -> str:
    return yaml.safe_dump({"model_list": list(routes), **extra})


def configmap(name: str, data: dict, namespace: str = "sovereign-gateway") -> dict:
    return resource(T.CONFIG_MAP, name, {"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": name, "namespace": namespace}, "data": data})


def container(name: str = "app", limits: dict | None = None, env: list | None = None, **extra) -> dict:
    out = {"name": name, "image": "example/app:1.0",
           "resources": {"limits": limits if limits is not None else {"cpu": "1", "memory": "1Gi"}}, **extra}
    if env is not None:
        out["env"] = env
    return out


def deployment(name: str, containers: list[dict], namespace: str = "sovereign-serving", labels: dict | None = None,
               kind_type: str = T.DEPLOYMENT, **pod) -> dict:
    labels = labels or {"app.kubernetes.io/name": "model-server"}
    template = {"metadata": {"labels": labels}, "spec": {"containers": containers, **pod}}
    kind = kind_type.rsplit(":", 1)[-1]
    return resource(kind_type, name, {"apiVersion": "apps/v1", "kind": kind,
                                      "metadata": {"name": name, "namespace": namespace},
                                      "spec": {"selector": {"matchLabels": labels}, "template": template}})


GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}
GPU_NODES = {"sovereign.ai/gpu": "nvidia-l4"}


def gpu_container(**extra) -> dict:
    return container("vllm", {"cpu": "4", "memory": "14Gi", "nvidia.com/gpu": 1},
                     **({"resources": {"requests": {"nvidia.com/gpu": 1},
                                       "limits": {"cpu": "4", "memory": "14Gi", "nvidia.com/gpu": 1}}} | extra))


def s3_set(versioning: str = "Enabled", algorithm: str = "aws:kms", block: bool = True) -> list[dict]:
    bucket = resource(T.S3_BUCKET, "weights", {"forceDestroy": False})

    def companion(type_: str, inputs: dict) -> dict:
        return resource(type_, f"weights-{type_.rsplit(':', 1)[-1]}", {"bucket": "[unknown]", **inputs},
                        propertyDependencies={"bucket": [bucket["urn"]]}, options={"dependsOn": [bucket["urn"]]})

    return [bucket,
            companion(T.S3_PUBLIC_ACCESS_BLOCK, {s: (block or s != "restrictPublicBuckets") for s in
                            ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")}),
            companion(T.S3_ENCRYPTION,
                      {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm}}]}),
            companion(T.S3_VERSIONING, {"versioningConfiguration": {"status": versioning}})]


def gcs(**overrides) -> dict:
    return resource(T.GCS_BUCKET, "weights", {"uniformBucketLevelAccess": True, "publicAccessPrevention": "enforced",
                                     "versioning": {"enabled": True}, **overrides})


def eks(name: str = "c-aws", **vpc) -> dict:
    return resource(T.EKS_CLUSTER, name, {"name": name, "vpcConfig": {"subnetIds": ["s"], **vpc}})


def gke(name: str = "c-gcp", **inputs) -> dict:
    return resource(T.GKE_CLUSTER, name, {"name": name, "location": "x", **inputs})


def serving_stack(gpu_max: int = 2, with_release: bool = True, with_pool: bool = True) -> list[dict]:
    """A minimal AWS serving provider: cluster, GPU node group, k8s provider on the cluster, one release."""
    cluster = eks("c-aws", endpointPublicAccess=False)
    provider = resource(T.K8S_PROVIDER, "c-aws", {"kubeconfig": "[secret]"}, options={"dependsOn": [cluster["urn"]]})
    pool = resource(T.EKS_NODE_GROUP, "c-aws-gpu", {"clusterName": "c-aws", "amiType": "AL2023_x86_64_NVIDIA",
                                             "scalingConfig": {"minSize": 0, "maxSize": gpu_max}},
                    options={"dependsOn": [cluster["urn"]]})
    release = deployment("llama", [gpu_container()], tolerations=[GPU_TOLERATION], nodeSelector=GPU_NODES)
    release["provider"] = provider["urn"]
    return [cluster, provider] + ([pool] if with_pool else []) + ([release] if with_release else [])


def ban_policy(tmp: Path, provider: str, country: str) -> Path:
    doc = yaml.safe_load(POLICY_FILE.read_text())
    doc.setdefault("bans", []).append({"id": f"ban-{provider}-{country.lower()}-test", "providers": [provider],
                                       "countries": [country], "reason": "test ban", "since": "2026-01-01"})
    path = tmp / "ban.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


# -- direct calls: (policy, case, mode, payload, env stack or None, expected violation) ---------------------------

def unit_cases(tmp: Path | None) -> list[tuple[str, str, str, object, dict, bool]]:
    eu, cn = stack_env(EU), stack_env("cn-north")
    no_env: dict = {}
    fallback = {"PULUMI_STACK": EU}  # no PULUMI_CONFIG: the pack reads stacks/Pulumi.eu-central.yaml
    banned = {**eu, "SOVEREIGN_POLICY": str(ban_policy(tmp, "anthropic", "DE")) if tmp else ""}
    local_route = {"model_name": "llama", "litellm_params": {
        "model": "hosted_vllm/llama", "api_base": "http://llama.sovereign-serving.svc:8000/v1"}}
    claude = {"model_name": "claude", "litellm_params": {
        "model": "anthropic/claude-sonnet-4-5", "api_base": "https://api.anthropic.com",
        "api_key": "os.environ/ANTHROPIC_API_KEY"}}
    R, S = "resource", "stack"
    return [
        ("pod-fqdn-allow-no-denied-host", "cilium-allowed-hosts", R,
         cilium("ok", {"matchName": "api.anthropic.com"}, {"matchName": "eu.api.openai.com"}), eu, False),
        ("pod-fqdn-allow-no-denied-host", "cilium-denied-name", R, cilium("bad", {"matchName": DENIED}), eu, True),
        ("pod-fqdn-allow-no-denied-host", "cilium-match-everything", R, cilium("bad", {"matchPattern": "*"}), eu,
         True),
        ("pod-fqdn-allow-no-denied-host", "cilium-wildcard-over-denied", R,
         cilium("bad", {"matchPattern": "**.deepseek.com"}), eu, True),
        ("pod-fqdn-allow-no-denied-host", "gke-allowed", R, gke_fqdn("ok", {"name": "api.mistral.ai"}), eu, False),
        ("pod-fqdn-allow-no-denied-host", "gke-denied-pattern", R, gke_fqdn("bad", {"pattern": "*.deepseek.com"}),
         eu, True),
        ("pod-fqdn-allow-no-denied-host", "openai-global-host-in-eu", R,
         cilium("ok", {"matchName": "api.openai.com"}), eu, False),  # allowed provider: not a denied host
        ("pod-fqdn-allow-no-denied-host", "cn-north-denies-openai", R,
         cilium("bad", {"matchName": "api.openai.com"}), cn, True),
        ("pod-fqdn-allow-no-denied-host", "fails-closed-without-stack", R,
         cilium("ok", {"matchName": "api.anthropic.com"}), no_env, True),
        ("pod-fqdn-allow-no-denied-host", "stack-file-fallback-allows", R,
         cilium("ok", {"matchName": "api.anthropic.com"}), fallback, False),
        ("pod-fqdn-allow-no-denied-host", "stack-file-fallback-denies", R,
         cilium("bad", {"matchName": DENIED}), fallback, True),
        ("pod-fqdn-allow-no-denied-host", "policy-file-ban-applies", R,
         cilium("bad", {"matchName": "api.anthropic.com"}), banned, True),
        ("ngfw-allow-no-denied-host", "allow-allowed", R, ngfw("ok", "allow", "api.mistral.ai"), eu, False),
        ("ngfw-allow-no-denied-host", "allow-denied", R, ngfw("bad", "allow", "api.mistral.ai", DENIED), eu, True),
        ("ngfw-allow-no-denied-host", "deny-denied", R, ngfw("ok", "deny", DENIED), eu, False),
        ("dns-firewall-allow-no-denied-host", "allow-list-clean", S,
         dns_pair("ok", "ALLOW", ["api.anthropic.com"]), eu, False),
        ("dns-firewall-allow-no-denied-host", "allow-list-denied", S,
         dns_pair("bad", "ALLOW", ["api.anthropic.com", DENIED]), eu, True),
        ("dns-firewall-allow-no-denied-host", "allow-list-by-dependency", S,
         dns_pair("bad", "ALLOW", ["*.deepseek.com"], link="depends"), eu, True),
        ("dns-firewall-allow-no-denied-host", "allow-list-not-in-stack", S,
         dns_pair("bad", "ALLOW", [], link="none"), eu, True),
        ("dns-firewall-allow-no-denied-host", "block-list-denied", S, dns_pair("ok", "BLOCK", [DENIED]), eu, False),
        ("gateway-routes-no-denied-host", "local-and-allowed-routes", R,
         configmap("gw", {"config.yaml": litellm(local_route, claude)}), eu, False),
        ("gateway-routes-no-denied-host", "denied-provider-prefix", R,
         configmap("gw", {"config.yaml": litellm(local_route, {"model_name": "ds", "litellm_params": {
             "model": "deepseek/deepseek-chat", "api_key": "os.environ/DEEPSEEK_API_KEY"}})}), eu, True),
        ("gateway-routes-no-denied-host", "denied-api-base", R,
         configmap("gw", {"config.yaml": litellm({"model_name": "ds", "litellm_params": {
             "model": "openai/deepseek-chat", "api_base": "https://api.deepseek.com/v1"}})}), eu, True),
        ("gateway-routes-no-denied-host", "cn-north-openai-route", R,
         configmap("gw", {"config.yaml": litellm({"model_name": "gpt", "litellm_params": {
             "model": "openai/gpt-4.1"}})}), cn, True),
        ("gpu-workloads-request-and-tolerate-gpus", "gpu-deployment", R,
         deployment("ok", [gpu_container()], tolerations=[GPU_TOLERATION], nodeSelector=GPU_NODES), eu, False),
        ("gpu-workloads-request-and-tolerate-gpus", "no-toleration", R,
         deployment("bad", [gpu_container()], nodeSelector=GPU_NODES), eu, True),
        ("gpu-workloads-request-and-tolerate-gpus", "gpu-nodes-without-gpu-limit", R,
         deployment("bad", [container("vllm", {"cpu": "4", "memory": "14Gi"})], tolerations=[GPU_TOLERATION],
                    nodeSelector=GPU_NODES), eu, True),
        ("gpu-workloads-request-and-tolerate-gpus", "cpu-workload", R,
         deployment("ok", [container()], labels={"app": "web"}, namespace="default"), eu, False),
        ("gpu-workloads-request-and-tolerate-gpus", "gpu-node-agent-daemonset", R,
         deployment("ok", [container("agent")], labels={"app": "agent"}, namespace="kube-system",
                    kind_type=T.DAEMON_SET, tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists"}],
                    nodeSelector=GPU_NODES), eu, False),
        ("serving-containers-set-limits", "limits-set", R,
         deployment("ok", [gpu_container()], tolerations=[GPU_TOLERATION]), eu, False),
        ("serving-containers-set-limits", "init-container-unbounded", R,
         deployment("bad", [gpu_container()], tolerations=[GPU_TOLERATION],
                    initContainers=[{"name": "fetch", "image": "x:1", "resources": {"limits": {"cpu": "1"}}}]),
         eu, True),
        ("serving-containers-set-limits", "not-a-serving-workload", R,
         deployment("ok", [{"name": "web", "image": "x:1"}], labels={"app": "web"}, namespace="default"), eu,
         False),
        ("s3-buckets-private-encrypted-versioned", "private-kms-versioned", S, s3_set(), eu, False),
        ("s3-buckets-private-encrypted-versioned", "unversioned", S, s3_set(versioning="Suspended"), eu, True),
        ("s3-buckets-private-encrypted-versioned", "sse-s3-only", S, s3_set(algorithm="AES256"), eu, True),
        ("s3-buckets-private-encrypted-versioned", "partial-public-access-block", S, s3_set(block=False), eu, True),
        ("s3-buckets-private-encrypted-versioned", "bare-bucket", S, s3_set()[:1], eu, True),
        ("gcs-buckets-private-versioned", "private-versioned", R, gcs(), eu, False),
        ("gcs-buckets-private-versioned", "fine-grained-acls", R, gcs(uniformBucketLevelAccess=False), eu, True),
        ("gcs-buckets-private-versioned", "no-public-access-prevention", R,
         gcs(publicAccessPrevention="inherited"), eu, True),
        ("buckets-grant-no-public-access", "service-account-reader", R,
         resource(T.GCS_BUCKET_IAM_MEMBER, "reader", {"bucket": "b", "role": "roles/storage.objectViewer",
                                         "member": "serviceAccount:r@p.iam.gserviceaccount.com"}), eu, False),
        ("buckets-grant-no-public-access", "all-users-reader", R,
         resource(T.GCS_BUCKET_IAM_MEMBER, "public", {"bucket": "b", "role": "roles/storage.objectViewer",
                                         "member": "allUsers"}), eu, True),
        ("buckets-grant-no-public-access", "deny-insecure-transport", R,
         resource("aws:s3/bucketPolicy:BucketPolicy", "tls", {"bucket": "b", "policy": json.dumps({"Statement": [
             {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
              "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})}), eu, False),
        ("buckets-grant-no-public-access", "allow-everyone", R,
         resource("aws:s3/bucketPolicy:BucketPolicy", "open", {"bucket": "b", "policy": json.dumps({"Statement": [
             {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "*"}]})}),
         eu, True),
        ("cluster-endpoints-not-public", "eks-private", R, eks(endpointPublicAccess=False), eu, False),
        ("cluster-endpoints-not-public", "eks-public-narrow", R,
         eks(endpointPublicAccess=True, publicAccessCidrs=["198.51.100.0/24"]), eu, False),
        ("cluster-endpoints-not-public", "eks-public-everyone", R,
         eks(endpointPublicAccess=True, publicAccessCidrs=["0.0.0.0/0"]), eu, True),
        ("cluster-endpoints-not-public", "eks-default-public", R, eks(), eu, True),
        ("cluster-endpoints-not-public", "gke-private-endpoint", R,
         gke(privateClusterConfig={"enablePrivateEndpoint": True, "enablePrivateNodes": True}), eu, False),
        ("cluster-endpoints-not-public", "gke-authorized-networks", R,
         gke(privateClusterConfig={"enablePrivateEndpoint": False},
             masterAuthorizedNetworksConfig={"cidrBlocks": [{"cidrBlock": "198.51.100.0/24"}]}), eu, False),
        ("cluster-endpoints-not-public", "gke-no-authorized-networks", R,
         gke(privateClusterConfig={"enablePrivateEndpoint": False}), eu, True),
        ("configmaps-hold-no-secrets", "env-references", R,
         configmap("gw", {"config.yaml": litellm(claude, general_settings={
             "master_key": "os.environ/LITELLM_MASTER_KEY"})}), eu, False),
        ("configmaps-hold-no-secrets", "openai-key", R, configmap("keys", {"OPENAI_API_KEY": SK_OPENAI}), eu, True),
        ("configmaps-hold-no-secrets", "literal-in-config-file", R,
         configmap("gw", {"config.yaml": litellm({"model_name": "claude", "litellm_params": {
             "model": "anthropic/claude-sonnet-4-5", "api_key": "my-literal-key-123"}})}), eu, True),
        ("container-env-holds-no-secrets", "secret-key-ref", R,
         deployment("ok", [container(env=[{"name": "ANTHROPIC_API_KEY", "valueFrom": {
             "secretKeyRef": {"name": "keys", "key": "anthropic"}}}, {"name": "HF_HUB_OFFLINE", "value": "1"}])],
                    labels={"app": "x"}), eu, False),
        ("container-env-holds-no-secrets", "anthropic-key-literal", R,
         deployment("bad", [container(env=[{"name": "CLAUDE", "value": SK_ANTHROPIC}])], labels={"app": "x"}),
         eu, True),
        ("container-env-holds-no-secrets", "credential-named-literal", R,
         deployment("bad", [container(env=[{"name": "HF_TOKEN", "value": "not-a-real-token"}])],
                    labels={"app": "x"}), eu, True),
        ("chart-values-hold-no-secrets", "model-server-values", R,
         resource(T.HELM_CHART, "llama", {"chart": "charts/model-server", "namespace": "sovereign-serving", "values": {
             "model": {"name": "llama-3.1-8b-instruct", "hfTokenSecret": {"name": "hub", "key": "token"}},
             "gpu": {"count": 1}}}), eu, False),
        ("chart-values-hold-no-secrets", "key-in-extra-env", R,
         resource(T.HELM_CHART, "llama", {"chart": "charts/model-server", "namespace": "sovereign-serving", "values": {
             "extraEnv": [{"name": "OPENAI_API_KEY", "value": SK_OPENAI}]}}), eu, True),
        ("chart-values-hold-no-secrets", "token-value", R,
         resource(T.HELM_RELEASE, "x", {"chart": "x", "values": {"hfToken": "abc-literal"}}),
         eu, True),
        ("serving-provider-remains", "cluster-pool-release", S, serving_stack(), eu, False),
        ("serving-provider-remains", "no-release", S, serving_stack(with_release=False), eu, True),
        ("serving-provider-remains", "gpu-pool-parked-at-zero", S, serving_stack(gpu_max=0), eu, True),
        ("serving-provider-remains", "no-gpu-pool", S, serving_stack(with_pool=False), eu, True),
        ("serving-provider-remains", "no-cluster", S, [], eu, True),
    ]


# -- mutated stack graphs: (id, stack, mutation of the snapshot before charts render, mutation after, expected) --

def _add(*new: dict):
    def mutate(graph: list[dict]) -> list[dict]:
        return graph + list(new)
    return mutate


def _each(type_: str, fn, name_contains: str = ""):
    def mutate(graph: list[dict]) -> list[dict]:
        targets = Graph(graph).all(type_, name_contains=name_contains)
        assert targets, f"no {type_} *{name_contains}* to mutate"
        for r in targets:
            fn(r["inputs"])
        return graph
    return mutate


def _drop(predicate):
    def mutate(graph: list[dict]) -> list[dict]:
        dropped = {r["urn"] for r in graph if predicate(r)}
        assert dropped, "mutation dropped nothing"
        return [r for r in graph if r["urn"] not in dropped and r.get("parent") not in dropped]
    return mutate


def _vllm(inputs: dict) -> dict:
    return next(c for c in inputs["spec"]["template"]["spec"]["containers"] if c["name"] == "vllm")


def _gateway_config(extra_route: dict):
    def fn(inputs: dict) -> None:
        doc = yaml.safe_load(inputs["data"]["config.yaml"])
        doc["model_list"].append(extra_route)
        inputs["data"]["config.yaml"] = yaml.safe_dump(doc)
    return fn


def _aws(r: dict) -> bool:
    return r["type"].startswith("aws:") or r["provider"].endswith("-aws") or "-aws" in r["name"]


def mutations() -> list[tuple[str, str, object, object, set[str]]]:
    denied_route = {"model_name": "deepseek-chat", "litellm_params": {
        "model": "openai/deepseek-chat", "api_base": f"https://{DENIED}/v1", "api_key": "os.environ/DEEPSEEK_KEY"}}
    pod, dns, ngfw_ = "pod-fqdn-allow-no-denied-host", "dns-firewall-allow-no-denied-host", "ngfw-allow-no-denied-host"
    gpu, limits, serving = ("gpu-workloads-request-and-tolerate-gpus", "serving-containers-set-limits",
                            "serving-provider-remains")
    return [
        ("hand-added-cilium-allow", EU, None, _add(cilium("hand-added", {"matchName": DENIED})), {pod}),
        ("hand-added-gke-fqdn-allow", EU, None, _add(gke_fqdn("hand-added", {"pattern": "*.deepseek.com"})), {pod}),
        ("dns-allow-list-gets-denied-domain", EU, None,
         _each(T.DNS_FIREWALL_DOMAIN_LIST, lambda i: i["domains"].append(DENIED), "-allow"), {dns}),
        ("hand-added-dns-allow-rule", "it-south", None, _add(*dns_pair("hand-added", "ALLOW", [DENIED], "depends")),
         {dns}),
        ("hand-added-ngfw-allow", EU, None, _add(ngfw("hand-added", "allow", DENIED)), {ngfw_}),
        ("ngfw-allow-rule-gets-denied-fqdn", EU, None,
         _each(T.NGFW_RULE, lambda i: i["match"]["destFqdns"].append(DENIED), "ngfw-allow-hosts"), {ngfw_}),
        ("gateway-route-to-denied-host", EU, None,
         _each(T.CONFIG_MAP, _gateway_config(denied_route), "gateway-config"), {"gateway-routes-no-denied-host"}),
        ("gateway-route-to-denied-provider", "cn-north", None,
         _each(T.CONFIG_MAP, _gateway_config({"model_name": "gpt-4.1", "litellm_params": {"model": "openai/gpt-4.1"}}),
               "gateway-config"), {"gateway-routes-no-denied-host"}),
        ("model-server-without-toleration", "us-east", None,
         _each(T.DEPLOYMENT, lambda i: i["spec"]["template"]["spec"].pop("tolerations"), "instruct:"), {gpu}),
        ("model-server-without-gpu-limits", "us-east", None,
         _each(T.DEPLOYMENT, lambda i: [_vllm(i)["resources"][k].pop("nvidia.com/gpu") for k in ("limits", "requests")],
               "instruct:"), {gpu}),
        ("model-server-without-cpu-limit", "us-east", None,
         _each(T.DEPLOYMENT, lambda i: _vllm(i)["resources"]["limits"].pop("cpu"), "instruct:"), {limits}),
        ("s3-without-versioning", EU, None, _drop(lambda r: r["type"] == T.S3_VERSIONING),
         {"s3-buckets-private-encrypted-versioned"}),
        ("s3-without-encryption", EU, None, _drop(lambda r: r["type"] == T.S3_ENCRYPTION),
         {"s3-buckets-private-encrypted-versioned"}),
        ("s3-without-public-access-block", EU, None, _drop(lambda r: r["type"] == T.S3_PUBLIC_ACCESS_BLOCK),
         {"s3-buckets-private-encrypted-versioned"}),
        ("gcs-without-uniform-access", EU, None,
         _each(T.GCS_BUCKET, lambda i: i.update(uniformBucketLevelAccess=False)), {"gcs-buckets-private-versioned"}),
        ("gcs-without-public-access-prevention", "me-central", None,
         _each(T.GCS_BUCKET, lambda i: i.pop("publicAccessPrevention")), {"gcs-buckets-private-versioned"}),
        ("gcs-public-member", EU, None, _add(resource(T.GCS_BUCKET_IAM_MEMBER, "hand-added", {
            "bucket": "eu-central-gcp-weights", "role": "roles/storage.objectViewer", "member": "allUsers"})),
         {"buckets-grant-no-public-access"}),
        ("eks-endpoint-open-to-everyone", EU, None,
         _each(T.EKS_CLUSTER, lambda i: i["vpcConfig"].update(publicAccessCidrs=["0.0.0.0/0"])),
         {"cluster-endpoints-not-public"}),
        ("eks-endpoint-public-without-cidrs", "sa-east", None,
         _each(T.EKS_CLUSTER, lambda i: (i["vpcConfig"].update(endpointPublicAccess=True),
                               i["vpcConfig"].pop("publicAccessCidrs", None))), {"cluster-endpoints-not-public"}),
        ("gke-without-authorized-networks", "me-central", None,
         _each(T.GKE_CLUSTER, lambda i: (i["privateClusterConfig"].update(enablePrivateEndpoint=False),
                               i.pop("masterAuthorizedNetworksConfig", None))), {"cluster-endpoints-not-public"}),
        ("configmap-with-openai-key", EU, None,
         _each(T.CONFIG_MAP, lambda i: i["data"].update(OPENAI_API_KEY=SK_OPENAI), "gateway-config"),
         {"configmaps-hold-no-secrets"}),
        ("env-literal-anthropic-key", EU, None,
         _each(T.DEPLOYMENT, lambda i: _vllm(i)["env"].append({"name": "UPSTREAM", "value": SK_ANTHROPIC}),
               "instruct:"), {"container-env-holds-no-secrets"}),
        ("chart-values-with-api-key", EU,
         _each(T.HELM_CHART,
               lambda i: i["values"].update(extraEnv=[{"name": "ANTHROPIC_API_KEY", "value": SK_ANTHROPIC}]),
               "aws-llama"), None, {"chart-values-hold-no-secrets", "container-env-holds-no-secrets"}),
        ("no-model-releases", EU, None, _drop(lambda r: r["type"] == T.HELM_CHART), {serving}),
        ("no-gpu-pools", EU, None,
         _drop(lambda r: r["type"] in (T.KARPENTER_NODE_POOL, T.GKE_NODE_POOL) and "-gpu-" in r["name"]),
         {serving}),
        ("drill-without-aws-keeps-gcp", EU, None, _drop(_aws), set()),
        ("drill-without-any-cluster", EU, None, _drop(lambda r: r["type"] in (T.EKS_CLUSTER, T.GKE_CLUSTER)),
         {serving}),
    ]


def mutated_graph(plan, before, after) -> list[dict]:
    resources = copy.deepcopy(snapshot(plan)["resources"])
    if before is not None:
        resources = before(resources)
    graph = graph_of(resources)
    return after(graph) if after is not None else graph


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return unit_cases(tmp_path_factory.mktemp("policies"))


@pytest.fixture(scope="module")
def results(plans, cases):
    jobs = [{"id": "list", "mode": "list"}]
    for policy, case, mode, payload, env, _ in cases:
        job = {"id": f"unit:{policy}:{case}", "mode": mode, "policy": policy, "env": env}
        job["resource" if mode == "resource" else "resources"] = payload
        jobs.append(job)
    for stack in STACKS:
        jobs.append({"id": f"stack:{stack}", "mode": "pack", "env": stack_env(stack),
                     "resources": stack_graph(plans[stack])})
    for name, stack, before, after, _ in mutations():
        jobs.append({"id": f"mutation:{name}", "mode": "pack", "env": stack_env(stack),
                     "resources": mutated_graph(plans[stack], before, after)})
    return run(jobs)


# -- the pack itself ---------------------------------------------------------------------------------------------

def test_pulumi_policy_yaml_runs_the_pack_in_its_venv():
    project = yaml.safe_load((REPO_ROOT / "policypack" / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    venv = (REPO_ROOT / "policypack" / project["runtime"]["options"]["virtualenv"]).resolve()
    assert venv == (REPO_ROOT / ".cache" / "tools" / "policypack").resolve()
    assert (venv / "bin" / "python").is_file()
    assert "PolicyPack(" in (REPO_ROOT / "policypack" / "__main__.py").read_text()


def test_every_policy_is_mandatory_and_has_a_passing_and_a_failing_case(results, cases):
    listed = results["list"]["policies"]
    assert {p["enforcement"] for p in listed} == {"mandatory"}
    outcomes = {}
    for policy, _, _, _, _, expect in cases:
        outcomes.setdefault(policy, set()).add(expect)
    assert {p["name"]: outcomes.get(p["name"], set()) for p in listed} == {p["name"]: {True, False} for p in listed}


def _unit_ids():
    return [f"{policy}:{case}" for policy, case, *_ in unit_cases(None)]


@pytest.mark.parametrize("case_id", _unit_ids())
def test_policy_called_directly(results, cases, case_id):
    policy, case, _, _, _, expect = next(c for c in cases if f"{c[0]}:{c[1]}" == case_id)
    result = results[f"unit:{policy}:{case}"]
    assert not result["advisories"], explain(result)
    if expect:
        assert violated(result) == {policy}, f"{case_id} should violate {policy}:\n{explain(result)}"
    else:
        assert result["violations"] == [], f"{case_id} should pass:\n{explain(result)}"


@pytest.mark.parametrize("stack", STACKS)
def test_whole_pack_passes_every_stack_graph(results, plans, stack):
    graph = stack_graph(plans[stack])
    # The graph is what a preview registers: the charts' rendered model servers are in it.
    assert Graph(graph).all(T.DEPLOYMENT, name_contains=":sovereign-serving/")
    result = results[f"stack:{stack}"]
    assert result["violations"] == [] and result["advisories"] == [], explain(result)


@pytest.mark.parametrize("name", [m[0] for m in mutations()])
def test_mutated_graph_fails_with_the_right_policy(results, name):
    expected = next(m[4] for m in mutations() if m[0] == name)
    result = results[f"mutation:{name}"]
    assert violated(result) == expected, f"{name}: expected {sorted(expected) or 'no violation'}, got:\n" \
                                         f"{explain(result)}"
    assert all(v["enforcement"] == "mandatory" for v in result["violations"])


def test_the_pack_serves_over_grpc_as_the_cli_starts_it():
    """`pulumi preview --policy-pack policypack` runs `python -m pulumi.policy <engine> .` in policypack/ with the
    pack venv's python and the stack in its environment; the analyzer answers on a loopback gRPC port."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}, **stack_env(EU)}
    process = subprocess.Popen([str(pack_python()), "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."], cwd=PACK_DIR,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        port = process.stdout.readline().strip() if ready else ""
        assert port.isdigit(), f"the pack did not start: {process.poll()} {port!r}"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
            assert info.name == "sovereign-inference" and len(info.policies) == 14
            assert {p.enforcementLevel for p in info.policies} == {analyzer_pb2.MANDATORY}
            hand_added = cilium("hand-added", {"matchName": DENIED})
            response = stub.Analyze(analyzer_pb2.AnalyzeRequest(
                type=T.CILIUM_NETWORK_POLICY, urn=hand_added["urn"], name="hand-added",
                properties=json_format.ParseDict(hand_added["inputs"], struct_pb2.Struct())), timeout=30)
            assert [(d.policyName, d.enforcementLevel) for d in response.diagnostics] == [
                ("pod-fqdn-allow-no-denied-host", analyzer_pb2.MANDATORY)]
            assert "jurisdiction DE" in response.diagnostics[0].message
            response = stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(), timeout=30)
            assert [d.policyName for d in response.diagnostics] == ["serving-provider-remains"]
    finally:
        process.kill()
        process.wait(timeout=30)
