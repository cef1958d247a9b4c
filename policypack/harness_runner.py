"""Evaluate the pack's policies on resources given as JSON, in the pack's own venv (for the test suite).

    .cache/tools/policypack/bin/python policypack/harness_runner.py < jobs.json > results.json

Input: {"jobs": [job, ...]}; every job has an "id", an "env" (PULUMI_STACK, PULUMI_CONFIG, … as the CLI sets
them for the analyzer) and one of these modes:
  pack      — the whole pack over a resource graph, through pulumi-policy's own analyzer servicer: Analyze for
              every resource (its inputs), then AnalyzeStack over all of them (custom resources with their
              inputs standing in for outputs, components with none, as a component's outputs hold no inputs).
              This is the code path `pulumi preview --policy-pack` drives over gRPC, minus the transport.
  resource  — one named policy's `validate` called directly with a ResourceValidationArgs.
  stack     — one named stack policy's `validate` called directly with a StackValidationArgs.
  list      — the pack's policy names and kinds.
Resources are the offline engine's snapshot entries: {urn, type, name, parent, custom, provider, inputs,
options: {protect, dependsOn, …}, propertyDependencies?}; "[unknown]" stands for a value unknown in preview.
Output: {"results": {id: {"violations": [{policy, message, urn, enforcement}], "advisories": [...],
"notApplicable": [...]}}}.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# Run as a script, so its own folder (the pack's) is first on sys.path: sovereign_pack imports as the CLI's
# analyzer imports it.
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import (
    PolicyProviderResource, PolicyResource, PolicyResourceOptions, PolicyCustomTimeouts, ResourceValidationArgs,
    ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties  # noqa: E402
from pulumi_policy.policy import _PolicyAnalyzerServicer  # noqa: E402
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy  # noqa: E402

from sovereign_pack import ENFORCEMENT, PACK_NAME, POLICIES  # noqa: E402

UNKNOWN_MARK = "[unknown]"
_ENV_KEYS = ("PULUMI_CONFIG", "PULUMI_STACK", "PULUMI_PROJECT", "PULUMI_DRY_RUN", "PULUMI_ORGANIZATION",
             "SOVEREIGN_POLICY")
_LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
           analyzer_pb2.REMEDIATE: "remediate", analyzer_pb2.DISABLED: "disabled"}


def _wire(value: Any) -> Any:
    """Snapshot JSON → the engine's wire values: "[unknown]" becomes the unknown-string sentinel."""
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return UNKNOWN_STRING_VALUE if value == UNKNOWN_MARK else value


def _struct(props: dict) -> struct_pb2.Struct:
    return json_format.ParseDict(_wire(props), struct_pb2.Struct())


def _set_env(env: dict) -> None:
    for key in _ENV_KEYS:
        os.environ.pop(key, None)
    os.environ.update({k: str(v) for k, v in env.items()})


def _options(resource: dict) -> analyzer_pb2.AnalyzerResourceOptions:
    opts = resource.get("options") or {}
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(opts.get("protect")), ignoreChanges=opts.get("ignoreChanges") or [],
        parent=resource.get("parent") or "")


def _provider_msg(resource: dict, graph: dict[str, dict]) -> analyzer_pb2.AnalyzerProviderResource | None:
    provider = graph.get(resource.get("provider") or "")
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(urn=provider["urn"], type=provider["type"], name=provider["name"],
                                                 properties=_struct(provider.get("inputs") or {}))


def _diagnostics(response: analyzer_pb2.AnalyzeResponse, out: dict) -> None:
    for d in response.diagnostics:
        entry = {"policy": d.policyName, "message": d.message, "urn": d.urn,
                 "enforcement": _LEVELS.get(d.enforcementLevel, str(d.enforcementLevel))}
        # The SDK turns an UnknownValueError into an advisory "can't run policy … during preview".
        (out["advisories"] if entry["enforcement"] == "advisory" else out["violations"]).append(entry)
    for n in response.not_applicable:
        out["notApplicable"].append({"policy": n.policy_name, "reason": n.reason})


def _servicer(policies: list) -> _PolicyAnalyzerServicer:
    return _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", policies, ENFORCEMENT, None, None, None, None, None, None,
                                   None)


