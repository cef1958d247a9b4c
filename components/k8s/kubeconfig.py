"""Kubeconfig with exec-based credentials: short-lived tokens from the cloud CLI, nothing stored."""

from __future__ import annotations

import json


def exec_kubeconfig(name: str, endpoint: str, ca_data: str, command: str, args: list[str]) -> str:
    """A one-context kubeconfig (JSON, which is valid YAML) whose user runs `command args` for a token."""
    return json.dumps({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "users": [{"name": name, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": command,
            "args": args,
            "interactiveMode": "Never",
            "provideClusterInfo": command == "gke-gcloud-auth-plugin",
        }}}],
    }, sort_keys=True)
