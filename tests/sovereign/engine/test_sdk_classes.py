"""Every resource a plan registers carries the inputs its provider SDK requires.

Under mocks an output the mocks leave unset resolves to None, and an input built from it silently
drops out of the registration (a DNS record without its zone): the plan looks complete and is not.
"""

from __future__ import annotations

import pytest

from sovereign.engine.sdk_classes import required_inputs, sdk_class, wire_names

from tests.support.stacks import STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_every_registered_resource_has_its_required_inputs(plans, stack):
    checked, missing = 0, []
    for resource in plans[stack].resources:
        cls = sdk_class(resource.type)
        if cls is None:
            continue
        checked += 1
        for argument, wires in required_inputs(cls).items():
            if not wires & resource.inputs.keys():
                missing.append(f"{resource.urn}: {argument}")
    assert checked > 50  # the SDK registry was found: most of a stack's resources are SDK classes
    assert not missing, "\n".join(missing)


def test_required_inputs_are_read_from_the_sdk():
    record = sdk_class("aws:route53/record:Record")
    assert {"zone_id", "name", "type"} <= required_inputs(record).keys()
    assert "zoneId" in required_inputs(record)["zone_id"]
    # Its Args type is `…InitArgs`: `…Args` names a nested input type of another shape.
    encryption = sdk_class("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert set(required_inputs(encryption)) == {"bucket", "rules"}
    assert wire_names(encryption)["expectedBucketOwner"] == "expected_bucket_owner"
    assert sdk_class("sovereign:aws:GpuCluster") is None