def run_pack(job: dict, policies: list) -> dict:
    out: dict = {"violations": [], "advisories": [], "notApplicable": []}
    resources = job["resources"]
    graph = {r["urn"]: r for r in resources}
    servicer = _servicer(policies)
    for r in resources:
        if r["type"].startswith("pulumi:providers:") or r["type"] == "pulumi:pulumi:Stack":
            continue
        request = analyzer_pb2.AnalyzeRequest(type=r["type"], properties=_struct(r.get("inputs") or {}),
                                              urn=r["urn"], name=r["name"], options=_options(r))
        provider = _provider_msg(r, graph)
        if provider is not None:
            request.provider.CopyFrom(provider)
        _diagnostics(servicer.Analyze(request, None), out)
    stack_request = analyzer_pb2.AnalyzeStackRequest()
    for r in resources:
        props = (r.get("inputs") or {}) if r.get("custom", True) else (r.get("outputs") or {})
        item = analyzer_pb2.AnalyzerResource(
            type=r["type"], properties=_struct(props), urn=r["urn"], name=r["name"], options=_options(r),
            parent=r.get("parent") or "", dependencies=(r.get("options") or {}).get("dependsOn") or [])
        for key, urns in (r.get("propertyDependencies") or {}).items():
            item.propertyDependencies[key].urns.extend(urns)
        provider = _provider_msg(r, graph)
        if provider is not None:
            item.provider.CopyFrom(provider)
        stack_request.resources.append(item)
    _diagnostics(servicer.AnalyzeStack(stack_request, None), out)
    return out


def _props(resource: dict) -> Any:
    return unknown_checking_proxy(deserialize_properties(_wire(resource.get("inputs") or {})))


def _provider_resource(resource: dict, graph: dict[str, dict]) -> PolicyProviderResource | None:
    provider = graph.get(resource.get("provider") or "") or resource.get("providerResource")
    if not provider:
        return None
    return PolicyProviderResource(provider["type"], _props(provider), provider["urn"], provider["name"])


def _policy_opts(resource: dict) -> PolicyResourceOptions:
    opts = resource.get("options") or {}
    return PolicyResourceOptions(bool(opts.get("protect")), opts.get("ignoreChanges") or [], None, [],
                                 PolicyCustomTimeouts(0, 0, 0), [], resource.get("parent") or None)


def _reporter(name: str, out: dict):
    def report(message: str, urn: str | None = None) -> None:
        out["violations"].append({"policy": name, "message": message, "urn": urn or "", "enforcement": "mandatory"})
    return report


def run_resource(job: dict, policy: ResourceValidationPolicy) -> dict:
    out: dict = {"violations": [], "advisories": [], "notApplicable": []}
    r = job["resource"]
    graph = {p["urn"]: p for p in job.get("graph", [])}
    args = ResourceValidationArgs(r["type"], _props(r), r["urn"], r["name"], _policy_opts(r),
                                  _provider_resource(r, graph), None)
    try:
        policy.validate(args, _reporter(policy.name, out))
    except UnknownValueError as exc:
        out["advisories"].append({"policy": policy.name, "message": exc.message})
    return out


def run_stack(job: dict, policy: StackValidationPolicy) -> dict:
    """A StackValidationArgs built the way the SDK's AnalyzeStack builds it (parents, dependencies resolved)."""
    out: dict = {"violations": [], "advisories": [], "notApplicable": []}
    graph = {r["urn"]: r for r in job["resources"]}
    built = {}
    for r in job["resources"]:
        props = (r.get("inputs") or {}) if r.get("custom", True) else (r.get("outputs") or {})
        built[r["urn"]] = PolicyResource(r["type"], unknown_checking_proxy(deserialize_properties(_wire(props))),
                                         r["urn"], r["name"], _policy_opts(r), _provider_resource(r, graph),
                                         None, [], {})
    for r in job["resources"]:
        resource = built[r["urn"]]
        resource.parent = built.get(r.get("parent") or "")
        resource.dependencies = [built[d] for d in (r.get("options") or {}).get("dependsOn") or [] if d in built]
        resource.property_dependencies = {k: [built[d] for d in urns if d in built]
                                          for k, urns in (r.get("propertyDependencies") or {}).items()}
    try:
        policy.validate(StackValidationArgs(list(built.values())), _reporter(policy.name, out))
    except UnknownValueError as exc:
        out["advisories"].append({"policy": policy.name, "message": exc.message})
    return out


def main() -> None:
    jobs = json.load(sys.stdin)["jobs"]
    by_name = {p.name: p for p in POLICIES}
    results = {}
    for job in jobs:
        _set_env(job.get("env") or {})
        mode = job["mode"]
        if mode == "list":
            results[job["id"]] = {"policies": [
                {"name": p.name, "kind": "stack" if isinstance(p, StackValidationPolicy) else "resource",
                 "enforcement": (p.enforcement_level or ENFORCEMENT).value,
                 "types": sorted(getattr(p, "resource_types", ()))} for p in POLICIES]}
        elif mode == "pack":
            wanted = job.get("policies")
            results[job["id"]] = run_pack(job, [p for p in POLICIES if not wanted or p.name in wanted])
        elif mode == "resource":
            results[job["id"]] = run_resource(job, by_name[job["policy"]])
        elif mode == "stack":
            results[job["id"]] = run_stack(job, by_name[job["policy"]])
        else:
            raise SystemExit(f"harness_runner: unknown mode {mode!r}")
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
