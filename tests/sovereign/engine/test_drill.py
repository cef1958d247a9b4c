"""DR drills, offline (sovereign/engine/drill.py): every two-cloud stack survives losing each cloud — the downed
cloud's serving resources go, the survivor scales to drill capacity, failover DNS points at the survivor."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from sovereign.clouds import profile
from sovereign.commands.drill import markdown
from sovereign.domain.cold_start import cold_start
from sovereign.domain.drill_capacity import capacity_changes
from sovereign.engine.drill import cloud_of, compare, offline_drill
from sovereign.engine.run import plan_stack
from tests.support.graph import Graph
from tests.support.groups import DRILLS
from tests.support.stacks import STACKS, TWO_CLOUD
from tests.support.tokens import T

SINGLE_CLOUD = [s for s in STACKS if s not in TWO_CLOUD]
pytestmark = DRILLS


@pytest.fixture(scope="module")
def phases(plans):
    """(stack, downed cloud) → the drill's (release phase, teardown) plans, each planned when a test first asks."""
    done = {}

    def planned(stack: str, down: str):
        if (stack, down) not in done:
            done[(stack, down)] = (plan_stack(stack, drill=down, phase="release"), plan_stack(stack, drill=down))
        return done[(stack, down)]
    return planned


@pytest.fixture(scope="module")
def drills(plans, phases):
    """(stack, downed cloud) → (report, drilled plan), as offline_drill makes them."""
    def drill(stack: str, down: str):
        release, teardown = phases(stack, down)
        return compare(plans[stack], release, teardown, down), teardown
    return drill


def test_offline_drill_plans_both_phases_and_compares_them(plans, phases, drills, monkeypatch):
    import sovereign.engine.drill as module
    stack, asked = TWO_CLOUD[0], []
    release, teardown = phases(stack, "gcp")

    def planned(name, policy=None, drill=None, phase=None, **_):   # the phases already planned, as asked
        asked.append((name, drill, phase))
        return release if phase == "release" else teardown
    monkeypatch.setattr(module, "plan_stack", planned)
    report, drill = offline_drill(stack, "gcp", normal=plans[stack])
    assert sorted(asked, key=str) == sorted([(stack, "gcp", "release"), (stack, "gcp", None)], key=str)
    assert report.to_dict() == drills(stack, "gcp")[0].to_dict() and drill is teardown


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


def _with(plan, picks, options: dict):
    """The plan with the resources `picks` selects given these options (a what-if for the teardown)."""
    resources = tuple(replace(r, options={**r.options, **options}) if picks(r) else r for r in plan.resources)
    return replace(plan, resources=resources)


@pytest.mark.parametrize("stack", TWO_CLOUD)
def test_a_teardown_without_the_release_phase_is_refused_by_the_dns_firewalls_mutation_protection(plans, phases,
                                                                                                  stack):
    """Straight from normal to teardown (as `--execute` used to go): the association still refuses to be removed."""
    _, drill = phases(stack, "aws")
    report = compare(plans[stack], plans[stack], drill, "aws")
    assert not report.ok
    [blocker] = report.blockers
    assert blocker.urn.endswith("::" + f"{plans[stack].spec.name}-aws-egress") and "mutation protection" in blocker.problem
    assert "ResolverFirewallRuleGroupAssociation" in blocker.urn


@pytest.mark.parametrize("down", ["aws", "gcp"])
def test_a_load_balancer_left_to_die_with_its_cluster_fails_the_drill(plans, phases, down):
    """A controller-made load balancer whose object is deleted with the cluster outlives it and holds the network."""
    stack = TWO_CLOUD[0]
    release, drill = phases(stack, down)
    cluster = next(r.urn for r in plans[stack].resources if r.type in (T.EKS_CLUSTER, T.GKE_CLUSTER)
                   and r.name == f"{plans[stack].spec.name}-{down}")
    made = ("kubernetes:core/v1:Service", "kubernetes:gateway.networking.k8s.io/v1:Gateway")
    public = lambda r: r.type in made and r.name.endswith("-gateway-public") or r.type == made[1]  # noqa: E731
    assert any(public(r) for r in plans[stack].resources if cloud_of(r, plans[stack]) == down)
    careless = _with(plans[stack], lambda r: public(r) and cloud_of(r, plans[stack]) == down, {"deletedWith": cluster})
    # Its release phase now keeps it (nothing deletes it there), and the teardown skips its delete.
    report = compare(careless, release, drill, down)
    assert report.ok, report.checks   # the release deleted it: the real drill is safe
    skipped = compare(careless, careless, drill, down)   # without the release phase
    assert any("stays in the network" in b.problem for b in skipped.blockers) and not skipped.ok


