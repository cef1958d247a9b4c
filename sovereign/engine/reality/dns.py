"""What Route 53 enforces on records, zones and the provider that writes them."""

from __future__ import annotations

from .engine import Graph, rule

PROVIDER = "pulumi:providers:aws"
RECORD = "aws:route53/record:Record"
ZONE = "aws:route53/zone:Zone"


@rule("route53-provider-pinned-to-the-account",
      "Pulumi AWS provider configuration, allowedAccountIds: refuses to run with credentials of any other "
      "account; https://www.pulumi.com/registry/packages/aws/installation-configuration/")
def dns_provider_pinned(graph: Graph, _decisions):
    """The regional AWS provider is pinned to the stack's account; the one writing DNS must be too, or
    wrong credentials change another account's zones."""
    pinned = {str(p.inputs.get("allowedAccountIds")) for p in graph.of_type(PROVIDER) if p.inputs.get("allowedAccountIds")}
    if not pinned:
        return
    writers = {r.provider for r in graph.of_type(RECORD, ZONE)}
    for provider in graph.of_type(PROVIDER):
        if provider.urn in writers and not provider.inputs.get("allowedAccountIds"):
            yield (provider.urn, "writes Route 53 records but is not pinned to the stack's account",
                   "set allowedAccountIds as on the region's AWS provider")
