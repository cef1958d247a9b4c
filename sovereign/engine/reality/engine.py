"""The rule registry and the graph view rules read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from ...domain.decisions import RegionDecisions
from ..graph import RegisteredResource


@dataclass(frozen=True)
class Violation:
    urn: str
    rule: str
    problem: str
    fix: str
    source: str

    def __str__(self) -> str:
        return f"{self.urn}: [{self.rule}] {self.problem}. Fix: {self.fix} (source: {self.source})"


class Graph:
    """The recorded resources of one plan, with the lookups rules need."""

    def __init__(self, resources: Iterable[RegisteredResource]):
        self.resources = tuple(resources)
        self.by_urn = {r.urn: r for r in self.resources}
        self.children: dict[str, set[str]] = {}
        for r in self.resources:
            if r.parent:
                self.children.setdefault(r.parent, set()).add(r.urn)
        self._upstream: dict[str, set[str]] = {}

    def of_type(self, *types: str) -> Iterator[RegisteredResource]:
        return (r for r in self.resources if r.type in types)

    def upstream(self, resource: RegisteredResource) -> set[str]:
        """Every URN the resource waits for: its dependsOn and input sources, theirs, and so on. A
        component's dependents wait for its children too, as the Pulumi engine makes them."""
        if resource.urn in self._upstream:
            return self._upstream[resource.urn]
        self._upstream[resource.urn] = found = set()
        direct = {u for urns in resource.dependencies.values() for u in urns} | set(resource.options.get("dependsOn") or [])
        for urn in direct:
            found.add(urn)
            found |= self.children.get(urn, set())
            for dependency in (self.by_urn.get(u) for u in {urn, *self.children.get(urn, set())}):
                if dependency is not None:
                    found |= self.upstream(dependency)
        return found

    def linked(self, resource: RegisteredResource, key: str, type_: str) -> RegisteredResource | None:
        """The resource of `type_` this graph creates whose output `resource`'s input `key` was built from."""
        for urn in (resource.dependencies or {}).get(key, []):
            if (found := self.by_urn.get(urn)) is not None and found.type == type_:
                return found
        return None

    def provider_inputs(self, resource: RegisteredResource) -> dict[str, Any]:
        provider = self.by_urn.get(resource.provider)
        return provider.inputs if provider else {}


@dataclass(frozen=True)
class Rule:
    id: str
    source: str          # the page or provider source the constraint comes from
    check: Callable[[Graph, RegionDecisions], Iterable[tuple[str, str, str]]]  # (urn, problem, fix)


RULES: list[Rule] = []


def rule(rule_id: str, source: str):
    """Register a check; its docstring says what the provider enforces."""
    def register(check: Callable[[Graph, RegionDecisions], Iterable[tuple[str, str, str]]]):
        RULES.append(Rule(rule_id, source, check))
        return check
    return register


def check(resources: Iterable[RegisteredResource], decisions: RegionDecisions) -> tuple[Violation, ...]:
    graph = Graph(resources)
    return tuple(Violation(urn, r.id, problem, fix, r.source)
                 for r in RULES for urn, problem, fix in r.check(graph, decisions))
