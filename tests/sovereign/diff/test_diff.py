"""`sovereign diff`: offline infra diffs for PR review, and the workflows that post them.

A scratch git repository holds a copy of this project; a second commit bans OpenAI in the EEA, and the working tree
adds a stack and removes one. The diff (CLI, as CI runs it) of six stacks must report exactly the stacks and hosts
that ban changes (that it changes no other stack at all: tests/policy/test_ban_reaction.py) and the stacks added and
removed, in Markdown and JSON alike, secret-free and under GitHub's comment size limit. Then the pieces alone: the
generic comparison, truncation and the Mermaid diagrams. (The workflows that post the diff: tests/github/.)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sovereign.diff.changes import deep_changes
from sovereign.diff.markdown import COMMENT_RESERVE, GITHUB_COMMENT_LIMIT, mermaid, render
from sovereign.diff.report import build_report
from tests.support.stacks import PROJECT_DIR
from tests.support.groups import DIFF_REPO

BANNED = ["eu-central", "it-south"]  # the stacks whose jurisdiction is in the EEA and that request OpenAI
# Diffed with them: a stack requesting OpenAI outside the EEA and one that does not request it; and, in the same
# pull request (the working tree), a stack added and one removed.
UNCHANGED = ["us-east", "sa-east"]
ADDED, REMOVED = "sa-east-two", "cn-north"
DIFFED = [*BANNED, *UNCHANGED, ADDED, REMOVED]
BAN = """bans:
  - id: ban-openai-eea
    providers: [openai]
    groups: [eea]
    reason: Test ban of OpenAI for the EEA.
    since: 2026-12-01
