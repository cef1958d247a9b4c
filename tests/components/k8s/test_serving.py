"""Model serving as registered: one release per model per cluster, rendered through the real helm with
the exact values the component passed, every object schema-valid and matching the sizing decision;
and weight caches that are private, encrypted, versioned and protected."""

from __future__ import annotations

import json
import re

import pytest

from sovereign.clouds import profile
from sovereign.domain.serving import release_name
from sovereign.domain.workloads import (
    GATEWAY_NAMESPACE, GATEWAY_POD_LABELS, NAMESPACE_LABEL, SERVING_KEY_FIELD, SERVING_KEY_SECRET, SERVING_NAMESPACE,
    SERVING_POD_LABELS, SERVING_PORT,
)

from tests.support.domain import CATALOG
from tests.support.groups import RENDERED_RELEASES
from tests.support.graph import Graph
from tests.support.helm import REPO_ROOT, one, render
from tests.support.schemas import schema_errors
from tests.support.stacks import STACKS
from tests.support.tokens import CLUSTERS, T


pytestmark = RENDERED_RELEASES


def _cloud_of(plan, resource) -> str:
    # The chart's kubernetes provider is the one its cluster component created: "<region>-<cloud>".
    return resource.provider.rsplit("::", 1)[-1].rsplit("-", 1)[-1]


@pytest.mark.parametrize("stack", STACKS)
def test_one_namespaced_release_per_model_per_cluster_deleted_with_its_cluster(plans, stack):
    plan = plans[stack]
    charts = Graph.of(plan).all(T.HELM_CHART)
    expected = {(c.cloud, release_name(m.id)) for c in plan.spec.clouds for m in plan.spec.models}
    assert {(_cloud_of(plan, r), r.inputs["name"]) for r in charts} == expected
    clusters = {r.urn.rsplit("::", 1)[-1].rsplit("-", 1)[-1]: r.urn for r in plan.resources
                if r.type in CLUSTERS.values()}
    for chart in charts:
        assert chart.inputs["namespace"] == SERVING_NAMESPACE
        assert chart.inputs["chart"] == "charts/model-server"
        assert chart.options["deletedWith"] == clusters[_cloud_of(plan, chart)]


@pytest.fixture(scope="module")
def rendered(plans):
    """Every release of every stack rendered by the real helm with the values recorded in the graph."""
    out = {}
    for stack, plan in plans.items():
        for chart in Graph.of(plan).all(T.HELM_CHART):
            docs = render(REPO_ROOT / chart.inputs["chart"], chart.inputs["values"],
                          release=chart.inputs["name"], namespace=chart.inputs["namespace"])
            out[(stack, _cloud_of(plan, chart), chart.inputs["values"]["model"]["name"])] = (chart, docs)
    return out


def test_every_rendered_object_is_schema_valid(rendered):
    assert rendered
    errors = [e for _, docs in rendered.values() for doc in docs for e in schema_errors(doc)]
    assert errors == []


@pytest.mark.parametrize("stack", STACKS)
def test_rendered_deployment_matches_the_sizing_decision(plans, rendered, stack):
    plan = plans[stack]
    for fit in plan.decisions.fits:
        chart, docs = rendered[(stack, fit.cloud, fit.model)]
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        [vllm] = [c for c in pod["containers"] if c["name"] == "vllm"]
        gpus = vllm["resources"]["limits"]["nvidia.com/gpu"]
        assert int(gpus) == fit.tensor_parallel == int(vllm["resources"]["requests"]["nvidia.com/gpu"])
        assert f"--tensor-parallel-size={fit.tensor_parallel}" in vllm["args"]
        model = next(m for m in plan.spec.models if m.id == fit.model)
        assert f"--max-model-len={model.context_length}" in vllm["args"]
        assert vllm["startupProbe"]["httpGet"]["path"] == "/health"
        assert vllm["readinessProbe"]["httpGet"]["path"] == "/health"
        assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"} \
            in pod["tolerations"]
        pool = next(p for c in plan.decisions.clusters if c.cloud == fit.cloud for p in c.plan.gpu_pools
                    if fit.model in p.models)
        assert pod["nodeSelector"] == dict(pool.labels)
        _assert_scaling(docs, model, fit.cloud, plan)
        # The rollout the pool's spare GPUs allow (serving.rollout), as rendered.
        strategy = chart.inputs["values"]["strategy"]
        rendered_strategy = one(docs, "Deployment")["spec"]["strategy"]
        assert rendered_strategy["type"] == strategy["type"]
        if strategy["type"] == "RollingUpdate":
            assert rendered_strategy["rollingUpdate"] == {k: strategy[k] for k in ("maxSurge", "maxUnavailable")}
        # vLLM serves /v1 only with the model servers' key, read from its Secret.
        assert {"name": "VLLM_API_KEY", "valueFrom": {"secretKeyRef": {
            "name": SERVING_KEY_SECRET, "key": SERVING_KEY_FIELD}}} in vllm["env"]


