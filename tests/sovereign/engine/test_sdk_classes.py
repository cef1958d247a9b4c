"""The provider SDK classes behind type tokens, and their required inputs, read from the SDKs themselves: what
the reality rule sdk-required-inputs-present checks every plan against (tests/sovereign/engine/test_reality.py)."""

from __future__ import annotations

import pytest

from sovereign.engine.sdk_classes import required_inputs, sdk_class, wire_names

from tests.support.stacks import STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_most_of_a_stacks_resources_are_checked_against_their_sdk_class(plans, stack):
    checked = [r for r in plans[stack].resources if sdk_class(r.type) is not None and required_inputs(sdk_class(r.type))]
    assert len(checked) > 50  # the SDK registry was found: the rule is not checking nothing


def test_required_inputs_are_read_from_the_sdk():
    record = sdk_class("aws:route53/record:Record")
    assert {"zone_id", "name", "type"} <= required_inputs(record).keys()
    assert "zoneId" in required_inputs(record)["zone_id"]
    # Its Args type is `…InitArgs`: `…Args` names a nested input type of another shape.
    encryption = sdk_class("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert set(required_inputs(encryption)) == {"bucket", "rules"}
    assert wire_names(encryption)["expectedBucketOwner"] == "expected_bucket_owner"
    assert sdk_class("sovereign:aws:GpuCluster") is None
