"""DR drills, offline (sovereign/engine/drill.py): every two-cloud stack survives losing each cloud — the downed
cloud's serving resources go, the survivor scales to drill capacity, failover DNS points at the survivor."""

from __future__ import annotations

import pytest

from sovereign.engine.drill import cloud_of, offline_drill
from tests.support.graph import Graph
from tests.support.stacks import STACKS, TWO_CLOUD
from tests.support.tokens import T

SINGLE_CLOUD = [s for s in STACKS if s not in TWO_CLOUD]


@pytest.fixture(scope="module")
def drills(plans):
    """(stack, downed cloud) → offline_drill's (report, drilled plan), each drilled when a test first asks."""
    done = {}

    def drill(stack: str, down: str):
        if (stack, down) not in done:
            done[(stack, down)] = offline_drill(stack, down, normal=plans[stack])
        return done[(stack, down)]
    return drill


def test_there_are_two_cloud_and_single_cloud_stacks():
    assert len(TWO_CLOUD) >= 2 and SINGLE_CLOUD


@pytest.mark.parametrize("stack,down", [(s, d) for s in TWO_CLOUD for d in ("aws", "gcp")])
def test_offline_drill_passes_and_only_the_downed_cloud_goes(plans, drills, stack, down):
    report, drill = drills(stack, down)
    assert report is not None and report.ok, [c for c in report.checks if not c.ok]
    survivor = next(c for c in ("aws", "gcp") if c != down)
    assert not report.deleted.get(survivor) and report.deleted[down]
    # Everything of the downed cloud that serves is gone from the graph: cluster, pools, releases, fence, gateway.
    left = {r.type for r in drill.resources if cloud_of(r, plans[stack]) == down}
    # What stays is the weight cache: its buckets (weights and their access logs), key and bucket settings.
    assert left <= {f"pulumi:providers:{down}", f"sovereign:{down}:WeightCache", "aws:kms/key:Key",
                    "aws:s3/bucket:Bucket", "gcp:storage/bucket:Bucket"} | {
        t for t in left if t.startswith(("aws:s3/", "gcp:storage/")) and t.split(":")[0] == down}
    protected_before = {r.urn for r in plans[stack].resources if r.options.get("protect")}
    assert protected_before and protected_before <= {r.urn for r in drill.resources}
    records = [r for r in Graph(drill.resources).all(T.ROUTE53_RECORD) if r.inputs.get("failoverRoutingPolicies")]
    assert records and {r.inputs["setIdentifier"] for r in records} == {survivor}
    assert {r.name.rsplit("-", 1)[-1] for r in Graph(drill.resources).all(T.ROUTE53_HEALTH_CHECK)} == {survivor}


@pytest.mark.parametrize("stack", TWO_CLOUD)
def test_survivor_scales_to_drill_capacity(plans, drills, stack):
    spec = plans[stack].spec
    _, drill = drills(stack, "aws")
    for model in drill.spec.models:
        declared = spec.dr.drill_capacity.get(model.id)
        normal = next(m for m in spec.models if m.id == model.id)
        assert model.replicas.min == (declared if declared is not None else normal.replicas.min * 2)
