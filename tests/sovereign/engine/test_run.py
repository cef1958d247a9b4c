"""The offline engine: every stack plans under mocks, graphs are byte-stable, secrets never leak,
and an invalid config fails inside the real program before any resource is registered."""

from __future__ import annotations

import pytest

from sovereign.engine.graph import SECRET_MASK, clean
from sovereign.engine.run import ProgramFailed, plan_stack, run_program
from sovereign.engine.snapshot import dumps, snapshot
from tests.support.stacks import PROJECT_DIR

from tests.support.stacks import STACKS

PROVIDER_TYPES = {"aws": "pulumi:providers:aws", "gcp": "pulumi:providers:gcp"}


def test_there_are_at_least_six_stacks_covering_both_clouds_alone_and_together(plans):
    assert len(STACKS) >= 6
    shapes = {tuple(c.cloud for c in p.spec.clouds) for p in plans.values()}
    assert {("aws",), ("gcp",), ("aws", "gcp")} <= shapes
    two_cloud_continents = {p.spec.clouds[0].region.continent for p in plans.values() if len(p.spec.clouds) == 2}
    assert len(two_cloud_continents) >= 2


@pytest.mark.parametrize("stack", STACKS)
def test_stack_plans_cleanly_with_explicit_providers(plans, stack):
    plan = plans[stack]
    assert plan.ok, plan.errors
    by_type = {}
    for r in plan.resources:
        by_type.setdefault(r.type, []).append(r)
    [region] = by_type["sovereign:index:Region"]
    for cloud in plan.spec.clouds:
        [provider] = [p for p in by_type[PROVIDER_TYPES[cloud.cloud]] if p.name == f"{plan.spec.name}-{cloud.cloud}"]
        assert provider.parent == region.urn
        assert provider.inputs["region"] == cloud.region.name
        if cloud.cloud == "gcp":
            assert provider.inputs["project"] == cloud.project
    cloud_providers = [r for r in plan.resources if r.type in PROVIDER_TYPES.values()]
    # One per cloud, plus Route 53's global provider when the region has failover DNS.
    dns = [f"{plan.spec.name}-dns"] if plan.spec.dr.domain else []
    assert sorted(r.name for r in cloud_providers) == sorted([f"{plan.spec.name}-{c.cloud}" for c in plan.spec.clouds]
                                                             + dns)
    # Default providers are disabled in the stack files; every custom resource must name its provider.
    for r in plan.resources:
        if r.custom and not r.type.startswith("pulumi:providers:"):
            assert r.provider, f"{r.urn} would use a default provider"
        if r.type != "pulumi:pulumi:Stack":
            assert r.parent, f"{r.urn} has no parent"


def test_snapshot_is_byte_identical_across_runs():
    first = dumps(snapshot(plan_stack("eu-central")))
    second = dumps(snapshot(plan_stack("eu-central")))
    assert first == second


def test_snapshot_has_the_documented_shape(plans):
    doc = snapshot(plans["us-east"])
    assert set(doc) == {"stack", "spec", "verdicts", "sizing", "clusters", "scaling", "egress", "resources", "outputs"}
    assert {"urn", "type", "name", "parent", "inputs"} <= set(doc["resources"][0])
    assert doc["outputs"]["region"] == "us-east"
    assert [r["urn"] for r in doc["resources"]] == sorted(r["urn"] for r in doc["resources"])


def test_secret_values_are_masked_in_recorded_inputs():
    wire = {"apiKey": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                       "value": "sk-canary"}, "n": 3.0}
    assert clean(wire) == {"apiKey": SECRET_MASK, "n": 3}


def test_invalid_config_fails_in_the_program_before_any_resource(tmp_path):
    config = {"pulumi:disable-default-providers": ["*"], "sovereign:region": "bad",
              "sovereign:clouds": {"aws": {"region": "eu-central-1"}},
              "sovereign:models": [{"id": "not-a-model"}]}
    with pytest.raises(ProgramFailed, match=r"sovereign:models\[0\]\.id: unknown value 'not-a-model'") as failed:
        run_program(PROJECT_DIR, "bad", config, (), PROJECT_DIR / "policy" / "sovereignty.yaml")
    assert [r.type for r in failed.value.registered] == ["pulumi:pulumi:Stack"]


def test_runs_do_not_leak_config_between_stacks(plans):
    # Planned in one process one after another: each graph names only its own region.
    for name, plan in plans.items():
        regions = {r.inputs["region"] for r in plan.resources if r.type in PROVIDER_TYPES.values()
                   and not r.name.endswith("-dns")}
        assert regions == {c.region.name for c in plan.spec.clouds}, name


def test_planning_skips_source_positions_and_puts_pulumi_back(monkeypatch):
    """The engine does not walk the Python stack per registration (only the Pulumi CLI reads source
    positions) nor collect garbage mid-run, and leaves Pulumi and the collector as it found them — also
    when the program fails."""
    import gc

    import pulumi.runtime.resource as pulumi_resource

    calls = []
    original = pulumi_resource._get_stack_trace

    def counting():
        calls.append(1)
        return original()

    monkeypatch.setattr(pulumi_resource, "_get_stack_trace", counting)
    plan = plan_stack("me-central")
    assert len(plan.resources) > 50 and calls == []
    assert pulumi_resource._get_stack_trace is counting
    config = {"pulumi:disable-default-providers": ["*"], "sovereign:region": "bad",
              "sovereign:clouds": {"aws": {"region": "eu-central-1"}}, "sovereign:models": [{"id": "nope"}]}
    with pytest.raises(ProgramFailed):
        run_program(PROJECT_DIR, "bad", config, (), PROJECT_DIR / "policy" / "sovereignty.yaml")
    assert pulumi_resource._get_stack_trace is counting and calls == []
    assert gc.isenabled()
