"""Benchmark `sovereign plan`: the project's stacks and synthetic sets of 10, 50 and 100 regions, each
beside bare-mocks baselines that register the same resources with the same parallelism.

    .venv/bin/python benchmarks/plan_benchmark.py            # all stacks + 10, 50, 100 regions
    .venv/bin/python benchmarks/plan_benchmark.py --sets 10 --repeat 5 --json build/bench.json

Each measurement is a fresh process, timed from start to exit, as a user runs it:
  sovereign  `python -m sovereign plan --project <set> --out <dir>`: the real program per stack (spec,
             policy verdicts, sizing, components, the project's mocks and graph recording), one worker
             process per core (sovereign/engine/parallel.py), snapshots written.
  sdk        benchmarks/baseline.py: the resources that plan registered, replayed through the provider
             SDK classes (same tokens, names, inputs, parents, providers, and each input wired to the
             resources it came from) under a trivial echoing `pulumi.runtime.Mocks`, on the same worker
             pool with the same runner treatment. What the same resources cost through Pulumi alone,
             with no project code: no spec, policy or sizing, no components, no realistic mocks, no
             recorded graph or snapshots.
  raw        the same resources as untyped `pulumi.CustomResource`s, no provider SDK imported: Pulumi's
             runtime alone, for reference.
ratio = sovereign / sdk: the overhead of everything the project adds. Goal: ≤ 1.25, and 100 regions in
under 30 s on two cores. After an untimed warm-up plan, each of --repeat rounds runs all three side by
side, the order flipped every round; times are the fastest, ratios the median of the per-round ratios
(shared machines drift by tens of percent within minutes; paired rounds cancel most of it). Synthetic regions are valid stack files generated from
the catalog (clouds, regions, models and managed APIs varied; each validated with the project's own spec
and sizing rules) in a temporary project folder with this project's Pulumi.yaml, __main__.py and policy/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from a clean checkout without an installed package

from baseline import write_spec  # noqa: E402 - beside this script

BASELINE = Path(__file__).resolve().with_name("baseline.py")

GOAL_RATIO = 1.25
GOAL_100_S = 30.0
SMALL_MODELS = ("llama-3.1-8b-instruct", "qwen2.5-7b-instruct", "mistral-7b-instruct-v0.3", "gemma-2-9b-it")
MEDIUM_MODELS = ("mistral-small-24b-instruct-2501", "gpt-oss-20b", "gemma-2-27b-it")
APIS = (("openai", "gpt-4.1"), ("anthropic", "claude-sonnet-4-5"), ("mistral", "mistral-large-latest"),
        ("deepseek", "deepseek-chat"))


# ---- synthetic regions ------------------------------------------------------------------------------

def synthetic_project(n: int, into: Path) -> list[str]:
    """A project folder with `n` valid region stacks varied over the catalog; returns the stack names."""
    import yaml

    from sovereign.catalog import load_catalog
    from sovereign.clouds import profile
    from sovereign.domain.decisions import decide_region
    from sovereign.domain.errors import InvalidInput
    from sovereign.domain.spec import parse_spec
    from sovereign.project import load_project_policy

    catalog = load_catalog()
    policy = load_project_policy(ROOT)
    into.mkdir(parents=True, exist_ok=True)
    for item in ("Pulumi.yaml", "__main__.py"):
        shutil.copy2(ROOT / item, into / item)
    for folder in ("components", "policy"):
        shutil.copytree(ROOT / folder, into / folder, dirs_exist_ok=True)
    (into / "stacks").mkdir(exist_ok=True)
    offered = {cloud: sorted(name for (c, name), gpus in catalog.offerings.items() if c == cloud and gpus)
               for cloud in ("aws", "gcp")}
    names: list[str] = []
    attempt = 0
    while len(names) < n:
        if attempt > 50 * n:
            raise SystemExit(f"could only generate {len(names)} valid synthetic regions of {n}")
        i, attempt = len(names), attempt + 1
        name = f"syn-{i + 1:03d}"
        shape = ("aws", "gcp"), ("aws",), ("gcp",)
        clouds = shape[(i + attempt) % 3]
        config_clouds: dict[str, Any] = {}
        for cloud in clouds:
            region = offered[cloud][(i * 7 + attempt) % len(offered[cloud])]
            config_clouds[cloud] = {"region": region, **({"project": f"syn-{i + 1:03d}-proj"} if cloud == "gcp" else {})}
            if "registryCredentials" in profile(cloud).optional_keys and not region.startswith("cn-"):
                # The mirrors' upstream credentials, as Secrets Manager ARNs in the cloud's region (spec.py).
                config_clouds[cloud]["registryCredentials"] = {
                    key: f"arn:aws:secretsmanager:{region}:111122223333:secret:ecr-pullthroughcache/{key}-a1B2c3"
                    for key in ("dockerHub", "ghcr")}
        models = [SMALL_MODELS[(i + attempt) % len(SMALL_MODELS)]]
        if i % 2:
            models.append(MEDIUM_MODELS[(i + attempt) % len(MEDIUM_MODELS)])
        apis = [APIS[(i + k) % len(APIS)] for k in range(1 + i % 3)]
        config = {
            "pulumi:disable-default-providers": ["*"],
            "sovereign:region": name,
            "sovereign:clouds": config_clouds,
            "sovereign:models": [{"id": m, "replicas": {"min": 1, "max": 2 + k}} for k, m in enumerate(models)],
            "sovereign:managedApis": [{"provider": p, "models": [{"name": model, "fallback": models[0]}]}
                                      for p, model in apis],
        }
        try:
            decided = decide_region(parse_spec(config, name, f"stacks/Pulumi.{name}.yaml", catalog), policy, catalog)
        except (InvalidInput, KeyError, ValueError):
            continue  # e.g. a model no GPU of that region fits: vary and try again
        if any(profile(c.cloud).catalog.accelerator_type and catalog.gpu_zones(c.cloud, c.plan.cloud.region.name,
                                                                               p.gpu) is None
               for c in decided.clusters for p in c.plan.gpu_pools):
            continue  # a GKE pool needs its accelerator's zones, which the catalog lacks there (a reality rule)
        (into / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))
        names.append(name)
    return names


def project_stacks(into: Path) -> list[str]:
    """The project's own stacks, copied so the benchmark never writes into the checkout."""
    for item in ("Pulumi.yaml", "__main__.py"):
        shutil.copy2(ROOT / item, into / item)
    for folder in ("components", "stacks", "policy"):
        shutil.copytree(ROOT / folder, into / folder)
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (into / "stacks").glob("Pulumi.*.yaml"))


