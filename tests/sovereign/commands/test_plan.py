"""`sovereign plan` as a user runs it: exit codes, summaries, snapshots and error reports."""

from __future__ import annotations

import json

from sovereign.engine.snapshot import dumps, snapshot
from tests.support.cli import run_cli
from tests.support.stacks import STACKS


def test_plan_all_stacks_prints_summaries_and_writes_identical_snapshots(tmp_path, plans):
    # In this process, whose planning workers are processes of their own (the console entry point runs in the
    # diff tests, `python -m sovereign diff`; a freshly spawned planner in test_parallel).
    first = run_cli("plan", "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    for stack in STACKS:
        assert f"== {stack} (stacks/Pulumi.{stack}.yaml)" in first.stdout
    assert f"{len(STACKS)} of {len(STACKS)} stack(s) planned" in first.stdout
    assert "deny-of-concern" in first.stdout and "eu.api.openai.com" in first.stdout
    assert all(len(line) <= 100 for line in first.stdout.splitlines() if str(tmp_path) not in line)
    assert [line.split()[0] for line in first.stderr.splitlines()] == ["planned"] * len(STACKS)
    grid = first.stdout.split("== egress per stack", 1)[1].splitlines()
    header = next(line.split() for line in grid if line.split()[:1] == ["stack"])
    column = header.index(next(code for code, name in zip(grid[1].split()[1::2], grid[1].split()[2::2])
                               if name.rstrip(",") == "deepseek"))
    rows = {line.split()[0]: line.split() for line in grid if line.split()[:1] and line.split()[0] in STACKS}
    assert rows["it-south"][column] == "-!" and rows["sa-east"][column] == "-"
    verbose = run_cli("plan", "--stack", "it-south", "--verbose")
    assert "ban-deepseek-italy" in verbose.stdout and "resources by type" in verbose.stdout
    # Every host of every fence layer, as the plan registered them (the snapshot's egress section).
    listed = " ".join(verbose.stdout.split("   egress", 1)[1].split("resources by type", 1)[0].split())
    for cloud, layers in plans["it-south"].outputs["egress"].items():
        for layer, hosts in layers.items():
            for verb, names in hosts.items():
                assert not names or f"{cloud} {layer} {verb} {', '.join(names)}" in listed, (cloud, layer, verb)
    # Byte-identical to another run: this process's own plan of every stack (the `plans` fixture).
    for stack in STACKS:
        assert (tmp_path / "a" / f"{stack}.json").read_text() == dumps(snapshot(plans[stack])), stack


def test_json_output_is_the_snapshots(plans):
    result = run_cli("plan", "--stack", "sa-east", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc == {"stacks": [json.loads(dumps(snapshot(plans["sa-east"])))], "invalid": {}}


def test_typo_in_a_stack_key_is_one_clear_message_and_other_stacks_still_plan(project_copy, tmp_path):
    others = ("cn-north", "sa-east")
    for stack in set(STACKS) - set(others):
        (project_copy / "stacks" / f"Pulumi.{stack}.yaml").unlink()
    good = (project_copy / "stacks" / "Pulumi.sa-east.yaml").read_text()
    (project_copy / "stacks" / "Pulumi.typo.yaml").write_text(good.replace("sovereign:models:", "sovereign:model:"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "typo.json").write_text("{}")  # left by an earlier run in which the stack was valid
    result = run_cli("plan", "--project", str(project_copy), "--out", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert [line for line in result.stderr.splitlines() if not line.startswith("planned ")] == [
        "stacks/Pulumi.typo.yaml: invalid, nothing planned:",
        "  stacks/Pulumi.typo.yaml: sovereign:model: unknown key 'model' (did you mean 'models'?). "
        "Fix: use one of: apiKeys, clouds, dr, drill, drillPhase, jurisdiction, logRetentionDays, maintenance, managedApis, "
        "models, "
        "region",
    ]
    assert "== sa-east" in result.stdout and "2 of 3 stack(s) planned" in result.stdout
    assert sorted(f.name for f in out.iterdir()) == [f"{stack}.json" for stack in others]


def test_unknown_model_is_one_clear_message(project_copy):
    good = (project_copy / "stacks" / "Pulumi.sa-east.yaml").read_text()
    (project_copy / "stacks" / "Pulumi.sa-east.yaml").write_text(good.replace("- id: llama-3.1-8b-instruct",
                                                                              "- id: llama-3-8b-instruct"))
    result = run_cli("plan", "--project", str(project_copy), "--stack", "sa-east")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("  ")]
    assert errors == ["  stacks/Pulumi.sa-east.yaml: sovereign:models[0].id: unknown value 'llama-3-8b-instruct' "
                      "(did you mean 'llama-3.1-8b-instruct'?). Fix: use one of: deepseek-r1-distill-llama-70b, "
                      "gemma-2-27b-it, gemma-2-9b-it, gpt-oss-120b, gpt-oss-20b, llama-3.1-405b-instruct, "
                      "llama-3.1-70b-instruct, llama-3.1-8b-instruct, llama-3.3-70b-instruct, "
                      "mistral-7b-instruct-v0.3, mistral-small-24b-instruct-2501, "
                      "mixtral-8x7b-instruct-v0.1, … (14 in all)"]


def test_broken_policy_is_reported_once_and_plans_nothing(project_copy):
    policy = project_copy / "policy" / "sovereignty.yaml"
    policy.write_text(policy.read_text().replace("providers: [deepseek]\n    countries: [IT]",
                                                 "providers: [deepseek]\n    countries: [ITA]"))
    result = run_cli("plan", "--project", str(project_copy))
    assert result.returncode == 2 and result.stdout == ""
    assert "policy/sovereignty.yaml: bans[0].countries[0]: unknown value 'ITA'" in result.stderr


def test_removing_gcp_from_a_stack_plans_a_valid_aws_only_region(project_copy):
    stack = project_copy / "stacks" / "Pulumi.eu-central.yaml"
    text = stack.read_text()
    start = text.index("    gcp:\n")
    end = text.index("  sovereign:models:")
    stack.write_text(text[:start] + text[end:])
    result = run_cli("plan", "--project", str(project_copy), "--stack", "eu-central", "--json")
    assert result.returncode == 0, result.stderr
    [doc] = json.loads(result.stdout)["stacks"]
    assert [c["cloud"] for c in doc["clusters"]] == ["aws"]
    types = {r["type"] for r in doc["resources"]}
    assert "aws:eks/cluster:Cluster" in types and not any(t.startswith("gcp:") for t in types)


def test_readiness_names_the_missing_keys_and_the_gpu_cost_the_plan_decided(plans):
    from sovereign.commands.readiness import readiness
    from sovereign.diff.compare import gpu_cost

    plan = plans["eu-central"]
    screen = " ".join(readiness(plan).split())
    gateway = plan.decisions.clusters[0].gateway
    assert gateway.unkeyed and not gateway.authenticated  # the stack sets no key: every one is missing
    assert f"missing keys: {', '.join(['gateway', *gateway.unkeyed])} pulumi config" in screen
    for key in ("gateway", *gateway.unkeyed):  # each with the exact command that sets it
        assert f"pulumi config set -s eu-central --secret --path 'sovereign:apiKeys.{key}'" in screen
    assert "deepseek" not in gateway.unkeyed  # denied: no key to ask for
    cost = gpu_cost(snapshot(plan))
    assert cost["min"] < cost["max"] and f"cost ${cost['min']:,.2f}/h at min replicas, ${cost['max']:,.2f}/h" in screen


def test_readiness_says_per_cluster_who_answers_a_name_and_which_cluster_lacks_a_key(plans):
    """us-east asks for Gemini on Vertex: GKE's gateway reaches it as its own identity, EKS's needs a key."""
    from sovereign.commands.readiness import readiness

    plan = plans["us-east"]
    aws, gcp = (plan.decisions.cluster(c).gateway for c in ("aws", "gcp"))
    assert "google_vertex_ai" in aws.unkeyed and "google_vertex_ai" in gcp.identity
    screen = " ".join(readiness(plan).split())
    assert "gemini-2.5-pro [aws] llama-3.3-70b-instruct (open weights) until sovereign:apiKeys.google_vertex_ai " \
           "is set [gcp] google_vertex_ai via us-east4-aiplatform.googleapis.com as the gateway's workload identity" \
           in screen
    assert "google_vertex_ai (aws)," in screen and "anthropic (" not in screen  # needed on every cluster: no note


def test_readiness_says_which_requests_a_fallback_without_tool_calls_refuses(plans):
    from sovereign.commands.readiness import readiness

    plan = plans["ap-northeast"]
    fallback = {m.name: m.fallback for r in plan.spec.managed_apis for m in r.models}["gpt-4.1"]
    assert next(m for m in plan.spec.models if m.id == fallback).model.tool_call_parser is None
    screen = " ".join(readiness(plan).split())
    assert f"requests with tools refused when {fallback} answers (it takes none)" in screen
    takes_tools = [m.id for m in plan.spec.models if m.model.tool_call_parser]
    assert takes_tools and not [m for m in takes_tools if f"refused when {m} answers" in screen]


def test_readiness_says_where_a_long_request_goes_and_from_what_length_it_is_refused(plans):
    from sovereign.commands.readiness import readiness

    plan = plans["eu-central"]
    lengths = {m.id: m.context_length for m in plan.spec.models}
    short, long_ = sorted(lengths, key=lengths.get)
    screen = " ".join(readiness(plan).split())
    assert (f"context tokens per request: {short} {lengths[short]} → {long_}; {long_} {lengths[long_]}; "
            f"over {lengths[long_]} refused") in screen
    assert plan.decisions.cluster("aws").gateway.context_fallbacks == {short: (long_,)}
