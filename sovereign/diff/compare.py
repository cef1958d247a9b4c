"""Compare one stack's base and head snapshots (`sovereign.engine.snapshot`) into a stack report.

The snapshot's known sections get a reviewer's reading — resources by URN (create / update with
property-level changes / delete), verdicts per provider, egress hosts per cloud, layer and list,
sizing per (cloud, model), GPU pools, the spec's `dr` failover settings, gateway routes — and every
other section or output, known to a later version of the engine or not, is compared generically, so a
new section shows up in the diff without a change here.
"""

from __future__ import annotations

import re
from typing import Any

from .changes import deep_changes, set_changes

GATEWAY_NAMESPACE = "sovereign-gateway"
# Snapshot sections read specially; any other top-level key is compared generically.
KNOWN_SECTIONS = ("stack", "spec", "verdicts", "sizing", "clusters", "egress", "resources", "outputs")
# Outputs that only mirror a snapshot section (compared there, not twice).
MIRRORED_OUTPUTS = ("egress", "sizing", "verdicts", "region")
VERDICT_FIELDS = ("allowed", "requested", "reachable", "hosts", "rules", "residency")


def compare_stack(stack: str, base: dict[str, Any] | None, head: dict[str, Any] | None) -> dict[str, Any]:
    """The report of one stack. `None` on a side means the stack does not exist (or is invalid) there."""
    status = ("added" if base is None else "removed" if head is None else "changed")
    b, h = base or {}, head or {}
    resources = compare_resources(b.get("resources", []), h.get("resources", []))
    verdicts = compare_verdicts(b.get("verdicts", []), h.get("verdicts", []))
    egress = compare_egress(b.get("egress", {}), h.get("egress", {}))
    gateway = compare_gateway(b, h, resources)
    both = base is not None and head is not None
    spec = deep_changes(b.get("spec") or {}, h.get("spec") or {}, "spec") if both else []
    jurisdiction = [c for c in spec if segment(c, 1) == "jurisdiction"]
    requests = [c for c in spec if segment(c, 1) == "managedApis"]
    failover = [c for c in spec if segment(c, 1) == "dr"]
    models = [c for c in spec if segment(c, 1) == "models"]
    other_spec = [c for c in spec if segment(c, 1) not in ("jurisdiction", "managedApis", "dr", "models")]
    sizing = (deep_changes(b.get("sizing", []), h.get("sizing", []), "sizing")
              + deep_changes(_pools(b), _pools(h), "pools") + models) if both else []
    sections: dict[str, list] = {}
    for name in sorted((set(b) | set(h)) - set(KNOWN_SECTIONS)):
        if not _is_gateway(name) and both:  # gateway sections are compared with the gateway
            found = deep_changes(b.get(name), h.get(name), name)
            if found:
                (failover.extend if _is_failover(name) else sections.setdefault(name, []).extend)(found)
    outputs = deep_changes(_outputs(b), _outputs(h), "outputs") if both else []
    failover += [c for c in outputs if _is_failover(segment(c, 1))]
    outputs = [c for c in outputs if not _is_failover(segment(c, 1))]
    sovereignty = {"verdicts": verdicts, "egress": egress, "gateway": gateway,
                   "jurisdiction": jurisdiction, "requests": requests}
    warnings = _failover_warnings(base, head)
    changed = any(resources[k] for k in ("create", "update", "delete")) or any(sovereignty.values()) or sizing \
        or failover or other_spec or outputs or sections
    if status == "changed" and not changed:
        status = "unchanged"
    return {
        "stack": stack,
        "status": status,
        "counts": {k: len(resources[k]) for k in ("create", "update", "delete")},
        "resources": resources,
        # Deletes `pulumi up` refuses: protected resources (weight buckets, DNS zones) leaving the graph of a
        # stack that stays (a removed stack file runs no `pulumi up`; destroying it is a separate decision).
        "blocked": [r["urn"] for r in resources["delete"] if r.get("protected")] if head is not None else [],
        "warnings": warnings,
        "cost": {"before": gpu_cost(base), "after": gpu_cost(head)},
        "sovereigntyChanged": any(bool(v) for v in sovereignty.values()),
        "sovereignty": sovereignty,
        "sizing": sizing,
        "failover": failover,
        "spec": other_spec,
        "outputs": outputs,
        "sections": sections,
        "topology": {"before": topology(base), "after": topology(head)},
    }


def segment(change: dict[str, Any], index: int) -> str:
    """The index-th name of a change's path: segment({'path': 'spec.dr.x'}, 1) == 'dr'."""
    parts = [p for p in re.split(r"[.\[]", change["path"]) if p]
    return parts[index] if len(parts) > index else ""