# ---- the two measurements ------------------------------------------------------------------------------

def environment(workers: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SOVEREIGN_POLICY"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["SOVEREIGN_PLAN_WORKERS"] = str(workers)
    return env


def time_sovereign(project: Path, out: Path, workers: int) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sovereign", "plan", "--project", str(project), "--out", str(out)],
                          cwd=project, env=environment(workers), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"sovereign plan failed for {project}:\n{done.stderr[-3000:]}")
    return elapsed


def time_baseline(spec: Path, mode: str, workers: int, resources: int) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(BASELINE), str(spec), "--mode", mode, "--workers", str(workers)],
                          env=environment(workers), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{mode} baseline failed:\n{done.stderr[-3000:]}")
    # The baseline must register what the plan did: every resource, no recorded input left out.
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["registered"] != resources or result["dropped"]:
        raise SystemExit(f"{mode} baseline registered {result['registered']} of {resources} resources; "
                         f"inputs left out: {', '.join(result['dropped']) or 'none'}")
    return elapsed


# ---- driver -----------------------------------------------------------------------------------------------

def measure(project: Path, names: list[str], workers: int, scratch: Path, repeat: int) -> dict[str, Any]:
    out = scratch / f"out-{project.name}"
    # An untimed first plan warms the file cache and writes the snapshots the baselines replay.
    time_sovereign(project, out, workers)
    spec, resources = write_spec(out, scratch / f"baseline-{project.name}.json")
    times: dict[str, list[float]] = {"sovereign": [], "sdk": [], "raw": []}
    for i in range(repeat):
        # Side by side, the order flipped every round: a machine that speeds up or slows down during a
        # round favours neither side over the rounds.
        for mode in (("sovereign", "sdk", "raw") if i % 2 == 0 else ("raw", "sdk", "sovereign")):
            if mode == "sovereign":
                shutil.rmtree(out, ignore_errors=True)
                times[mode].append(time_sovereign(project, out, workers))
            else:
                times[mode].append(time_baseline(spec, mode, workers, resources))
    s, sdk, raw = (min(times[k]) for k in ("sovereign", "sdk", "raw"))
    # Ratios per round (each pair measured minutes apart at most), the median over rounds.
    ratio = statistics.median(a / b for a, b in zip(times["sovereign"], times["sdk"]))
    raw_ratio = statistics.median(a / b for a, b in zip(times["sovereign"], times["raw"]))
    return {"stacks": len(names), "resources": resources, "sovereign_s": round(s, 2), "sdk_s": round(sdk, 2),
            "ratio": round(ratio, 2), "raw_s": round(raw, 2), "raw_ratio": round(raw_ratio, 2),
            "resources_per_s": round(resources / s, 1), "workers": workers, "rounds": repeat,
            "times_s": {k: [round(t, 2) for t in v] for k, v in times.items()}}


