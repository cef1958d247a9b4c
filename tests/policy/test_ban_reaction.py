"""Reacting to an export ban is a one-entry policy change: it changes exactly the stacks whose
jurisdiction it covers, closes the provider at every layer there, and leaves every other graph alone."""

from __future__ import annotations

import pytest

from sovereign.catalog import load_catalog
from sovereign.engine.snapshot import dumps, snapshot
from tests.support.graph import Graph
from tests.support.groups import LITELLM_PROBE
from tests.support.network_layer import aws_network, gcp_network
from tests.support.stacks import EEA_STACKS, STACKS
from tests.support.tokens import T


# The keyed stacks (every API key set, so every allowed provider is routed) before and after the test ban: the plans
# the gateway's tests load into LiteLLM too.
pytestmark = LITELLM_PROBE


def covered(plan) -> bool:
    return bool(load_catalog().groups["eea"].codes & set(plan.spec.jurisdiction.countries))


def test_exactly_the_covered_stacks_change(keyed_plans, banned_plans):
    plans, banned = keyed_plans, banned_plans
    assert {s for s in STACKS if covered(plans[s])} == set(EEA_STACKS)
    changed = {s for s in STACKS if dumps(snapshot(plans[s])) != dumps(snapshot(banned[s]))}
    assert changed == set(EEA_STACKS)


@pytest.mark.parametrize("stack", EEA_STACKS)
def test_covered_stacks_are_closed_at_every_layer(keyed_plans, banned_plans, stack):
    before, after = keyed_plans[stack], banned_plans[stack]
    openai = next(v for v in after.verdicts if v.provider == "openai")
    assert not openai.allowed and openai.decided_by[0].rule == "ban-openai-eea"
    was_reached = set(next(v for v in before.verdicts if v.provider == "openai").hosts)
    assert was_reached
    for cloud, layers in after.outputs["egress"].items():
        for layer, hosts in layers.items():
            assert not was_reached & set(hosts["allowed"]), (cloud, layer)
        assert set(openai.blocked_hosts) <= set(layers["network"]["denied"]), cloud
    # The network layers' registered rules, evaluated as each cloud does: what the gateway reached before is
    # now refused to every pod and node; on each side before the ban it was let through.
    for cloud, fence_type, network in (("aws", T.AWS_EGRESS_FENCE, aws_network), ("gcp", T.GCP_EGRESS_FENCE, gcp_network)):
        if cloud in after.outputs["egress"]:
            then, now = (Graph.of(p).component(fence_type) for p in (before, after))
            assert {h: network(then, h) for h in was_reached} == {h: "allow" for h in was_reached}, cloud
            assert {h: network(now, h) for h in was_reached} == {h: "block" for h in was_reached}, cloud