def _outputs(snap: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in (snap.get("outputs") or {}).items() if k not in MIRRORED_OUTPUTS and not _is_gateway(k)}


def _is_gateway(name: str) -> bool:
    return "gateway" in name.lower()


def _is_failover(name: str) -> bool:
    lowered = name.lower()
    return "failover" in lowered or lowered in ("dr", "drill", "drills")


def compare_resources(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, list]:
    """Resources by URN: created, deleted, and updated with their property-level changes. A change of
    `dependsOn` alone is no update (Pulumi orders operations by it but diffs no property): it is listed
    under `reordered`."""
    old = {r["urn"]: r for r in before}
    new = {r["urn"]: r for r in after}
    create = [_resource_ref(new[u], inputs=True) for u in sorted(set(new) - set(old))]
    delete = [{**_resource_ref(old[u], inputs=True), "protected": bool((old[u].get("options") or {}).get("protect"))}
              for u in sorted(set(old) - set(new))]
    update, reordered = [], []
    for urn in sorted(set(old) & set(new)):
        found = deep_changes(_comparable(old[urn]), _comparable(new[urn]))
        if found and all(c["path"].startswith("options.dependsOn") for c in found):
            reordered.append({**_resource_ref(new[urn]), "changes": found})
        elif found:
            update.append({**_resource_ref(new[urn]), "changes": found})
    return {"create": create, "update": update, "delete": delete, "reordered": reordered}


def _resource_ref(resource: dict[str, Any], inputs: bool = False) -> dict[str, Any]:
    ref = {"urn": resource["urn"], "type": resource.get("type", ""), "name": resource.get("name", ""),
           "custom": resource.get("custom", True)}
    if inputs:
        ref["inputs"] = resource.get("inputs", {})
    return ref


def _comparable(resource: dict[str, Any]) -> dict[str, Any]:
    """What an update changes: inputs, options, the provider and the parent (URN, type, name are the key)."""
    return {"inputs": resource.get("inputs", {}), "options": resource.get("options", {}),
            "provider": resource.get("provider", ""), "parent": resource.get("parent", "")}


def failover_state(snap: dict[str, Any] | None) -> str | None:
    """cross-cloud | one cloud | none (no dr.domain) — what a region's clients fail over between."""
    spec = (snap or {}).get("spec")
    if not spec:
        return None
    if not (spec.get("dr") or {}).get("domain"):
        return "none"
    return "cross-cloud" if len(spec.get("clouds") or []) > 1 else "one cloud"


def _failover_warnings(base: dict[str, Any] | None, head: dict[str, Any] | None) -> list[str]:
    was, now = failover_state(base), failover_state(head)
    if was == "cross-cloud" and now in ("one cloud", "none"):
        return [f"cross-cloud failover lost: clients of this region now have {now if now == 'none' else 'one cloud'} "
                "to fail over to"]
    if was == "one cloud" and now == "none":
        return ["failover DNS removed: no health-checked name for this region any more"]
    return []


def gpu_cost(snap: dict[str, Any] | None) -> dict[str, float] | None:
    """USD per hour of the GPU nodes at the pools' minimum and maximum sizes (reference-region list prices)."""
    if not snap or not snap.get("clusters"):
        return None
    price = {(f.get("cloud"), f.get("machineType")): f.get("usdPerHour") or 0.0 for f in snap.get("sizing") or []}
    low = high = 0.0
    for c in snap["clusters"]:
        for p in c.get("gpuPools") or []:
            each = price.get((c.get("cloud"), p.get("machineType")), 0.0)
            low, high = low + each * (p.get("minNodes") or 0), high + each * (p.get("maxNodes") or 0)
    return {"min": round(low, 2), "max": round(high, 2)}