COLUMNS = (("set", "set", 12, "s"), ("stacks", "stacks", 6, "d"), ("resources", "resources", 9, "d"),
           ("sovereign s", "sovereign_s", 11, ".2f"), ("sdk s", "sdk_s", 7, ".2f"), ("ratio", "ratio", 6, ".2f"),
           ("raw s", "raw_s", 7, ".2f"), ("vs raw", "raw_ratio", 6, ".2f"),
           ("resources/s", "resources_per_s", 11, ".1f"))


def table(rows: list[dict[str, Any]]) -> str:
    head = " ".join(f"{title:<{w}}" if key == "set" else f"{title:>{w}}" for title, key, w, _ in COLUMNS)
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(" ".join(f"{r[key]:<{w}{f}}" if key == "set" else f"{r[key]:>{w}{f}}"
                              for _, key, w, f in COLUMNS))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="10,50,100", help="synthetic set sizes, comma-separated (default 10,50,100)")
    parser.add_argument("--no-project", action="store_true", help="skip the project's own stacks")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: the machine's cores)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="rounds per set (default 5): fastest times, median of the per-round ratios")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    from sovereign.engine.parallel import default_workers

    workers = args.workers or default_workers()
    sizes = [int(s) for s in args.sets.split(",") if s.strip()]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(f"sovereign plan benchmark: {workers} worker(s) on {os.cpu_count()} core(s), Python "
          f"{sys.version.split()[0]}, load average {load}; each time is one fresh process, start to exit; "
          f"{args.repeat} round(s) per set: fastest times, median of the per-round ratios", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="sovereign-bench-") as tmp:
        scratch = Path(tmp)
        sets: list[tuple[str, Path, list[str]]] = []
        if not args.no_project:
            (scratch / "project").mkdir()
            sets.append(("all stacks", scratch / "project", project_stacks(scratch / "project")))
        for n in sizes:
            sets.append((f"{n} regions", scratch / f"syn-{n}", synthetic_project(n, scratch / f"syn-{n}")))
        for label, project, names in sets:
            rows.append({"set": label, **measure(project, names, workers, scratch, args.repeat)})
            r = rows[-1]
            print(f"  {label}: {r['sovereign_s']:.2f} s, sdk {r['sdk_s']:.2f} s, raw {r['raw_s']:.2f} s", flush=True)
    print()
    print(table(rows))
    print()
    hundred = next((r for r in rows if r["set"] == "100 regions"), None)
    worst = max(r["ratio"] for r in rows)
    print(f"goal: ratio ≤ {GOAL_RATIO} — worst {worst:.2f} ({'met' if worst <= GOAL_RATIO else 'missed'})"
          + (f"; 100 regions < {GOAL_100_S:.0f} s — {hundred['sovereign_s']:.1f} s "
             f"({'met' if hundred['sovereign_s'] < GOAL_100_S else 'missed'})" if hundred else ""))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