"""
CANARY = "mock-secret-for-"
pytestmark = DIFF_REPO
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def git(repo: Path, *args: str, env: dict | None = None, **kwargs) -> str:
    done = subprocess.run(["git", "-C", str(repo), "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null",
                           *args], capture_output=True, text=True, env={**os.environ, **GIT_ENV, **(env or {})},
                          check=True, **kwargs)
    return done.stdout.strip()


def sovereign(repo: Path, *args: str) -> subprocess.CompletedProcess:
    """The copy's own CLI, as CI runs it in a checkout."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    env.pop("SOVEREIGN_POLICY", None)
    return subprocess.run([sys.executable, "-m", "sovereign", *args], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """This project's files (tracked and new, as they would be committed) in a scratch repository with
    two commits: the project as it is, then a ban of OpenAI in the EEA."""
    repo = tmp_path_factory.mktemp("diff") / "project"
    listed = subprocess.run(["git", "-C", str(PROJECT_DIR), "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], capture_output=True, text=True, check=True).stdout
    for name in filter(None, listed.split("\0")):
        source = PROJECT_DIR / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git(repo.parent, "init", "-q", str(repo))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    policy = repo / "policy" / "sovereignty.yaml"
    text = policy.read_text()
    assert text.count("\nbans:\n") == 1
    policy.write_text(text.replace("\nbans:\n", "\n" + BAN, 1))
    git(repo, "commit", "-q", "-am", "Ban OpenAI in the EEA")
    return repo


@pytest.fixture(scope="module")
def ban_diff(repo):
    """One `sovereign diff --base HEAD~1` run of a working tree that also adds a stack (with secrets where the
    program takes them) and removes one: the Markdown comment and the JSON report."""
    out, stacks = repo.parent / "out", repo / "stacks"
    try:
        added = (stacks / "Pulumi.sa-east.yaml").read_text().replace("sovereign:region: sa-east",
                                                                       f"sovereign:region: {ADDED}")
        if "apiKeys" in (repo / "sovereign" / "domain" / "spec.py").read_text():
            added += "  sovereign:apiKeys:\n    anthropic:\n      secure: v1:AAAAcanaryciphertext\n"
        (stacks / f"Pulumi.{ADDED}.yaml").write_text(added)
        (stacks / f"Pulumi.{REMOVED}.yaml").rename(repo / f"{REMOVED}.yaml.moved")
        result = sovereign(repo, "diff", "--base", "HEAD~1", "--format", "markdown", "--out", str(out / "diff.md"),
                           "--json-out", str(out / "diff.json"), *(a for s in DIFFED for a in ("--stack", s)))
    finally:
        (stacks / f"Pulumi.{ADDED}.yaml").unlink(missing_ok=True)
        if (repo / f"{REMOVED}.yaml.moved").exists():
            (repo / f"{REMOVED}.yaml.moved").rename(stacks / f"Pulumi.{REMOVED}.yaml")
    assert result.returncode == 0, result.stderr
    return (out / "diff.md").read_text(), json.loads((out / "diff.json").read_text()), result.stderr


# ---- the ban, end to end ----------------------------------------------------------------------------

def test_ban_changes_exactly_the_eea_stacks_that_request_openai(ban_diff):
    _, report, stderr = ban_diff
    summary = report["summary"]
    # A stack added or removed changes what its region may reach as well.
    assert summary["changed"] == BANNED and summary["sovereigntyChanged"] == sorted([*BANNED, ADDED, REMOVED])
    assert (summary["added"], summary["removed"], summary["invalid"]) == ([ADDED], [REMOVED], [])
    assert sorted(summary["unchanged"]) == sorted(UNCHANGED)
    assert sorted(s["stack"] for s in report["stacks"]) == sorted(DIFFED)
    assert f"sovereignty changes: {', '.join(summary['sovereigntyChanged'])}" in stderr, stderr
    assert report["base"]["commit"] != report["head"]["commit"] and report["head"]["dirty"] is True


def test_openai_hosts_move_from_allowed_to_denied(ban_diff):
    _, report, _ = ban_diff
    for stack in (s for s in report["stacks"] if s["stack"] in BANNED):
        [verdict] = stack["sovereignty"]["verdicts"]
        assert verdict["provider"] == "openai"
        assert (verdict["before"]["allowed"], verdict["after"]["allowed"]) == (True, False)
        assert verdict["before"]["hosts"] == ["eu.api.openai.com"] and verdict["after"]["hosts"] == []
        assert verdict["after"]["rules"] == ["ban-openai-eea"]
        egress = {(e["cloud"], e["layer"], e["list"]): e for e in stack["sovereignty"]["egress"]}
        clouds = {c["cloud"] for c in stack["topology"]["after"]["clouds"]}
        assert clouds and {cloud for cloud, _, _ in egress} == clouds
        for cloud in clouds:
            for layer in ("pod", "network"):  # allowed at both layers: the one OpenAI host is gone
                assert egress[(cloud, layer, "allowed")]["removed"] == ["eu.api.openai.com"]
                assert egress[(cloud, layer, "allowed")]["added"] == []
            denied = egress[(cloud, "network", "denied")]
            assert {"api.openai.com", "eu.api.openai.com"} <= set(denied["added"]) and denied["removed"] == []
            assert all(h.endswith("openai.com") for h in denied["added"])
        assert report["egressMatrix"]["rows"][stack["stack"]]["openai"] == {"before": "reachable", "after": "denied"}
    for stack in (s for s in report["stacks"] if s["stack"] in UNCHANGED):
        assert stack["status"] == "unchanged" and not stack["sovereigntyChanged"]
        cell = report["egressMatrix"]["rows"][stack["stack"]].get("openai")
        assert cell is None or cell["before"] == cell["after"]


def test_resource_changes_are_the_fences_that_render_the_ban(ban_diff):
    _, report, _ = ban_diff
    eu = next(s for s in report["stacks"] if s["stack"] == "eu-central")
    updates = {u["name"]: u for u in eu["resources"]["update"]}
    allow_list = updates["eu-central-aws-allow"]["changes"]
    assert [(c["path"], c["removed"], c["added"]) for c in allow_list] == [("inputs.domains", ["eu.api.openai.com"], [])]
    assert eu["counts"] == {k: len(eu["resources"][k]) for k in ("create", "update", "delete")}
    assert all(u["changes"] for u in eu["resources"]["update"])


def test_markdown_states_the_same_facts_as_the_json(ban_diff):
    markdown, report, _ = ban_diff
    assert len(markdown) <= GITHUB_COMMENT_LIMIT
    rows = table_rows(markdown, "| stack | change |")
    assert [r[0].strip("`") for r in rows] == sorted([*BANNED, ADDED, REMOVED])   # the stacks that change
    for row, expected in zip(rows, report["summary"]["rows"]):
        assert row[1:5] == [expected["status"], str(expected["create"]), str(expected["update"]),
                            str(expected["delete"])]
        assert ("openai allowed→denied" in row[5]) == (row[0].strip("`") in BANNED), row
    matrix = {r[0].strip("*`"): r[1:] for r in table_rows(markdown, "| region |")}
    providers = report["egressMatrix"]["providers"]
    for stack in report["egressMatrix"]["rows"]:
        cell = matrix[stack][providers.index("openai")]
        assert (cell == "**✅→⛔**") == (stack in BANNED), (stack, cell)
    assert len(mermaid_blocks(markdown)) == len(rows)   # a diagram per changed stack
    for stack in BANNED:
        assert f"### `{stack}` — changed" in markdown
    assert "closed: eu.api.openai.com" in markdown  # the diagram marks the closed edge


def test_markdown_renders_tables_mermaid_and_details(ban_diff):
    markdown, _, _ = ban_diff
    check_markdown(markdown)


def test_no_secret_in_either_format(ban_diff):
    markdown, report, _ = ban_diff
    assert CANARY not in markdown and CANARY not in json.dumps(report)


def test_added_and_removed_stacks_and_masked_secrets(ban_diff):
    markdown, report, _ = ban_diff
    assert CANARY not in markdown and CANARY not in json.dumps(report)
    status = {s["stack"]: s["status"] for s in report["stacks"]}
    assert (status[ADDED], status[REMOVED]) == ("added", "removed")
    new = next(s for s in report["stacks"] if s["stack"] == ADDED)
    assert new["counts"]["create"] > 50 and new["counts"]["update"] == new["counts"]["delete"] == 0
    assert "[secret]" in json.dumps(new["resources"]["create"])  # masked kubeconfig (and keys), kept masked
    gone = next(s for s in report["stacks"] if s["stack"] == REMOVED)
    assert gone["counts"]["delete"] > 50 and report["egressMatrix"]["rows"][REMOVED]["openai"]["after"] is None
    assert f"### `{ADDED}` — added" in markdown and f"### `{REMOVED}` — removed" in markdown


def test_a_base_without_the_project_is_a_clear_error(repo):
    empty_tree = git(repo, "hash-object", "-t", "tree", "/dev/null")
    orphan = git(repo, "commit-tree", empty_tree, "-m", "before the project")
    result = sovereign(repo, "diff", "--base", orphan)
    assert result.returncode == 3 and result.stdout == ""
    assert "has no sovereign/ package" in result.stderr and "Traceback" not in result.stderr
    assert git(repo, "worktree", "list").count("\n") == 0  # the temporary worktree is gone


def test_a_base_that_fails_to_plan_is_a_clear_error(repo, tmp_path):
    # A commit whose policy is broken, made without touching the working tree (a private index).
    index = {"GIT_INDEX_FILE": str(tmp_path / "index")}
    git(repo, "read-tree", "HEAD", env=index)
    broken = subprocess.run(["git", "-C", str(repo), "hash-object", "-w", "--stdin"], input="version: 2\nrules: []\n",
                            capture_output=True, text=True, check=True).stdout.strip()
    git(repo, "update-index", "--cacheinfo", f"100644,{broken},policy/sovereignty.yaml", env=index)
    tree = git(repo, "write-tree", env=index)
    commit = git(repo, "commit-tree", tree, "-p", "HEAD", "-m", "broken policy")
    result = sovereign(repo, "diff", "--base", commit)
    assert result.returncode == 3
    assert "planning base" in result.stderr and "unsupported version 2" in result.stderr


def test_an_unknown_ref_is_a_clear_error(repo):
    result = sovereign(repo, "diff", "--base", "origin/no-such-branch")
    assert result.returncode == 3
    assert "'origin/no-such-branch' is not a commit" in result.stderr and "git fetch origin no-such-branch" in result.stderr


# ---- the pieces alone ----------------------------------------------------------------------------------

def test_lists_of_records_are_matched_by_their_key_and_scalars_as_sets():
    before = {"models": [{"id": "a", "replicas": 1}, {"id": "b", "replicas": 2}], "hosts": ["x", "y"],
              "policy": json.dumps({"Statement": [{"Sid": "S", "Action": "s3:Get"}]})}
    after = {"models": [{"id": "c", "replicas": 1}, {"id": "a", "replicas": 3}, {"id": "b", "replicas": 2}],
             "hosts": ["y", "z"], "policy": json.dumps({"Statement": [{"Sid": "S", "Action": "s3:*"}]})}
    changes = {c["path"]: c for c in deep_changes(before, after)}
    assert set(changes) == {"models[id=a].replicas", "models[id=c]", "hosts", "policy(json).Statement[Sid=S].Action"}
    assert changes["models[id=a].replicas"] == {"path": "models[id=a].replicas", "kind": "change", "before": 1, "after": 3}
    assert changes["models[id=c]"]["kind"] == "add"
    assert (changes["hosts"]["added"], changes["hosts"]["removed"]) == (["z"], ["x"])
    assert deep_changes({"n": 1, "b": True}, {"n": 1.0, "b": 1}) == [
        {"path": "b", "kind": "change", "before": True, "after": 1}]


def test_an_unknown_section_and_output_show_up_generically():
    base = snapshot_stub("r1", extra={"failoverPlan": {"ttl": 30}, "newSection": {"a": 1}},
                         outputs={"gateways": {"aws": {"routes": [{"model": "gpt-4.1", "host": "eu.api.openai.com"}]}},
                                  "somethingNew": 1})
    head = snapshot_stub("r1", extra={"failoverPlan": {"ttl": 60}, "newSection": {"a": 2}},
                         outputs={"gateways": {"aws": {"routes": []}}, "somethingNew": 2})
    [stack] = build_report({"r1": base}, {"r1": head})["stacks"]
    assert stack["status"] == "changed" and stack["sovereigntyChanged"]
    assert [c["path"] for c in stack["sovereignty"]["gateway"]] == ["outputs.gateways.aws.routes[model=gpt-4.1]"]
    assert [c["path"] for c in stack["failover"]] == ["failoverPlan.ttl"]
    assert [c["path"] for c in stack["sections"]["newSection"]] == ["newSection.a"]
    assert [c["path"] for c in stack["outputs"]] == ["outputs.somethingNew"]


def test_truncation_keeps_the_summary_and_stays_under_the_limit():
    base, head = {}, {}
    for i in range(40):  # 40 regions, each with hundreds of updated resources with long properties
        name = f"region-{i:02d}"
        base[name] = snapshot_stub(name, resources=[resource(name, j, "a" * 300) for j in range(300)])
        head[name] = snapshot_stub(name, allowed=False, resources=[resource(name, j, "b" * 300) for j in range(300)])
    report = build_report(base, head)
    full = render(report, limit=10**9)
    assert len(full) > 10 * GITHUB_COMMENT_LIMIT
    text = render(report)
    assert len(text) <= GITHUB_COMMENT_LIMIT - COMMENT_RESERVE
    summary = text.split("### `", 1)[0]
    assert summary == full.split("### `", 1)[0]  # summary and matrix untouched
    assert len(table_rows(text, "| stack | change |")) == 40 and len(table_rows(text, "| region |")) == 40
    assert "shortened to keep this comment under GitHub's 65,536-character limit" in text
    check_markdown(text)
    tiny = render(report, limit=len(summary) + 2000)  # not even one line per stack fits: sections dropped
    assert "details were left out" in tiny and tiny.split("### `", 1)[0].startswith(summary.rstrip("\n")[:500])
    assert table_rows(tiny, "| stack | change |") == table_rows(text, "| stack | change |")


def test_mermaid_marks_newly_reachable_and_closed_apis():
    before = snapshot_stub("r1", allowed=False)
    after = snapshot_stub("r1", allowed=True)
    [stack] = build_report({"r1": before}, {"r1": after})["stacks"]
    diagram = mermaid(stack)
    assert diagram.startswith("```mermaid\nflowchart LR\n") and diagram.endswith("```")
    assert 'aws_cluster ==>|"api.example.com"| api_openai' in diagram and "class api_openai added" in diagram
    [back] = build_report({"r1": after}, {"r1": before})["stacks"]
    assert 'aws_cluster -.-x|"closed: api.example.com"| api_openai' in mermaid(back)
    check_mermaid(diagram)


def test_mermaid_draws_an_allowed_provider_the_gateway_does_not_route_apart_from_a_routed_one():
    gateway = {"endpoint": "http://gw", "routes": {}, "keyEnv": {}, "identity": []}
    unkeyed = snapshot_stub("r1", outputs={"gateways": {"aws": gateway}})
    keyed = snapshot_stub("r1", outputs={"gateways": {"aws": {**gateway, "keyEnv": {"openai": "API_KEY_OPENAI"}}}})
    [stack] = build_report({"r1": unkeyed}, {"r1": unkeyed})["stacks"]
    diagram = mermaid(stack)
    assert 'aws_gw -.->|"allowed, no key: open weights answer"| api_openai' in diagram
    assert 'aws_gw -->|"api.example.com"| api_openai' not in diagram
    [stack] = build_report({"r1": keyed}, {"r1": keyed})["stacks"]
    assert 'aws_gw -->|"api.example.com"| api_openai' in mermaid(stack)
    check_mermaid(diagram)


# ---- helpers -------------------------------------------------------------------------------------------

def snapshot_stub(stack: str, allowed: bool = True, resources=(), extra=None, outputs=None) -> dict:
    hosts = ["api.example.com"]
    return {
        "stack": stack, "spec": {"region": stack, "dr": {"dnsTtlSeconds": 30}},
        "verdicts": [{"provider": "openai", "allowed": allowed, "requested": True, "reachable": allowed,
                      "hosts": hosts if allowed else [], "rules": ["r"]}],
        "sizing": [], "clusters": [{"cloud": "aws", "name": f"{stack}-aws", "region": "eu-central-1",
                                    "gpuPools": [{"name": "gpu-l4", "machineType": "g6.xlarge", "minNodes": 1,
                                                  "maxNodes": 2, "models": ["m"]}]}],
        "egress": {"aws": {"network": {"allowed": hosts if allowed else [], "denied": [] if allowed else hosts}}},
        "resources": list(resources), "outputs": dict(outputs or {}), **(extra or {}),
    }


def resource(stack: str, j: int, value: str) -> dict:
    return {"urn": f"urn:pulumi:{stack}::p::aws:s3/bucket:Bucket::b{j}", "type": "aws:s3/bucket:Bucket",
            "name": f"b{j}", "parent": "", "custom": True, "provider": "", "inputs": {"tags": {"v": value}},
            "options": {}}


def table_rows(markdown: str, header_start: str) -> list[list[str]]:
    """The body rows of the first table whose header starts with `header_start`, as cell texts."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(split_row(line))
    return rows


def split_row(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def mermaid_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```mermaid\n(.*?)^```$", markdown, flags=re.M | re.S)


def check_markdown(markdown: str) -> None:
    """GitHub renders it as meant: well-formed tables, balanced fences and details, valid diagrams."""
    assert markdown.count("```") % 2 == 0
    assert markdown.count("<details>") == markdown.count("</details>")
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and line.startswith("|") and re.fullmatch(r"\|( ?:?-{3,}:? ?\|)+", lines[i + 1]):
            width = len(split_row(line))
            assert i == 0 or lines[i - 1].strip() == "", f"no blank line before the table at line {i}"
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                assert len(split_row(row)) == width, row
    for block in mermaid_blocks(markdown):
        check_mermaid("```mermaid\n" + block + "```")


def check_mermaid(diagram: str) -> None:
    """Flowchart syntax as the diff writes it: every edge joins nodes the diagram defines."""
    body = diagram.split("\n")[1:-1]
    assert body[0] == "flowchart LR"
    defined, used = set(), set()
    node = re.compile(r'^\s*([A-Za-z0-9_]+)(\["[^"]*"\]|\(\["[^"]*"\]\)|\(\("[^"]*"\)\)|\{\{"[^"]*"\}\})$')
    edge = re.compile(r'^\s*([A-Za-z0-9_]+) (-->|==>|-\.-x|-\.->)(\|"[^"|]*"\|)? ([A-Za-z0-9_]+)$')
    for line in body[1:]:
        if m := node.match(line):
            defined.add(m.group(1))
        elif m := edge.match(line):
            used |= {m.group(1), m.group(4)}
        elif m := re.match(r'^\s*subgraph ([A-Za-z0-9_]+)\["[^"]*"\]$', line):
            defined.add(m.group(1))
        else:
            assert re.match(r"^\s*(end|class [A-Za-z0-9_]+ [a-z]+|classDef [a-z]+ [^\n]+)$", line), line
    assert used <= defined, used - defined