@pytest.mark.parametrize("stack", TWO_CLOUD)
def test_the_report_states_capacity_cost_recovery_and_data(plans, drills, stack):
    report, drill = drills(stack, "gcp")
    [aws] = report.capacity
    assert aws.cloud == "aws" and aws.replicas[1] > aws.replicas[0] and aws.usd_per_hour[1] > aws.usd_per_hour[0]
    # More replicas than the survivor's nodes hold: a new node, then the slowest rising model's modelled cold start.
    assert aws.nodes[1] > aws.nodes[0] and aws.node_s == profile("aws").elastic.gpu_node_ready_s
    rising = [f for f in drill.decisions.cluster("aws").fits
              if next(m for m in drill.spec.models if m.id == f.model).replicas.min
              > next(m for m in plans[stack].spec.models if m.id == f.model).replicas.min]
    assert rising and aws.cold_start_s == max(cold_start(f).total_s for f in rising)
    assert aws.detection_s == drill.decisions.failover.worst_case_s
    # Nothing to raise, nothing to wait for.
    [same] = [c for c in capacity_changes(plans[stack].decisions, plans[stack].decisions) if c.cloud == "aws"]
    assert (same.node_s, same.cold_start_s) == (0, 0.0) and same.replicas[0] == same.replicas[1]
    kept = {d.urn for d in report.data if d.kept}
    assert kept and kept <= {r.urn for r in drill.resources}   # still in the stack: retained
    assert {d.holds for d in report.data if d.kept} >= {"objects"}   # the weight buckets
    lost = [d for d in report.data if not d.kept]
    assert all(d.urn in {u for urns in report.deleted.values() for u in urns} for d in lost)
    assert report.dns
    ticket = markdown(report)   # the drill's ticket
    assert ticket.startswith(f"# DR drill passes: {stack} without gcp")
    assert "## Capacity and cost" in ticket and "| aws |" in ticket and "## Data" in ticket and report.dns in ticket


def test_a_drill_may_change_a_scalers_bounds_not_what_it_reads():
    from sovereign.engine.drill import _values_beyond_replicas

    def values(low: int, query: str = "q", enabled: bool = True) -> dict:
        return {"values": {"autoscaling": {"enabled": enabled, "minReplicas": low, "maxReplicas": 4,
                                           "keda": {"query": query}}, "replicaCount": low}}
    assert not _values_beyond_replicas(values(1), values(2))
    assert _values_beyond_replicas(values(1), values(2, query="sum(up)"))
    # A drill capacity that pins min = max turns the scaler off (and back on after): scale only.
    assert not _values_beyond_replicas(values(1), {"values": {"autoscaling": {"enabled": False}, "replicaCount": 4}})


@pytest.mark.parametrize("stack", TWO_CLOUD)
def test_the_release_phase_removes_what_controllers_made_and_lifts_the_protection(plans, phases, stack):
    release, _ = phases(stack, "aws")
    graph = Graph(release.resources)
    downed = [r for r in release.resources if cloud_of(r, plans[stack]) == "aws"]
    assert downed   # the cloud still runs
    assert not [r for r in downed if r.type in (T.KARPENTER_NODE_POOL, T.KARPENTER_NODE_CLASS)]
    assert not [r for r in downed if r.type == "kubernetes:core/v1:Service" and r.name.endswith("-gateway-public")]
    [association] = graph.all("aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation")
    assert association.inputs["mutationProtection"] == "DISABLED"
    normal = Graph(plans[stack].resources).all(
        "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation")
    assert [a.inputs["mutationProtection"] for a in normal] == ["ENABLED"]


def test_a_drill_keeps_the_image_repositories_a_stack_fills_itself(project_copy):
    """With `imageMirror: prefilled` the operator's copies may be the region's only ones: torn down with the cluster,
    DeleteRepository would refuse them (not empty) and the teardown would stop; they stay, with the weights."""
    path = project_copy / "stacks" / "Pulumi.eu-central.yaml"
    doc = yaml.safe_load(path.read_text())
    aws = doc["config"]["sovereign:clouds"]["aws"]
    del aws["registryCredentials"]
    aws["imageMirror"] = "prefilled"
    path.write_text(yaml.safe_dump(doc))
    report, drill = offline_drill("eu-central", "aws", project=project_copy)
    assert report.ok, [c for c in report.checks if not c.ok]
    stored = {r.urn for r in drill.resources if r.type == "aws:ecr/repository:Repository"}
    assert stored and stored <= {d.urn for d in report.data if d.kept and d.holds == "images"}
