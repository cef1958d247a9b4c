"""charts/model-server: lint, renders checked field by field, schema validity of every rendered object, and the
values the chart must reject. Everything runs through the real helm at .cache/bin/helm (`make helm`)."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml

from sovereign.catalog import load_catalog
from sovereign.domain.images import IMAGES

from tests.support.helm import CHARTS, lint, objects, one, template, template_error
from tests.support.schemas import schema_errors

CHART = CHARTS / "model-server"
STARTUP_WINDOW_MIN_SECONDS = 30 * 60

MINIMAL = {"model": {"name": "qwen2.5-7b-instruct"}}

MULTI_GPU = {
    "model": {"name": "llama-3.1-70b-instruct"},
    "weights": {
        "uri": "s3://sovereign-weights-eu-central-1/models/llama-3.1-70b-instruct",
        "awsRegion": "eu-central-1",
        "load": "copy",
        "cache": {"size": "200Gi", "storageClassName": "gp3"},
    },
    "gpu": {"count": 4},
    "vllm": {"tensorParallelSize": 4, "maxModelLen": 16384, "maxNumSeqs": 16, "gpuMemoryUtilization": 0.92,
             "extraArgs": ["--kv-cache-dtype=fp8"]},
    "resources": {"requests": {"cpu": "24", "memory": "160Gi"}, "limits": {"cpu": "32", "memory": "192Gi"}},
    "shm": {"sizeLimit": "16Gi"},
    "nodeSelector": {"sovereign.ai/gpu": "nvidia-l40s"},
    "serviceAccount": {"awsRoleArn": "arn:aws:iam::123456789012:role/llama-weights-reader"},
    "autoscaling": {
        "enabled": True, "kind": "keda", "minReplicas": 0, "maxReplicas": 3, "targetQueueDepth": 8,
        "keda": {"activationQuery": 'sum(rate(gateway_requests_total{model="llama-3.1-70b-instruct"}[2m]))'},
    },
    "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}}},
}


# -- helpers -----------------------------------------------------------------------------------------------

def merged(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def pod_spec(docs: list[dict]) -> dict:
    return one(docs, "Deployment")["spec"]["template"]["spec"]


def vllm_container(docs: list[dict]) -> dict:
    containers = pod_spec(docs)["containers"]
    assert [c["name"] for c in containers] == ["vllm"]
    return containers[0]


def args_of(container: dict) -> dict[str, str]:
    """`--flag=value` arguments as a dict (the positional model path is args[0])."""
    return dict(arg[2:].split("=", 1) for arg in container["args"][1:] if arg.startswith("--") and "=" in arg)


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def volumes_of(docs: list[dict]) -> dict[str, dict]:
    return {v["name"]: v for v in pod_spec(docs)["volumes"]}


# -- fixtures ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def default_docs():
    return template(CHART, MINIMAL, release="qwen")


@pytest.fixture(scope="module")
def multi_docs():
    return template(CHART, MULTI_GPU, release="llama", namespace="inference")


# -- chart metadata and lint -------------------------------------------------------------------------------

def test_helm_lint_strict_is_clean():
    result = lint(CHART, MINIMAL, strict=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "[WARNING]" not in output and "[ERROR]" not in output, output


def test_chart_metadata_pins_the_vllm_release_the_image_runs():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert (chart["apiVersion"], chart["type"], chart["version"]) == ("v2", "application", "0.1.0")
    assert values["image"]["repository"] == "vllm/vllm-openai"
    # The defaults are the releases the program pins (sovereign/domain/images.py), which it pulls through mirrors.
    prefetch = values["weights"]["prefetch"]
    for key, image_id in (("image", "vllm"), ("awsImage", "aws-cli"), ("gcpImage", "google-cloud-cli")):
        default, pinned = (values if key == "image" else prefetch)[key], IMAGES[image_id]
        assert default["repository"].removeprefix("gcr.io/") == pinned.repository, key
        assert (default["tag"], default["digest"] or None) == (pinned.tag, pinned.digest), key
    # tag v<appVersion> or v<appVersion>-<variant> (e.g. -cu129): bumping one without the other fails here
    assert re.fullmatch(rf"v{re.escape(chart['appVersion'])}(-[a-z0-9]+)?", values["image"]["tag"]), \
        (chart["appVersion"], values["image"]["tag"])


def test_values_yaml_validates_against_its_schema_and_every_object_is_closed():
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    values["model"]["name"] = "qwen2.5-7b-instruct"  # the one required value without a default
    assert list(jsonschema.Draft7Validator(schema).iter_errors(values)) == []

    open_objects = []

    def walk(node, where):
        if isinstance(node, dict):
            if node.get("type") == "object" and where != "/properties/global":
                extra = node.get("additionalProperties")
                # a closed record, or a string-valued map (labels, annotations, nodeSelector)
                if extra is not False and extra != {"type": "string"}:
                    open_objects.append(where)
            for key, child in node.items():
                walk(child, f"{where}/{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, f"{where}/{index}")

    walk(schema, "")
    assert open_objects == []


def _schema_node(schema: dict, node: dict) -> dict:
    """Resolve a local $ref or a description-wrapping allOf."""
    while True:
        if "$ref" in node:
            node = schema["definitions"][node["$ref"].rsplit("/", 1)[1]]
        elif "allOf" in node and "properties" not in node:
            node = node["allOf"][0]
        else:
            return node


def _described_paths(schema: dict, values: dict, node: dict, prefix: str = "") -> tuple[list[str], list[str]]:
    """(dotted paths of values.yaml, the ones the schema gives no type). Walks values.yaml alongside the schema;
    a string map (labels, annotations, nodeSelector) is one value, its keys are data."""
    paths, undescribed = [], []
    props = _schema_node(schema, node).get("properties", {})
    for key, value in values.items():
        path = f"{prefix}{key}"
        child = _schema_node(schema, props[key]) if key in props else None
        is_map = child is not None and isinstance(child.get("additionalProperties"), dict)
        if isinstance(value, dict) and value and child is not None and not is_map:
            sub_paths, sub_undescribed = _described_paths(schema, value, child, path + ".")
            paths += sub_paths
            undescribed += sub_undescribed
            continue
        paths.append(path)
        if child is None or "type" not in child:
            undescribed.append(path)
    return paths, undescribed


def test_schema_describes_every_value_and_the_readme_documents_it():
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    readme = (CHART / "README.md").read_text()
    paths, undescribed = _described_paths(schema, values, schema)
    assert len(paths) > 50  # the walk reached the leaves
    assert undescribed == [], "values.yaml keys without a typed schema entry"
    table_keys = set(re.findall(r"^\| `([^`]+)` \|", readme, flags=re.MULTILINE))
    undocumented = [path for path in paths if path not in table_keys]
    assert undocumented == [], "values.yaml keys missing from the README values table"


def test_hub_fallback_sources_match_the_catalog():
    sources = yaml.safe_load((CHART / "files" / "hub-sources.yaml").read_text())
    assert sources == {model.id: model.hf_repo for model in load_catalog().models.values()}


# -- default render: only model.name -----------------------------------------------------------------------

def test_default_render_is_one_sane_single_gpu_deployment(default_docs):
    assert sorted(d["kind"] for d in default_docs) == ["Deployment", "PodDisruptionBudget", "Service",
                                                       "ServiceAccount"]
    deployment = one(default_docs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    vllm = vllm_container(default_docs)
    pinned = IMAGES["vllm"]
    assert pinned.digest and vllm["image"] == f"vllm/vllm-openai:{pinned.tag}@{pinned.digest}"  # by digest
    assert vllm["command"] == ["vllm", "serve"]
    # quick-start fallback: the catalog's hub repository, served under the catalog id
    assert vllm["args"][0] == "Qwen/Qwen2.5-7B-Instruct"
    args = args_of(vllm)
    assert args["served-model-name"] == "qwen2.5-7b-instruct"
    assert args["tensor-parallel-size"] == "1"
    assert (args["port"], args["max-model-len"], args["max-num-seqs"], args["gpu-memory-utilization"]) == \
        ("8000", "8192", "32", "0.9")
    resources = vllm["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == 1
    assert {"cpu", "memory"} <= resources["requests"].keys() and {"cpu", "memory"} <= resources["limits"].keys()
    assert vllm["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert "--enable-auto-tool-choice" not in vllm["args"]  # no parser named: no tool calling


def test_a_tool_call_parser_turns_on_automatic_tool_choice():
    vllm = vllm_container(template(CHART, {"model": {"name": "qwen2.5-7b-instruct"},
                                           "vllm": {"toolCallParser": "hermes"}}))
    assert "--enable-auto-tool-choice" in vllm["args"] and args_of(vllm)["tool-call-parser"] == "hermes"
    assert "does not match pattern" in template_error(CHART, {"model": {"name": "qwen2.5-7b-instruct"},
                                                   "vllm": {"toolCallParser": "hermes --trust-remote-code"}})


def test_default_render_probes_health_with_a_long_startup_window(default_docs):
    vllm = vllm_container(default_docs)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert vllm[probe]["httpGet"] == {"path": "/health", "port": "http"}, probe
    startup = vllm["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= STARTUP_WINDOW_MIN_SECONDS


def test_default_render_schedules_on_gpu_nodes_with_shm(default_docs):
    spec = pod_spec(default_docs)
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"} \
        in spec["tolerations"]
    assert spec["nodeSelector"] == {"sovereign.ai/gpu": "nvidia-l4"}
    volumes = volumes_of(default_docs)
    assert volumes["dshm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "4Gi"}
    mounts = {m["mountPath"]: m["name"] for m in vllm_container(default_docs)["volumeMounts"]}
    assert mounts["/dev/shm"] == "dshm"


def test_default_render_runs_non_root_and_locked_down(default_docs):
    spec = pod_spec(default_docs)
    pod_sc = spec["securityContext"]
    assert pod_sc["runAsNonRoot"] is True and isinstance(pod_sc["runAsUser"], int) and pod_sc["runAsUser"] > 0
    assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False and spec["enableServiceLinks"] is False
    sc = vllm_container(default_docs)["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["runAsNonRoot"] is True
    # the root filesystem is read-only, so every path vLLM writes is a volume
    assert sc["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"] for m in vllm_container(default_docs)["volumeMounts"]}
    assert {"/tmp", "/home/vllm", "/models", "/dev/shm"} <= mounts
    env = env_of(vllm_container(default_docs))
    assert env["HOME"]["value"] == "/home/vllm" and env["VLLM_NO_USAGE_STATS"]["value"] == "1"


def test_default_render_downloads_from_the_hub_without_an_init_container(default_docs):
    spec = pod_spec(default_docs)
    assert "initContainers" not in spec
    env = env_of(vllm_container(default_docs))
    assert "HF_HUB_OFFLINE" not in env and "HF_TOKEN" not in env
    assert env["HF_HOME"]["value"].startswith("/models/")
    # the hub download lands in the size-limited cache, which the scheduler accounts for
    assert volumes_of(default_docs)["models"]["emptyDir"] == {"sizeLimit": "40Gi"}
    assert vllm_container(default_docs)["resources"]["requests"]["ephemeral-storage"] == "40Gi"


def test_default_render_objects_are_valid_kubernetes(default_docs):
    errors = [error for doc in default_docs for error in schema_errors(doc)]
    assert errors == []


def test_service_and_pdb_select_the_deployment_pods(default_docs):
    pod_labels = one(default_docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    service = one(default_docs, "Service")
    assert service["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    pdb = one(default_docs, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pod_spec(default_docs)["serviceAccountName"] == one(default_docs, "ServiceAccount")["metadata"]["name"]


# -- multi-GPU: TP 4, s3 weights, IRSA, KEDA to zero, ServiceMonitor ---------------------------------------

def test_multi_gpu_render_args_and_gpus(multi_docs):
    vllm = vllm_container(multi_docs)
    assert vllm["args"][0] == "/models/llama-3.1-70b-instruct"
    args = args_of(vllm)
    assert args["tensor-parallel-size"] == "4" and args["served-model-name"] == "llama-3.1-70b-instruct"
    assert (args["max-model-len"], args["max-num-seqs"], args["gpu-memory-utilization"]) == ("16384", "16", "0.92")
    assert vllm["args"][-1] == "--kv-cache-dtype=fp8"
    resources = vllm["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == 4
    assert (resources["requests"]["memory"], resources["limits"]["cpu"]) == ("160Gi", "32")
    assert pod_spec(multi_docs)["nodeSelector"] == {"sovereign.ai/gpu": "nvidia-l40s"}
    # the autoscaler owns the replica count
    assert "replicas" not in one(multi_docs, "Deployment")["spec"]


def test_multi_gpu_render_volumes(multi_docs):
    volumes = volumes_of(multi_docs)
    assert volumes["dshm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "16Gi"}
    claim = volumes["models"]["ephemeral"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3" and claim["resources"]["requests"]["storage"] == "200Gi"
    # the claim, not the node disk, holds the weights
    assert "ephemeral-storage" not in vllm_container(multi_docs)["resources"]["requests"]
    mounts = {m["mountPath"]: m for m in vllm_container(multi_docs)["volumeMounts"]}
    assert mounts["/models"]["readOnly"] is True


def test_multi_gpu_render_prefetches_s3_weights_and_serves_offline(multi_docs):
    init = pod_spec(multi_docs)["initContainers"]
    assert [c["name"] for c in init] == ["fetch-weights"]
    fetch = init[0]
    assert fetch["image"].startswith("amazon/aws-cli:")
    script = fetch["command"][-1]
    assert 'aws s3 sync "$WEIGHTS_URI" "$WEIGHTS_DIR"' in script and "config.json" in script
    env = env_of(fetch)
    assert env["WEIGHTS_URI"]["value"] == MULTI_GPU["weights"]["uri"]
    assert env["WEIGHTS_DIR"]["value"] == "/models/llama-3.1-70b-instruct"
    assert env["AWS_REGION"]["value"] == "eu-central-1" and env["AWS_EC2_METADATA_DISABLED"]["value"] == "true"
    assert {"mountPath": "/models", "name": "models"} in fetch["volumeMounts"]
    assert vllm_container(multi_docs)["args"][0] == "/models/llama-3.1-70b-instruct"
    assert "load-format" not in args_of(vllm_container(multi_docs))
    assert fetch["securityContext"]["allowPrivilegeEscalation"] is False
    vllm_env = env_of(vllm_container(multi_docs))
    assert vllm_env["HF_HUB_OFFLINE"]["value"] == "1" and vllm_env["TRANSFORMERS_OFFLINE"]["value"] == "1"


def test_multi_gpu_render_binds_irsa(multi_docs):
    account = one(multi_docs, "ServiceAccount")
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/llama-weights-reader"}
    assert pod_spec(multi_docs)["serviceAccountName"] == account["metadata"]["name"]


def test_multi_gpu_render_scales_to_zero_with_keda_on_queue_depth(multi_docs):
    scaled = one(multi_docs, "ScaledObject")
    spec = scaled["spec"]
    assert spec["minReplicaCount"] == 0 and spec["maxReplicaCount"] == 3
    assert spec["scaleTargetRef"]["name"] == one(multi_docs, "Deployment")["metadata"]["name"]
    queue = spec["triggers"][0]
    assert queue["type"] == "prometheus"
    assert queue["metadata"]["query"] == \
        'sum(vllm:num_requests_waiting{namespace="inference",model_name="llama-3.1-70b-instruct"})'
    assert queue["metadata"]["threshold"] == "8"
    demand = spec["triggers"][1]
    assert demand["metadata"]["query"] == MULTI_GPU["autoscaling"]["keda"]["activationQuery"]
    assert objects(multi_docs, "HorizontalPodAutoscaler") == []


def test_multi_gpu_render_scrapes_metrics(multi_docs):
    monitor = one(multi_docs, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "15s",
                                             "scrapeTimeout": "10s"}]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= \
        one(multi_docs, "Service")["metadata"]["labels"].items()


def test_multi_gpu_render_objects_are_valid(multi_docs):
    assert {"ScaledObject", "ServiceMonitor"} <= {d["kind"] for d in multi_docs}
    errors = [error for doc in multi_docs for error in schema_errors(doc)]
    assert errors == []


# -- streamed weights: vLLM reads the bucket itself -----------------------------------------------------------

S3_STREAM = {"weights": {"uri": "s3://sovereign-weights-eu-central-1/models/llama-3.1-70b-instruct",
                         "awsRegion": "eu-central-1", "stream": {"concurrency": 32, "bufferGiB": 5}},
             "gpu": {"count": 4}, "vllm": {"tensorParallelSize": 4},
             "serviceAccount": {"awsRoleArn": "arn:aws:iam::123456789012:role/llama-weights-reader"}}


def test_streamed_s3_weights_load_in_vllm_without_a_copy():
    docs = template(CHART, merged(MINIMAL, S3_STREAM))
    vllm = vllm_container(docs)
    assert vllm["args"][0] == S3_STREAM["weights"]["uri"]
    args = args_of(vllm)
    assert args["load-format"] == "runai_streamer"
    # four ranks split the reading between them
    assert json.loads(args["model-loader-extra-config"]) == {"distributed": True}
    env = env_of(vllm)
    assert env["RUNAI_STREAMER_CONCURRENCY"]["value"] == "32"
    assert env["RUNAI_STREAMER_MEMORY_LIMIT"]["value"] == str(5 * 2**30)
    assert (env["AWS_REGION"]["value"], env["AWS_STS_REGIONAL_ENDPOINTS"]["value"]) == ("eu-central-1", "regional")
    assert env["AWS_EC2_METADATA_DISABLED"]["value"] == "true" and env["HF_HUB_OFFLINE"]["value"] == "1"
    # no init copy, no weights cache on disk or in a claim
    assert "initContainers" not in pod_spec(docs)
    assert "models" not in volumes_of(docs) and "ephemeral-storage" not in vllm["resources"]["requests"]
    assert "/models" not in {m["mountPath"] for m in vllm["volumeMounts"]}
    assert [e for doc in docs for e in schema_errors(doc)] == []


def test_streamed_gcs_weights_on_one_gpu_read_through_workload_identity():
    docs = template(CHART, merged(MINIMAL, {
        "weights": {"uri": "gs://sovereign-weights-europe-west3/models/qwen2.5-7b-instruct"},
        "serviceAccount": {"gcpServiceAccount": "model-weights@sovereign-eu.iam.gserviceaccount.com"}}))
    vllm = vllm_container(docs)
    assert vllm["args"][0] == "gs://sovereign-weights-europe-west3/models/qwen2.5-7b-instruct"
    args = args_of(vllm)
    # one rank: nothing to distribute
    assert args["load-format"] == "runai_streamer" and "model-loader-extra-config" not in args
    env = env_of(vllm)
    # the metadata server answers for the pod's identity: no AWS settings, the defaults' buffer and connections
    assert not [name for name in env if name.startswith("AWS_")]
    assert (env["RUNAI_STREAMER_CONCURRENCY"]["value"], env["RUNAI_STREAMER_MEMORY_LIMIT"]["value"]) == (
        "16", str(4 * 2**30))
    assert "initContainers" not in pod_spec(docs)


# -- the other paths: GCS + GKE Workload Identity, HPA, gated hub token -------------------------------------

def test_gcs_weights_sync_with_gcloud_under_gke_workload_identity():
    docs = template(CHART, merged(MINIMAL, {
        "weights": {"uri": "gs://sovereign-weights-europe-west3/models/qwen2.5-7b-instruct", "load": "copy"},
        "serviceAccount": {"gcpServiceAccount": "model-weights@sovereign-eu.iam.gserviceaccount.com"}}))
    fetch = pod_spec(docs)["initContainers"][0]
    assert fetch["image"].startswith("gcr.io/google.com/cloudsdktool/google-cloud-cli:")
    assert 'gcloud storage rsync --recursive "$WEIGHTS_URI" "$WEIGHTS_DIR"' in fetch["command"][-1]
    assert "AWS_REGION" not in env_of(fetch)
    assert one(docs, "ServiceAccount")["metadata"]["annotations"] == {
        "iam.gke.io/gcp-service-account": "model-weights@sovereign-eu.iam.gserviceaccount.com"}
    assert env_of(vllm_container(docs))["HF_HUB_OFFLINE"]["value"] == "1"
    assert [e for doc in docs for e in schema_errors(doc)] == []


def test_hpa_autoscaling_on_a_pods_metric():
    docs = template(CHART, merged(MINIMAL, {"autoscaling": {"enabled": True, "kind": "hpa", "minReplicas": 1,
                                                             "maxReplicas": 5}}))
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 5)
    assert hpa["spec"]["metrics"] == [{"type": "Pods", "pods": {
        "metric": {"name": "vllm:num_requests_waiting"}, "target": {"type": "AverageValue", "averageValue": "4"}}}]
    assert objects(docs, "ScaledObject") == []
    assert [e for doc in docs for e in schema_errors(doc)] == []


def test_gated_model_token_comes_from_an_existing_secret():
    token = {"model": {"hfTokenSecret": {"name": "hub-token", "key": "hf"}}}
    docs = template(CHART, merged(MINIMAL, token))
    assert env_of(vllm_container(docs))["HF_TOKEN"] == {
        "name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hub-token", "key": "hf"}}}
    # weights from the bucket: the hub is never contacted, so the token is not mounted at all
    offline = template(CHART, merged(MINIMAL, {**token, "weights": {"uri": "s3://bucket-a/qwen"}}))
    assert "HF_TOKEN" not in env_of(vllm_container(offline))


# -- rejected values ---------------------------------------------------------------------------------------

REJECTED = {
    "typo'd key": ({"vllm": {"tensorParalelSize": 2}}, ["/vllm", "tensorParalelSize", "not allowed"]),
    "negative replicas": ({"replicaCount": -1}, ["/replicaCount", "minimum"]),
    "unknown autoscaling kind": ({"autoscaling": {"kind": "foo"}}, ["/autoscaling/kind", "keda", "hpa"]),
    "tensor parallel != GPUs": ({"gpu": {"count": 2}}, ["vllm.tensorParallelSize (1)", "gpu.count (2)"]),
    "HPA scale to zero": ({"autoscaling": {"enabled": True, "kind": "hpa", "minReplicas": 0}},
                          ["autoscaling.minReplicas=0", "autoscaling.kind=keda"]),
    "KEDA zero without wake signal": ({"autoscaling": {"enabled": True, "kind": "keda", "minReplicas": 0}},
                                      ["autoscaling.keda.activationQuery"]),
    "max below min replicas": ({"autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 2}},
                               ["autoscaling.maxReplicas (2)", "autoscaling.minReplicas (3)"]),
    "literal hub token": ({"model": {"hfToken": "hf_abc"}}, ["/model", "hfToken", "not allowed"]),
    "weights not in a bucket": ({"weights": {"uri": "https://example.com/w"}}, ["/weights/uri"]),
    "unknown load mode": ({"weights": {"load": "mount"}}, ["/weights/load", "stream", "copy"]),
    "unbounded streamer buffer": ({"weights": {"stream": {"bufferGiB": 0}}}, ["/weights/stream/bufferGiB", "minimum"]),
    "unpinned image": ({"image": {"tag": "latest"}}, ["/image/tag"]),
    "root user": ({"securityContext": {"runAsUser": 0}}, ["/securityContext/runAsUser", "minimum"]),
    "gpu utilisation above 1": ({"vllm": {"gpuMemoryUtilization": 1.5}}, ["/vllm/gpuMemoryUtilization"]),
    "two clouds' identities": ({"serviceAccount": {"awsRoleArn": "arn:aws:iam::123456789012:role/r",
                                                   "gcpServiceAccount": "reader@proj-1.iam.gserviceaccount.com"}},
                               ["serviceAccount.awsRoleArn", "serviceAccount.gcpServiceAccount"]),
    "bucket of the other cloud": ({"weights": {"uri": "gs://bucket-a/qwen"},
                                   "serviceAccount": {"awsRoleArn": "arn:aws:iam::123456789012:role/r"}},
                                  ["gs://", "serviceAccount.awsRoleArn"]),
    "unknown model without weights": ({"model": {"name": "my-finetune"}}, ["my-finetune", "weights.uri",
                                                                           "model.source"]),
}


@pytest.mark.parametrize("override,expected", REJECTED.values(), ids=REJECTED.keys())
def test_invalid_values_are_rejected_naming_the_value(override, expected):
    error = template_error(CHART, merged(MINIMAL, override))
    for fragment in expected:
        assert fragment in error, f"{fragment!r} not in helm's error:\n{error}"


def test_model_name_is_required():
    error = template_error(CHART, None)
    assert "/model/name" in error
