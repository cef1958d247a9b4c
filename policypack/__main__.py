"""Entry point the Pulumi CLI runs (`python -m pulumi.policy <engine> .` in this folder, in the pack's venv).

Constructing the PolicyPack starts the analyzer's gRPC server and blocks; the policies themselves live in
sovereign_pack/, one module per fence, so tests import them without starting a server.
"""

from pulumi_policy import PolicyPack

from sovereign_pack import ENFORCEMENT, PACK_NAME, POLICIES

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    enforcement_level=ENFORCEMENT,
    description="Sovereign fences of the sovereign-inference stacks, enforced at preview time.",
)
