"""The inference gateway's workload, decided as plain Kubernetes specs (no Pulumi): pod shape, probes, scaling.

Sizing: LiteLLM's proxy is an async Python server that only relays tokens; one replica at half a core
and 1 GiB carries hundreds of concurrent streams. Two replicas minimum, one per zone where it can, keep
the endpoint up through a node drain (the PDB keeps one), and CPU drives the HPA up to six.
"""

from __future__ import annotations

from typing import Any

from .gateway import (
    CONFIG_DIR, CONFIG_FILE, GATEWAY_NAME, GATEWAY_PORT, KEYS_SECRET, LITELLM_VERSION, LIVENESS_PATH,
    MASTER_KEY_ENV, READINESS_PATH, GatewayConfig,
)
from .workloads import GATEWAY_NAMESPACE, GATEWAY_POD_LABELS, SERVING_KEY_ENV, SERVING_KEY_FIELD, SERVING_KEY_SECRET

# Every gateway object's labels; the pods' GATEWAY_POD_LABELS are what fences and routes select on.
GATEWAY_LABELS = {**GATEWAY_POD_LABELS, "app.kubernetes.io/part-of": "sovereign-inference",
                  "app.kubernetes.io/component": "gateway", "app.kubernetes.io/version": LITELLM_VERSION}
MIN_REPLICAS, MAX_REPLICAS = 2, 6
TARGET_CPU_PERCENT = 70
RESOURCES = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
NON_ROOT_UID = 65534   # the image's user `nobody`, numeric so the kubelet can verify runAsNonRoot
CONFIG_CHECKSUM = "sovereign.ai/config-sha256"
_ENV = {
    # The cost map is packaged with LiteLLM; do not fetch it from GitHub at start (egress is fenced).
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_MODE": "PRODUCTION",            # no .env file loading
    "DISABLE_ADMIN_UI": "True",              # config-only gateway: no database, no UI
    "LITELLM_LOG": "INFO",
    "XDG_CACHE_HOME": "/tmp/.cache",         # the root filesystem is read-only
}


# The gateway's readiness means serving: LiteLLM is ready AND at least one of this cluster's model servers answers
# its /health (vLLM's, open without the key). All model servers gone: every gateway pod turns NotReady, the load
# balancer (externalTrafficPolicy Local) has no healthy target, the failover health check fails and DNS moves the
# region's name to the other cloud, whose open weights still serve. Arguments: LiteLLM's readiness URL, then the
# model servers' health URLs. Exit 0 ready, 1 not (a probe's timeout counts as 1 too).
SERVING_READY = """\
import sys, urllib.request
def up(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except Exception:
        return False
sys.exit(0 if up(sys.argv[1]) and any(up(u) for u in sys.argv[2:]) else 1)
"""


def readiness_command(config: GatewayConfig) -> list[str]:
    """The readiness probe's command: the proxy itself, and the cluster's own model servers (open-weight routes)."""
    servers = [r.params["api_base"].removesuffix("/v1") + "/health" for r in config.routes if r.open_weight]
    return ["python", "-c", SERVING_READY, f"http://127.0.0.1:{GATEWAY_PORT}{READINESS_PATH}", *servers]


