"""`sovereign:gcp:EgressFence` — placeholder until the egress fence lands; registers no resources."""

from __future__ import annotations

from typing import Optional

import pulumi

from ..egress_args import EgressFenceArgs


class GcpEgressFence(pulumi.ComponentResource):
    def __init__(self, name: str, args: EgressFenceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:gcp:EgressFence", name, None, opts)
        self.hosts = {}
        self.register_outputs({})