def _assert_scaling(docs, model, cloud, plan):
    """Fixed replicas where min = max; else a ScaledObject owns the count, on the model's queue, read from the
    Prometheus API of the cloud's pipeline (with the cloud identity it needs), which a scrape object feeds."""
    elastic = profile(cloud).elastic
    deployment = one(docs, "Deployment")
    scrape = {"serviceMonitor": "ServiceMonitor", "podMonitoring": "PodMonitoring"}[elastic.scrape]
    assert one(docs, scrape)["spec"]["endpoints"][0]["path"] == "/metrics"
    if model.replicas.max == model.replicas.min:
        assert deployment["spec"]["replicas"] == model.replicas.min
        assert [d for d in docs if d["kind"] == "ScaledObject"] == []
        return
    assert "replicas" not in deployment["spec"]
    scaled = one(docs, "ScaledObject")["spec"]
    assert scaled["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (model.replicas.min, model.replicas.max)
    [trigger] = scaled["triggers"]
    cloud_spec = next(c for c in plan.spec.clouds if c.cloud == cloud)
    assert trigger["metadata"]["serverAddress"] == elastic.query_address.format(project=cloud_spec.project)
    assert trigger["metadata"]["query"] == \
        f'sum(vllm:num_requests_waiting{{namespace="{SERVING_NAMESPACE}",model_name="{model.id}"}})'
    if elastic.keda_identity:
        auth = one(docs, "TriggerAuthentication")
        assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
        assert auth["spec"]["podIdentity"]["provider"] == elastic.keda_identity
    else:
        assert "authenticationRef" not in trigger


@pytest.mark.parametrize("stack", STACKS)
def test_weights_come_from_the_regions_bucket_through_workload_identity(plans, rendered, stack):
    plan = plans[stack]
    buckets = {"aws": {r.inputs.get("bucket") or r.name for r in Graph.of(plan).all(T.S3_BUCKET)},
               "gcp": {r.name for r in Graph.of(plan).all(T.GCS_BUCKET)}}
    for fit in plan.decisions.fits:
        chart, docs = rendered[(stack, fit.cloud, fit.model)]
        uri = chart.inputs["values"]["weights"]["uri"]
        scheme = "s3" if fit.cloud == "aws" else "gs"
        assert uri.startswith(f"{scheme}://") and uri.endswith(f"/models/{fit.model}")
        assert any(uri.split("/")[2].startswith(b) for b in buckets[fit.cloud])
        account = one(docs, "ServiceAccount")
        annotation = "eks.amazonaws.com/role-arn" if fit.cloud == "aws" else "iam.gke.io/gcp-service-account"
        assert account["metadata"]["annotations"][annotation]
        assert account["metadata"]["name"] == release_name(fit.model)


@pytest.mark.parametrize("stack", STACKS)
def test_weight_caches_are_private_encrypted_versioned_protected_and_logged(plans, stack):
    plan = plans[stack]
    graph = Graph.of(plan)
    clouds = {c.cloud for c in plan.spec.clouds}
    retention = plan.spec.log_retention_days
    if "aws" in clouds:
        buckets = {b.name.removeprefix(f"{plan.spec.name}-aws-"): b for b in graph.all(T.S3_BUCKET)}
        assert set(buckets) == {"weights", "weights-access-logs"}
        for bucket in buckets.values():   # the weights and the evidence of their use outlive any teardown
            assert bucket.options.get("protect") and bucket.options.get("retainOnDelete")
            assert bucket.inputs.get("forceDestroy") is False
        for block in graph.all(T.S3_PUBLIC_ACCESS_BLOCK):
            assert all(block.inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                  "restrictPublicBuckets"))
        sse = {graph.deps(e, T.S3_BUCKET)[0].name: e.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
               for e in graph.all(T.S3_ENCRYPTION)}
        weights, logs = buckets["weights"], buckets["weights-access-logs"]
        assert sse[weights.name]["sseAlgorithm"] == "aws:kms" and sse[weights.name]["kmsMasterKeyId"].startswith("arn:")
        assert sse[logs.name] == {"sseAlgorithm": "AES256"}   # S3 delivers no access log into SSE-KMS
        versioned = {graph.deps(v, T.S3_BUCKET)[0].urn for v in graph.all(T.S3_VERSIONING)
                     if v.inputs["versioningConfiguration"]["status"] == "Enabled"}
        assert versioned == {weights.urn, logs.urn}   # the logs too: an overwritten log stays recoverable
        for policy in graph.all(T.S3_POLICY):
            assert json.loads(policy.inputs["policy"])["Statement"][0]["Condition"] == {
                "Bool": {"aws:SecureTransport": "false"}}
        [logging] = graph.all("aws:s3/bucketLogging:BucketLogging")
        assert {b.urn for b in graph.deps(logging, T.S3_BUCKET)} == {weights.urn, logs.urn}
        assert logging.inputs["targetPrefix"] == "weights/"
        expiry = [r for r in graph.all("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
                  if graph.deps(r, T.S3_BUCKET) == [logs]]
        assert [(rule["expiration"]["days"], rule["noncurrentVersionExpiration"]["noncurrentDays"])
                for r in expiry for rule in r.inputs["rules"]] == [(retention, retention)]
    if "gcp" in clouds:
        buckets = {b.name.removeprefix(f"{plan.spec.name}-gcp-"): b for b in graph.all(T.GCS_BUCKET)}
        assert set(buckets) == {"weights", "weights-access-logs"}
        for bucket in buckets.values():
            assert bucket.options.get("protect") and bucket.options.get("retainOnDelete")
            assert bucket.inputs["uniformBucketLevelAccess"] is True
            assert bucket.inputs["publicAccessPrevention"] == "enforced"
        weights, logs = buckets["weights"], buckets["weights-access-logs"]
        assert weights.inputs["versioning"] == {"enabled": True}
        assert weights.inputs["logging"]["logObjectPrefix"] == "weights"
        assert graph.deps(weights, T.GCS_BUCKET) == [logs]   # usage logs go into the log bucket
        assert logs.inputs["versioning"] == {"enabled": True}
        assert logs.inputs["lifecycleRules"] == [
            {"action": {"type": "Delete"}, "condition": {"age": retention}},
            {"action": {"type": "Delete"}, "condition": {"daysSinceNoncurrentTime": retention, "withState": "ARCHIVED"}}]


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_releases_service_accounts_may_read_weights(plans, stack):
    plan = plans[stack]
    accounts = {release_name(m.id) for m in plan.spec.models}
    for role in Graph.of(plan).all(T.IAM_ROLE):
        if "weights-reader" not in role.name:
            continue
        [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        subjects = next(v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub"))
        assert set(subjects) == {f"system:serviceaccount:{SERVING_NAMESPACE}:{a}" for a in accounts}
    readers = {a.urn for a in Graph.of(plan).all(T.SERVICE_ACCOUNT) if a.name.endswith("-weights-reader")}
    members = {r.inputs["member"] for r in Graph.of(plan).all(T.SERVICE_ACCOUNT_IAM_MEMBER)
               if r.inputs["role"] == "roles/iam.workloadIdentityUser"
               and readers & set(r.dependencies.get("serviceAccountId", []))}
    if any(c.cloud == "gcp" for c in plan.spec.clouds):
        project = plan.spec.cloud("gcp").project
        assert members == {f"serviceAccount:{project}.svc.id.goog[{SERVING_NAMESPACE}/{a}]" for a in accounts}


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_gateway_reaches_the_model_servers_and_only_with_their_key(plans, stack):
    graph = Graph.of(plans[stack])
    clusters = len(plans[stack].spec.clouds)
    ingress = {_cloud_of(plans[stack], p): p.inputs["spec"] for p in graph.all(T.NETWORK_POLICY)
               if "Ingress" in p.inputs["spec"]["policyTypes"]}
    assert set(ingress) == {c.cloud for c in plans[stack].spec.clouds}
    for cloud, spec in ingress.items():
        # The gateway, and the metrics pipeline's scrapers (vLLM answers /v1 only with the key, /metrics without).
        namespace, labels = profile(cloud).elastic.scraper
        assert spec == {
            "podSelector": {"matchLabels": SERVING_POD_LABELS}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: GATEWAY_NAMESPACE}},
                                   "podSelector": {"matchLabels": GATEWAY_POD_LABELS}},
                                  {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: namespace}},
                                   "podSelector": {"matchLabels": dict(labels)}}],
                         "ports": [{"protocol": "TCP", "port": SERVING_PORT}]}]}
    keys = graph.all("random:index/randomPassword:RandomPassword")
    provider = graph.one("pulumi:providers:random", name=f"{graph.plan.spec.name}-random")  # the region's
    assert len(keys) == clusters and all(k.provider.startswith(provider.urn) for k in keys)
    secrets = [r for r in graph.all(T.SECRET) if r.inputs["metadata"]["name"] == SERVING_KEY_SECRET]
    assert sorted(r.inputs["metadata"]["namespace"] for r in secrets) == sorted(
        [SERVING_NAMESPACE, GATEWAY_NAMESPACE] * clusters)
    assert all(r.inputs["stringData"] == "[secret]" for r in secrets)  # a Pulumi secret end to end


