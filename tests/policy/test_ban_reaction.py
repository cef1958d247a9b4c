"""Reacting to an export ban is a one-entry policy change: it changes exactly the stacks whose
jurisdiction it covers, closes the provider at every layer there, and leaves every other graph alone."""

from __future__ import annotations

import pytest

from sovereign.catalog import load_catalog
from sovereign.engine.run import plan_stack
from sovereign.engine.snapshot import dumps, snapshot
from tests.support.groups import BANNED_STACKS
from tests.support.stacks import EEA_STACKS, POLICY_FILE, STACKS, policy_with_ban


pytestmark = BANNED_STACKS


@pytest.fixture(scope="module")
def banned(tmp_path_factory):
    path = policy_with_ban(POLICY_FILE, tmp_path_factory.mktemp("policy"))
    return {stack: plan_stack(stack, policy=path) for stack in STACKS}


def covered(plan) -> bool:
    return bool(load_catalog().groups["eea"].codes & set(plan.spec.jurisdiction.countries))


def test_exactly_the_covered_stacks_change(plans, banned):
    assert {s for s in STACKS if covered(plans[s])} == set(EEA_STACKS)
    changed = {s for s in STACKS if dumps(snapshot(plans[s])) != dumps(snapshot(banned[s]))}
    assert changed == set(EEA_STACKS)


@pytest.mark.parametrize("stack", EEA_STACKS)
def test_covered_stacks_are_closed_at_every_layer(plans, banned, stack):
    before, after = plans[stack], banned[stack]
    openai = next(v for v in after.verdicts if v.provider == "openai")
    assert not openai.allowed and openai.decided_by[0].rule == "ban-openai-eea"
    was_reached = set(next(v for v in before.verdicts if v.provider == "openai").hosts)
    for cloud, layers in after.outputs["egress"].items():
        for layer, hosts in layers.items():
            assert not was_reached & set(hosts["allowed"]), (cloud, layer)
        assert set(openai.blocked_hosts) <= set(layers["network"]["denied"]), cloud