def deployment_spec(config: GatewayConfig, labels: dict[str, str], account_name: str, config_map: str,
                    image: Any) -> dict[str, Any]:
    """`image`: the LiteLLM image as the cluster pulls it (its mirror's reference; an Output in the component)."""
    http = {"path": READINESS_PATH, "port": "http"}
    env = [{"name": k, "value": v} for k, v in _ENV.items()]
    # The gateway key is always referenced: without it the pod does not start (fail-closed).
    env += [{"name": var, "valueFrom": {"secretKeyRef": {"name": KEYS_SECRET, "key": var}}}
            for var in (MASTER_KEY_ENV, *config.key_env.values())]
    # The model servers' key, presented on every open-weight route.
    env.append({"name": SERVING_KEY_ENV,
                "valueFrom": {"secretKeyRef": {"name": SERVING_KEY_SECRET, "key": SERVING_KEY_FIELD}}})
    container = {
        "name": "litellm",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["--config", f"{CONFIG_DIR}/{CONFIG_FILE}", "--port", str(GATEWAY_PORT)],
        "ports": [{"name": "http", "containerPort": GATEWAY_PORT, "protocol": "TCP"}],
        "env": env,
        "startupProbe": {"httpGet": http, "periodSeconds": 5, "failureThreshold": 36},
        "readinessProbe": {"exec": {"command": readiness_command(config)}, "periodSeconds": 10, "timeoutSeconds": 8,
                           "failureThreshold": 3},
        "livenessProbe": {"httpGet": {"path": LIVENESS_PATH, "port": "http"}, "periodSeconds": 15,
                          "timeoutSeconds": 5, "failureThreshold": 3},
        "resources": RESOURCES,
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "replicas": MIN_REPLICAS,
        "selector": {"matchLabels": dict(GATEWAY_POD_LABELS)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": {
            # A config change rolls the pods; LiteLLM reads its config file only at start.
            "metadata": {"labels": labels, "annotations": {CONFIG_CHECKSUM: config.checksum}},
            "spec": {
                "serviceAccountName": account_name,
                "automountServiceAccountToken": False,
                "securityContext": {"runAsNonRoot": True, "runAsUser": NON_ROOT_UID, "runAsGroup": NON_ROOT_UID,
                                    "fsGroup": NON_ROOT_UID, "seccompProfile": {"type": "RuntimeDefault"}},
                "terminationGracePeriodSeconds": 60,   # let streamed answers finish on a rollout
                "topologySpreadConstraints": [
                    {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
                     "labelSelector": {"matchLabels": dict(GATEWAY_POD_LABELS)}}
                    for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")],
                "containers": [container],
                "volumes": [{"name": "config", "configMap": {"name": config_map}},
                            {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
            },
        },
    }


def service_spec() -> dict[str, Any]:
    return {"type": "ClusterIP", "selector": dict(GATEWAY_POD_LABELS),
            "ports": [{"name": "http", "port": GATEWAY_PORT, "targetPort": "http", "protocol": "TCP"}]}


def pdb_spec() -> dict[str, Any]:
    # NotReady pods (every model server down: readiness means serving) may always be evicted, or a node drain would
    # stall exactly during a GPU outage.
    return {"minAvailable": 1, "selector": {"matchLabels": dict(GATEWAY_POD_LABELS)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow"}


def hpa_spec() -> dict[str, Any]:
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": GATEWAY_NAME},
        "minReplicas": MIN_REPLICAS, "maxReplicas": MAX_REPLICAS,
        "metrics": [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": TARGET_CPU_PERCENT}}}],
    }


# The scrape object each cloud's metrics pipeline reads (profile.elastic.scrape), for the gateway's /metrics: the
# demand that wakes a model scaled to zero, and the dashboard's gateway panels. /metrics answers only with the gateway's
# key, which the scraper presents from the gateway's Secret.
SCRAPE_KINDS = {"serviceMonitor": ("monitoring.coreos.com/v1", "ServiceMonitor"),
                "podMonitoring": ("monitoring.googleapis.com/v1", "PodMonitoring")}


def scrape_spec(scrape: str) -> tuple[str, str, dict[str, Any]]:
    """(apiVersion, kind, spec) of the gateway's scrape object for the cloud's pipeline."""
    api_version, kind = SCRAPE_KINDS[scrape]
    key = {"name": KEYS_SECRET, "key": MASTER_KEY_ENV}
    endpoint = {"port": "http", "path": "/metrics", "interval": "15s"}
    if kind == "ServiceMonitor":
        return api_version, kind, {
            "selector": {"matchLabels": dict(GATEWAY_LABELS)}, "namespaceSelector": {"matchNames": [GATEWAY_NAMESPACE]},
            "endpoints": [{**endpoint, "authorization": {"type": "Bearer", "credentials": key}}]}
    return api_version, kind, {"selector": {"matchLabels": dict(GATEWAY_POD_LABELS)},
                               "endpoints": [{**endpoint, "authorization": {"type": "Bearer",
                                                                            "credentials": {"secret": key}}}]}


def secret_reader_rbac(account: tuple[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Role rules, RoleBinding subject) letting the scraper's service account (namespace, name) read the gateway's
    key Secret, where the scraper reads secrets only so (GMP's collectors)."""
    namespace, name = account
    return ([{"apiGroups": [""], "resources": ["secrets"], "resourceNames": [KEYS_SECRET], "verbs": ["get", "list",
                                                                                                      "watch"]}],
            {"kind": "ServiceAccount", "name": name, "namespace": namespace})