MIRROR_REGISTRY = {"aws": r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?", "gcp": r"[a-z0-9-]+-docker\.pkg\.dev/[a-z0-9-]+"}


@pytest.mark.parametrize("stack", STACKS)
def test_model_servers_pull_vllm_and_the_prefetch_cli_through_their_clusters_mirrors(plans, rendered, stack):
    plan = plans[stack]
    for fit in plan.decisions.fits:
        _, docs = rendered[(stack, fit.cloud, fit.model)]
        refs = plan.decisions.cluster(fit.cloud).images.refs
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        images = {c["name"]: c["image"] for c in [*pod["containers"], *pod.get("initContainers", [])]}
        registry = MIRROR_REGISTRY[fit.cloud]
        ref = refs["vllm"]
        # By digest where the mirror serves a first pull by digest (GKE, AWS China's prefilled repositories), by
        # tag through ECR's pull-through cache.
        mirror = next(m for m in plan.decisions.cluster(fit.cloud).images.mirrors if m.name == ref.mirror)
        assert ref.image.digest and (ref.digest is not None) == (fit.cloud == "gcp" or not mirror.pulls_through)
        suffix = f"@{ref.digest}" if ref.digest else ""
        assert re.fullmatch(rf"{registry}/{re.escape(ref.mirror)}/vllm/vllm-openai:{re.escape(ref.image.tag)}"
                            rf"{suffix}", images["vllm"]), images
        # Every image comes from the cluster's mirrors, or from gcr.io (Google's own, through Private Google Access,
        # on GKE only): never docker.io, ghcr.io or quay.io, which an image without a registry host would mean.
        for name, image in images.items():
            assert re.match(rf"{registry}/", image) or (fit.cloud == "gcp" and image.startswith("gcr.io/")), (name, image)


@pytest.mark.parametrize("stack", STACKS)
def test_each_model_server_takes_tool_calls_in_its_models_format(plans, rendered, stack):
    """A fallback answers a tool-calling request only with its tool-call parser; a model without one is said."""
    plan = plans[stack]
    for fit in plan.decisions.fits:
        _, docs = rendered[(stack, fit.cloud, fit.model)]
        args = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
        parser = CATALOG.models[fit.model].tool_call_parser
        assert ("--enable-auto-tool-choice" in args) == (parser is not None), fit.model
        assert parser is None or f"--tool-call-parser={parser}" in args


def test_a_model_scaled_to_zero_wakes_on_the_gateways_requests_for_it(project_copy):
    """`replicas: {min: 0}`: the ScaledObject may reach zero, and a second trigger on the gateway's requests for the
    model (which exist at zero replicas) wakes it (the gateway's scrape: test_gateway)."""
    import yaml

    from sovereign.domain.elastic import demand_query
    from sovereign.domain.stackfile import stack_file
    from sovereign.engine.run import plan_stack
    path = stack_file(project_copy, "sa-east")
    doc = yaml.safe_load(path.read_text())
    doc["config"]["sovereign:models"].append({"id": "qwen2.5-7b-instruct", "replicas": {"min": 0, "max": 2}})
    path.write_text(yaml.safe_dump(doc))
    plan = plan_stack("sa-east", project=project_copy)
    assert plan.ok, (plan.errors, plan.violations)
    graph = Graph.of(plan)
    [chart] = [c for c in graph.all(T.HELM_CHART) if c.inputs["values"]["model"]["name"] == "qwen2.5-7b-instruct"]
    docs = render(REPO_ROOT / chart.inputs["chart"], chart.inputs["values"], release=chart.inputs["name"],
                  namespace=chart.inputs["namespace"])
    assert [e for d in docs for e in schema_errors(d)] == []
    scaled = one(docs, "ScaledObject")["spec"]
    assert scaled["minReplicaCount"] == 0
    queue, demand = scaled["triggers"]
    assert demand["metadata"]["query"] == demand_query("qwen2.5-7b-instruct")
    assert demand["metadata"]["activationThreshold"] == "0"   # any request wakes it
    # At zero it needs no node and costs nothing; the plan says so.
    [scaling] = [s for s in plan.decisions.cluster("aws").scaling if s.model == "qwen2.5-7b-instruct"]
    assert (scaling.replicas[0], scaling.nodes[0], scaling.usd_per_hour[0]) == (0, 0, 0.0)
