"""Offline answers for Kubernetes objects whose status the program reads: load-balancer addresses."""

from __future__ import annotations

from typing import Any, Callable

import pulumi

from .mock_context import ProviderContext, short_hash

Args = pulumi.runtime.MockResourceArgs


def _service(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    if (args.inputs.get("spec") or {}).get("type") != "LoadBalancer":
        return {}
    digest = short_hash("lb", args.name, n=16)
    # Both shapes: AWS answers with a name, GCP with an address (TEST-NET-3, never routable).
    ingress = {"hostname": f"a{digest}.elb.amazonaws.com", "ip": f"203.0.113.{int(digest[:2], 16) % 254 + 1}"}
    return {"status": {"loadBalancer": {"ingress": [ingress]}}}


OUTPUTS: dict[str, Callable[[Args, ProviderContext], dict[str, Any]]] = {
    "kubernetes:core/v1:Service": _service,
}
