"""The bare-mocks baselines `plan_benchmark.py` times beside `sovereign plan`.

Both replay, per stack, exactly the resources a `sovereign plan` run registered (read from its
snapshots: type token, name, parent, provider, recorded inputs and what each input came from), as a
plain Pulumi program under a trivial `pulumi.runtime.Mocks` that echoes inputs, on the same worker pool
and with the same runner treatment as the plan (sovereign/engine/lean_runtime.py: no source positions,
the collector paused while a stack runs; one collection after each stack):

  sdk  every resource through the class a Pulumi program would use for its token — `pulumi_aws.ec2.Vpc`,
       `pulumi_gcp.compute.Network`, `pulumi_kubernetes.helm.v3.Release`, the packages' `Provider`s —
       found in the packages' own resource registry, with the recorded inputs as keyword arguments, the
       same parents and providers, and each input that came from other resources passed as an Output of
       them (so registrations wait on each other as the program's did); components as plain
       `ComponentResource`s of the same token.
       What the same resources cost through Pulumi and its provider SDKs, with no project code.
  raw  every resource as an untyped `pulumi.CustomResource` of the same token with the recorded inputs,
       no parents, no provider SDK imported: Pulumi's runtime alone.

    python benchmarks/baseline.py SPEC.json --mode sdk --workers 2

prints {"registered": <resources>, "dropped": [<type.input> no SDK class takes]} as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import multiprocessing
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sovereign.engine.lean_runtime import lean_runtime  # noqa: E402
from sovereign.engine.parallel import run_parallel, settle_heap  # noqa: E402
from sovereign.engine.sdk_classes import SDK_PACKAGES, sdk_class, wire_names  # noqa: E402
from sovereign.pulumi_internals import mock_monitor_class, run_pulumi_func  # noqa: E402

MODES = ("sdk", "raw")
STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_PREFIX = "pulumi:providers:"


def write_spec(snapshots: Path, into: Path) -> tuple[Path, int]:
    """Per stack, every resource its plan registered; returns the file and the resource count."""
    keep = ("type", "name", "urn", "parent", "provider", "custom", "inputs", "options", "dependencies")
    stacks = {}
    for path in sorted(snapshots.glob("*.json")):
        doc = json.loads(path.read_text())
        stacks[doc["stack"]] = [{k: r[k] for k in keep} for r in doc["resources"]]
    into.write_text(json.dumps(stacks))
    return into, sum(len(v) for v in stacks.values())


# ---- the sdk program ------------------------------------------------------------------------------------

def _after(value: Any, sources: list[Any]) -> Any:
    """`value` as an Output of the resources it came from, as the program wired it (a plain value when
    it came from none): the same dependency graph and the same waiting for it."""
    import pulumi

    if not sources:
        return value
    return pulumi.Output.all(*(s.urn for s in sources)).apply(lambda _: value)


def sdk_program(resources: list[dict[str, Any]], dropped: set[str]):
    import pulumi

    def program() -> None:
        made: dict[str, pulumi.Resource] = {}
        for r in resources:
            if r["type"] == STACK_TYPE:
                continue
            wired = {u for urns in r["dependencies"].values() for u in urns}
            opts = pulumi.ResourceOptions(
                parent=made.get(r["parent"]), provider=made.get(r["provider"]),
                # Explicit dependencies: those no input carries.
                depends_on=[made[u] for u in r.get("options", {}).get("dependsOn", []) if u not in wired and u in made])
            inputs = {k: _after(v, [made[u] for u in r["dependencies"].get(k, []) if u in made])
                      for k, v in r["inputs"].items()}
            cls = sdk_class(r["type"])
            if cls is None and r["type"].startswith(PROVIDER_PREFIX):   # a provider of a package not imported
                made[r["urn"]] = pulumi.ProviderResource(r["type"][len(PROVIDER_PREFIX):], r["name"], inputs, opts)
            elif cls is None and r["custom"]:
                made[r["urn"]] = pulumi.CustomResource(r["type"], r["name"], inputs, opts)
            elif cls is None:
                component = pulumi.ComponentResource(r["type"], r["name"], None, opts)
                component.register_outputs({})
                made[r["urn"]] = component
            else:
                names = wire_names(cls)
                kwargs = {names[k]: v for k, v in inputs.items() if k in names}
                dropped.update(f"{r['type']}.{k}" for k in r["inputs"] if k not in names)
                made[r["urn"]] = cls(r["name"], opts=opts, **kwargs)
    return program


# ---- the raw program ------------------------------------------------------------------------------------

def raw_program(resources: list[dict[str, Any]]):
    import pulumi

    def program() -> None:
        for i, r in enumerate(resources):
            if r["type"] == STACK_TYPE:
                continue
            custom = r["custom"] and not r["type"].startswith(PROVIDER_PREFIX)
            pulumi.CustomResource(r["type"] if custom else "baseline:index:Resource", f"{r['name']}-{i}",
                                  dict(r["inputs"]))
    return program


# ---- running one stack ----------------------------------------------------------------------------------

def run_stack(mode: str, stack: str, resources: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """Register one stack's resources in a fresh context and loop (as plan_stack isolates runs);
    returns how many registrations the engine received and the recorded inputs no SDK class takes."""
    import pulumi

    class EchoMocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            return f"{args.name}-id", dict(args.inputs)

        def call(self, args: pulumi.runtime.MockCallArgs):
            return {}

    class CountingMonitor(mock_monitor_class()):
        registered = 0

        def RegisterResource(self, request):
            self.registered += 1
            return super().RegisterResource(request)

    dropped: set[str] = set()
    program = sdk_program(resources, dropped) if mode == "sdk" else raw_program(resources)
    monitor = CountingMonitor(EchoMocks())

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            pulumi.runtime.set_mocks(monitor.mocks, project="baseline", stack=stack, preview=False,
                                     monitor=monitor)
            loop.run_until_complete(run_pulumi_func(program))
        finally:
            loop.close()
            asyncio.set_event_loop(None)

    with lean_runtime():  # the runner treatment plan_stack gives the program
        contextvars.Context().run(run)
    if multiprocessing.parent_process() is not None:
        settle_heap()  # and the collection sovereign's workers make after each stack
    return monitor.registered, sorted(dropped)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", type=Path, help="resources per stack, as write_spec wrote them")
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    stacks = json.loads(args.spec.read_text())
    calls = [(args.mode, name, resources) for name, resources in stacks.items()]
    if args.workers <= 1 or len(calls) <= 1:
        results = [run_stack(*c) for c in calls]
    else:
        # Preloaded by the fork server, as the plan preloads its program.
        preload = ("pulumi", *SDK_PACKAGES) if args.mode == "sdk" else ("pulumi",)
        results = run_parallel(run_stack, calls, args.workers, preload=preload)
    print(json.dumps({"registered": sum(count for count, _ in results),
                      "dropped": sorted({key for _, keys in results for key in keys})}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