def compare_verdicts(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per provider: the verdict fields that changed, with the whole before / after verdict."""
    old = {v["provider"]: v for v in before}
    new = {v["provider"]: v for v in after}
    out = []
    for provider in sorted(set(old) | set(new)):
        b, a = _verdict(old.get(provider)), _verdict(new.get(provider))
        fields = [f for f in VERDICT_FIELDS if (b or {}).get(f) != (a or {}).get(f)]
        if fields:
            out.append({"provider": provider, "fields": fields, "before": b, "after": a})
    return out


def _verdict(v: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if v is None else {f: v.get(f) for f in VERDICT_FIELDS}


def verdict_state(v: dict[str, Any] | None) -> str | None:
    """reachable | denied | allowed-unrequested | denied-unrequested (None: no such provider)."""
    if not v:
        return None
    if v.get("requested"):
        return "reachable" if v.get("allowed") and v.get("reachable", True) else "denied"
    return "allowed-unrequested" if v.get("allowed") else "denied-unrequested"


def compare_egress(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Per cloud, layer and list (allowed / denied): the hosts added and removed."""
    out = []
    for cloud in sorted(set(before) | set(after)):
        b_layers, a_layers = before.get(cloud) or {}, after.get(cloud) or {}
        for layer in sorted(set(b_layers) | set(a_layers)):
            b_lists, a_lists = b_layers.get(layer) or {}, a_layers.get(layer) or {}
            for name in sorted(set(b_lists) | set(a_lists)):
                added, removed = set_changes(b_lists.get(name) or [], a_lists.get(name) or [])
                if added or removed:
                    out.append({"cloud": cloud, "layer": layer, "list": name, "added": added, "removed": removed})
    return out


def compare_gateway(base: dict[str, Any], head: dict[str, Any], resources: dict[str, list]) -> list[dict[str, Any]]:
    """Gateway routes: `gateway*` outputs and sections, and resources in the gateway's namespace."""
    out = []
    for source in ("outputs", None):
        b = (base.get(source) or {}) if source else base
        h = (head.get(source) or {}) if source else head
        for name in sorted(k for k in set(b) | set(h) if _is_gateway(k)):
            if base and head:
                out += deep_changes(b.get(name), h.get(name), f"{source}.{name}" if source else name)
    for kind in ("create", "update", "delete"):
        for r in resources[kind]:
            if _in_gateway_namespace(r, base, head):
                out.append({"path": f"resource {r['type']}::{r['name']}", "kind": kind,
                            **({"changes": r["changes"]} if "changes" in r else {})})
    return out


def _in_gateway_namespace(ref: dict[str, Any], base: dict[str, Any], head: dict[str, Any]) -> bool:
    for snap in (head, base):
        for r in snap.get("resources", []):
            if r["urn"] == ref["urn"]:
                meta = (r.get("inputs") or {}).get("metadata") or {}
                return isinstance(meta, dict) and meta.get("namespace") == GATEWAY_NAMESPACE or \
                    r.get("name") == GATEWAY_NAMESPACE
    return False


def _pools(snap: dict[str, Any]) -> list[dict[str, Any]]:
    """GPU and system pools per cluster, flattened for a keyed comparison."""
    out = []
    for c in snap.get("clusters") or []:
        for p in c.get("gpuPools") or []:
            out.append({"cloud": c.get("cloud"), "name": f"{c.get('name')}/{p.get('name')}",
                        **{k: p.get(k) for k in ("machineType", "gpu", "minNodes", "maxNodes", "spot", "models")}})
        if c.get("systemPool"):
            out.append({"cloud": c.get("cloud"), "name": f"{c.get('name')}/system", **c["systemPool"]})
    return out


def topology(snap: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the Mermaid diagram draws: clouds → cluster → pools → releases (+ gateway), and the
    managed APIs with their verdict state and hosts. None when the snapshot lacks the sections."""
    if not snap or not snap.get("clusters"):
        return None
    outputs = snap.get("outputs") or {}
    gateways = next((outputs[k] for k in sorted(outputs) if _is_gateway(k)), None)
    clouds = []
    for c in snap["clusters"]:
        cloud = c.get("cloud", "?")
        has_gateway = isinstance(gateways, dict) and cloud in gateways or any(
            (r.get("inputs") or {}).get("metadata", {}).get("namespace") == GATEWAY_NAMESPACE
            and f"{c.get('name')}" in r.get("urn", "") for r in snap.get("resources", [])
            if isinstance((r.get("inputs") or {}).get("metadata"), dict))
        clouds.append({
            "cloud": cloud, "region": c.get("region"), "cluster": c.get("name"),
            "pools": [{"name": p.get("name"), "machineType": p.get("machineType"), "minNodes": p.get("minNodes"),
                       "maxNodes": p.get("maxNodes"), "models": list(p.get("models") or [])}
                      for p in c.get("gpuPools") or []],
            "gateway": bool(has_gateway),
            # Providers its gateway routes: keyed, or reached as its own identity (an allowed provider without a key
            # is answered by open weights).
            "routed": sorted({*((gateways or {}).get(cloud, {}).get("keyEnv") or {}),
                              *((gateways or {}).get(cloud, {}).get("identity") or [])})
            if isinstance(gateways, dict) and isinstance(gateways.get(cloud), dict) else None,
            # The managed-API hosts the gateway reaches (the network layer also holds the cloud's declared hosts).
            "allowedHosts": sorted((((snap.get("egress") or {}).get(cloud) or {}).get("pod") or {}).get("allowed", [])),
        })
    apis = [{"provider": v["provider"], "state": verdict_state(v), "hosts": list(v.get("hosts") or [])}
            for v in snap.get("verdicts", []) if v.get("requested")]
    return {"region": (snap.get("spec") or {}).get("region") or snap.get("stack"), "clouds": clouds, "apis": apis}
