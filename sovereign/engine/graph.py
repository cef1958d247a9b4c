"""Recording what the program registers: the resource graph the engine returns.

A MockMonitor subclass sees every RegisterResource request — custom resources, components and
providers alike — with its parent, options and serialized inputs, exactly what the Pulumi engine
would receive from `pulumi up`. Secrets stay masked and resource references become URNs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format

from ..pulumi_internals import mock_monitor_class, wire_signatures

SECRET_MASK = "[secret]"
UNKNOWN_MARK = "[unknown]"
# Pulumi's wire-format markers.
_SIG_KEY, _SECRET_SIG, _RESOURCE_SIG, _UNKNOWN = wire_signatures()


@dataclass(frozen=True)
class RegisteredResource:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    provider: str
    inputs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    # Input property → the URNs of the resources its value came from (Pulumi's propertyDependencies).
    dependencies: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "name": self.name, "parent": self.parent,
                "custom": self.custom, "provider": self.provider, "inputs": self.inputs,
                "options": self.options, "dependencies": self.dependencies}


class RecordingMonitor(mock_monitor_class()):
    def __init__(self, mocks):
        super().__init__(mocks)
        self.registered: list[RegisteredResource] = []

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        options = {
            "protect": request.protect if request.HasField("protect") else None,
            "retainOnDelete": request.retainOnDelete if request.HasField("retainOnDelete") else None,
            "deletedWith": request.deletedWith or None,
            "dependsOn": sorted(request.dependencies) or None,
            "ignoreChanges": sorted(request.ignoreChanges) or None,
            # What the resource was declared as before (a rename, a new parent): as URNs, or the SDK's alias specs.
            "aliases": sorted(request.aliasURNs) or [clean(json_format.MessageToDict(a)) for a in request.aliases]
            or None,
        }
        self.registered.append(RegisteredResource(
            urn=urn, type=request.type, name=request.name, parent=request.parent,
            custom=bool(request.custom), provider=_provider_urn(request.provider),
            inputs=clean(json_format.MessageToDict(request.object)),
            options={k: v for k, v in options.items() if v is not None},
            dependencies={k: sorted(v.urns) for k, v in sorted(request.propertyDependencies.items()) if v.urns},
        ))
        return super().RegisterResource(request)


def _provider_urn(reference: str) -> str:
    """Provider references are '<urn>::<id>'; the URN alone is stable and readable."""
    return reference.rsplit("::", 1)[0] if reference else ""


def clean(value: Any) -> Any:
    """Wire-format property values to plain JSON: secrets masked, references as URNs."""
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SECRET_SIG:
            return SECRET_MASK
        if sig == _RESOURCE_SIG:
            return value.get("urn", "")
        return {k: clean(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if value == _UNKNOWN:
        return UNKNOWN_MARK
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Struct numbers are doubles
    return value
