"""What a reviewer must not miss in `sovereign diff`: deletes `pulumi up` refuses, lost failover, cost,
dependency-only reorderings, an invalid head, and a verdict now resting on another policy entry."""

from __future__ import annotations

import copy

import pytest
import yaml

from sovereign.diff.markdown import render
from sovereign.diff.report import build_report
from sovereign.engine.run import plan_stack
from sovereign.engine.snapshot import snapshot

from tests.support.stacks import PROJECT_DIR


@pytest.fixture(scope="module")
def eu_central():
    return snapshot(plan_stack("eu-central", project=PROJECT_DIR))


@pytest.fixture(scope="module")
def without_gcp(tmp_path_factory, eu_central):
    """eu-central with its GCP cloud removed from the stack file, planned from a copy of the project."""
    import shutil

    root = tmp_path_factory.mktemp("project")
    for item in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(PROJECT_DIR / item, root / item)
    for folder in ("components", "stacks", "policy"):
        shutil.copytree(PROJECT_DIR / folder, root / folder)
    path = root / "stacks" / "Pulumi.eu-central.yaml"
    doc = yaml.safe_load(path.read_text())
    del doc["config"]["sovereign:clouds"]["gcp"]
    doc["config"].get("sovereign:dr", {}).pop("drillCapacity", None)
    path.write_text(yaml.safe_dump(doc))
    plan = plan_stack("eu-central", project=root)
    assert plan.ok, plan.errors
    return snapshot(plan)


def test_removing_a_cloud_flags_protected_deletes_lost_failover_and_the_cost(eu_central, without_gcp):
    report = build_report({"eu-central": eu_central}, {"eu-central": without_gcp})
    stack = report["stacks"][0]
    protected = [r["type"] for r in stack["resources"]["delete"] if r["protected"]]
    assert "gcp:storage/bucket:Bucket" in protected and stack["blocked"]
    assert report["summary"]["blocked"] == ["eu-central"]
    assert stack["warnings"] == ["cross-cloud failover lost: clients of this region now have one cloud to fail "
                                 "over to"]
    assert stack["cost"]["after"]["min"] < stack["cost"]["before"]["min"]
    row = report["summary"]["rows"][0]
    assert row["blocked"] == len(stack["blocked"]) and row["costPerHour"].startswith("-")
    markdown = render(report)
    assert "`pulumi up` would stop here" in markdown and "refuses this delete" in markdown
    assert "GCP · europe-west3 · removed" in markdown and "class gcp_gone removed" in markdown


def test_a_dependency_only_change_is_no_update(eu_central):
    head = copy.deepcopy(eu_central)
    resource = next(r for r in head["resources"] if r["custom"])
    resource.setdefault("options", {})["dependsOn"] = ["urn:pulumi:x::y::z::extra"]
    report = build_report({"eu-central": eu_central}, {"eu-central": head})
    stack = report["stacks"][0]
    assert stack["counts"] == {"create": 0, "update": 0, "delete": 0}
    assert [r["urn"] for r in stack["resources"]["reordered"]] == [resource["urn"]]
    assert stack["status"] == "unchanged"


def test_an_invalid_head_is_not_reported_as_unchanged_sovereignty(eu_central):
    report = build_report({"eu-central": eu_central}, {},
                          head_invalid={"eu-central": ["stacks/Pulumi.eu-central.yaml: sovereign:region: missing"]})
    stack = report["stacks"][0]
    assert stack["status"] == "invalid" and stack["sovereigntyChanged"] is None
    assert report["summary"]["rows"][0]["sovereignty"] == ["unknown: the head is invalid"]
    markdown = render(report)
    assert "```mermaid" not in markdown and "no sovereignty change" not in markdown
    assert "sovereignty: unknown" in markdown


def test_a_verdict_now_decided_by_another_entry_shows_in_the_summary(eu_central):
    head = copy.deepcopy(eu_central)
    deepseek = next(v for v in head["verdicts"] if v["provider"] == "deepseek")
    assert not deepseek["allowed"]
    deepseek["rules"] = ["ban-deepseek-eu"]
    report = build_report({"eu-central": eu_central}, {"eu-central": head})
    assert "deepseek now decided by ban-deepseek-eu" in report["summary"]["rows"][0]["sovereignty"]
