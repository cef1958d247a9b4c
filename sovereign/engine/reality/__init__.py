"""Reality rules: what the real providers, APIs and the Kubernetes scheduler enforce, checked on every plan.

The mocks answer "yes" to everything, so a plan that registers cleanly proves only consistency. Each rule
here encodes one constraint a real `pulumi up` would hit, over the recorded graph (and the decisions that
produced it), and names the resource, the rule, the fix and its source: the documentation page or provider
source the constraint comes from, in the rule's docstring. A plan with a violation fails like invalid input.
"""

from __future__ import annotations

from .engine import RULES, Violation, check
from . import aws, dns, gcp, karpenter, kubernetes, sdk  # noqa: E402,F401 - each rule module registers its rules

__all__ = ["RULES", "Violation", "check"]
