"""The GitHub Actions workflows (.github/workflows/): valid against SchemaStore's workflow schema, least privilege,
pinned actions, and each doing its one job — CI runs .ci/run, pr-diff posts the offline diff as one sticky comment
(forks through a separate, unprivileged path), preview runs `pulumi preview` with the policy pack only where a
Pulumi token is configured."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.support.stacks import PROJECT_DIR

WORKFLOWS = PROJECT_DIR / ".github" / "workflows"


def load_workflow(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


@pytest.mark.parametrize("name", ["ci.yml", "pr-diff.yml", "pr-diff-comment.yml", "preview.yml"])
def test_workflows_are_valid_and_least_privilege(name):
    doc = load_workflow(name)
    assert doc["name"] and doc["on"] and doc["jobs"]
    assert doc["permissions"] == {"contents": "read"} or doc["permissions"] == {}, "top level: read-only"
    import jsonschema
    raw = yaml.safe_load((WORKFLOWS / name).read_text())
    raw["on"] = raw.pop(True, raw.get("on"))
    errors = sorted(jsonschema.Draft7Validator(github_workflow_schema()).iter_errors(raw), key=str)
    assert not errors, [e.message for e in errors[:5]]
    for job_id, job in doc["jobs"].items():
        perms = job.get("permissions", doc["permissions"])
        writes = {k for k, v in perms.items() if v == "write"}
        assert writes <= {"pull-requests", "id-token"}, (job_id, perms)
        federated = any(s.get("uses", "").startswith(("pulumi/auth-actions@", "aws-actions/configure-aws-credentials@",
                                                      "google-github-actions/auth@")) for s in job.get("steps", []))
        assert ("id-token" in writes) == federated, f"{job_id}: id-token: write only where OIDC is used"
        comments = any("sticky-pull-request-comment" in s.get("uses", "") or s.get("with", {}).get("comment-on-pr")
                       for s in job.get("steps", []))
        assert ("pull-requests" in writes) == bool(comments), f"{job_id}: pull-requests: write only where commenting"
        for step in job.get("steps", []):
            uses = step.get("uses", "")
            if uses and not uses.startswith("./"):
                assert re.search(r"@v\d+(\.\d+)*$", uses), f"{uses}: pin a released version"
            assert "${{ github.event.pull_request.title" not in step.get("run", "")  # no script injection


def test_pr_diff_posts_one_sticky_comment_with_the_offline_diff():
    doc = load_workflow("pr-diff.yml")
    assert set(doc["on"]) == {"pull_request"}
    steps = [s for job in doc["jobs"].values() for s in job["steps"]]
    [diff] = [s for s in steps if s.get("id") == "diff"]
    assert '.venv/bin/sovereign diff --base "origin/$BASE_REF" --format markdown --out diff/diff.md' in diff["run"]
    assert diff["env"]["BASE_REF"] == "${{ github.base_ref }}"  # through env, never pasted into the script
    assert any(s.get("uses", "").startswith("actions/checkout@") and s.get("with", {}).get("fetch-depth") == 0
               for s in steps)
    sticky = [s for s in steps if "sticky-pull-request-comment" in s.get("uses", "")]
    assert len(sticky) == 1 and sticky[0]["with"] == {"header": "sovereign-diff", "path": "diff/diff.md"}
    assert "head.repo.full_name == github.repository" in doc["jobs"]["comment"]["if"]
    forks = load_workflow("pr-diff-comment.yml")
    assert forks["on"]["workflow_run"]["workflows"] == [doc["name"]]
    [job] = forks["jobs"].values()
    assert "head_repository.full_name != github.repository" in job["if"]
    assert not any(s.get("uses", "").startswith("actions/checkout") for s in job["steps"]), \
        "the privileged fork path never checks out PR code"
    assert [s["with"]["header"] for s in job["steps"] if "sticky" in s.get("uses", "")] == ["sovereign-diff"]
    assert any("head.sha" in s.get("run", "") for s in job["steps"]), "the PR number from a fork is verified"


def test_preview_uses_oidc_never_runs_for_forks_and_previews_each_stack_with_the_policy_pack():
    doc = load_workflow("preview.yml")
    stacks, preview = doc["jobs"]["stacks"], doc["jobs"]["preview"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in stacks["if"]
    assert preview["needs"] == "stacks" and preview["permissions"]["id-token"] == "write"
    assert preview["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    uses = [s.get("uses", "") for s in preview["steps"]]
    assert any(u.startswith("pulumi/auth-actions@") for u in uses)
    assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
    assert any(u.startswith("google-github-actions/auth@") for u in uses)
    # No long-lived credential anywhere in the workflow.
    assert "secrets." not in (WORKFLOWS / "preview.yml").read_text()
    step = next(s for s in preview["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert step["uses"] == "pulumi/actions@v7"
    assert step["with"]["command"] == "preview" and step["with"]["diff"] is True
    assert step["with"]["policyPacks"] == "policypack" and step["with"]["comment-on-pr"] is True
    assert "matrix.stack" in step["with"]["stack-name"]


def test_ci_runs_the_ci_script():
    doc = load_workflow("ci.yml")
    assert {"pull_request", "push"} <= set(doc["on"])
    run = "\n".join(s.get("run", "") for j in doc["jobs"].values() for s in j["steps"])
    assert "bash .ci/run" in run


def github_workflow_schema() -> dict:
    """SchemaStore's github-workflow.json as vendored by check-jsonschema (a test dependency)."""
    from importlib import resources
    vendor = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "github-workflows.json"
    return json.loads(vendor.read_text())
