"""Where the platform's workloads run in every cluster, and the labels fences and routes select on."""

from __future__ import annotations

SERVING_NAMESPACE = "sovereign-serving"
GATEWAY_NAMESPACE = "sovereign-gateway"
# The gateway's pods: the only workload the egress fence lets reach managed-API hosts.
GATEWAY_POD_LABELS = {"app.kubernetes.io/name": "inference-gateway"}
# The model servers' pods (set by charts/model-server on every release).
SERVING_POD_LABELS = {"app.kubernetes.io/name": "model-server"}
SERVING_PORT = 8000
NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set by Kubernetes on every namespace
# The model servers' API key: generated per cluster, held by the serving pods (vLLM's VLLM_API_KEY) and the
# gateway alone, so a pod that reaches a model server past the ingress policy still cannot use it.
SERVING_KEY_SECRET = "model-server-api-key"
SERVING_KEY_FIELD = "key"
SERVING_KEY_ENV = "SERVING_API_KEY"   # the gateway's variable holding it
