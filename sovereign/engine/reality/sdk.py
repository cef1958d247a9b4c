"""What the provider SDKs refuse before any API call: a resource without a required input."""

from __future__ import annotations

from ..sdk_classes import required_inputs, sdk_class
from .engine import Graph, rule


@rule("sdk-required-inputs-present",
      "the provider SDKs' generated constructors (`raise TypeError(\"Missing required property ...\")`, e.g. "
      "https://github.com/pulumi/pulumi-aws/blob/master/sdk/python/pulumi_aws/route53/record.py) and the "
      "providers' Check, which reject a resource missing a required input")
def required_inputs_present(graph: Graph, _decisions):
    """Under mocks an output left unset resolves to nothing, and an input built from it silently drops out of the
    registration (a DNS record without its zone): the plan looks complete, the real provider refuses it."""
    for resource in graph.resources:
        cls = sdk_class(resource.type)
        if cls is None:  # components, CRD-based custom resources
            continue
        missing = sorted(argument for argument, wires in required_inputs(cls).items()
                         if not wires & resource.inputs.keys())
        if missing:
            yield (resource.urn, f"registered without its required input(s) {', '.join(missing)}",
                   "give the input a value the plan knows (an unset mock output drops it)")
