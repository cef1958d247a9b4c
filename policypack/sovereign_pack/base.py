"""Small constructors so every policy module reads as: name, description, types, a check yielding messages."""

from __future__ import annotations

from typing import Callable, Iterable, Optional

from pulumi_policy import (
    EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs,
    StackValidationPolicy,
)

from .props import plain

MANDATORY = EnforcementLevel.MANDATORY

ResourceCheck = Callable[[str, dict, ResourceValidationArgs], Iterable[str]]
StackCheck = Callable[[StackValidationArgs], Iterable[tuple[str, Optional[str]]]]


def resource_policy(name: str, description: str, types: Iterable[str], check: ResourceCheck
                    ) -> ResourceValidationPolicy:
    """A mandatory policy over the resource types `types`; `check(type, plain props, args)` yields violations."""
    wanted = frozenset(types)

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in wanted:
            return
        for message in check(args.resource_type, plain(args.props), args):
            report_violation(message)

    policy = ResourceValidationPolicy(name=name, description=description, validate=validate,
                                      enforcement_level=MANDATORY)
    policy.resource_types = wanted  # read by the docs table and the tests
    return policy


def stack_policy(name: str, description: str, check: StackCheck) -> StackValidationPolicy:
    """A mandatory stack policy; `check(args)` yields (message, urn or None)."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for message, urn in check(args):
            report_violation(message, urn)

    return StackValidationPolicy(name=name, description=description, validate=validate,
                                 enforcement_level=MANDATORY)
