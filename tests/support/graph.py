"""Queries over the resources a plan registered: by type token, by name, the children of a component, and
the resources another one depends on.

One class for every test that reads a graph. It takes the engine's `RegisteredResource`s (`Graph.of(plan)`)
or snapshot dicts (`Graph(snapshot(plan)["resources"])`, what the policy pack sees) alike, and hands back the
resources themselves, so a test reads `r.inputs` or `r["inputs"]` as it already does.

    graph = Graph.of(plan)
    cluster = graph.component(T.AWS_GPU_CLUSTER)        # the children of the one GpuCluster
    eks = cluster.one(T.EKS_CLUSTER)
    [role] = cluster.deps(eks, T.IAM_ROLE)              # through dependsOn, anywhere in the plan
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any


def field(resource: Any, name: str) -> Any:
    """A resource's field, for a RegisteredResource and a snapshot dict alike."""
    return resource[name] if isinstance(resource, Mapping) else getattr(resource, name)


class Graph:
    """Resources — a whole plan, or the children of one component — and the queries the tests make on them.

    A sub-graph (`children`, `component`) keeps the whole plan for `deps` and `urn`, so a dependency on a
    resource outside the component still resolves."""

    def __init__(self, resources: Iterable[Any], *, plan: Any = None, parent: Any = None, whole: Graph | None = None):
        self.resources = list(resources)
        self.plan = plan if whole is None else whole.plan   # the engine's Plan, when built from one
        self.parent = parent
        self.whole = whole or self
        self._by_urn = {field(r, "urn"): r for r in self.resources} if whole is None else whole._by_urn

    @classmethod
    def of(cls, plan) -> Graph:
        """The graph of a plan that must have planned; `.plan` keeps the plan (spec, decisions, outputs)."""
        assert plan.ok, plan.errors
        return cls(plan.resources, plan=plan)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    # -- finding resources ----------------------------------------------------------------------------------

    def where(self, predicate: Callable[[Any], bool]) -> list[Any]:
        return [r for r in self.resources if predicate(r)]

    def all(self, *types: str, name: str | None = None, name_contains: str = "") -> list[Any]:
        """The resources of any of `types` (every type when none is given), optionally by exact or partial name."""
        return [r for r in self.resources
                if (not types or field(r, "type") in types)
                and (name is None or field(r, "name") == name) and name_contains in field(r, "name")]

    def one(self, *types: str, name: str | None = None, name_contains: str = "") -> Any:
        """The single resource `all(...)` finds; fails naming what it found when there is none or several."""
        found = self.all(*types, name=name, name_contains=name_contains)
        wanted = " ".join(filter(None, ["/".join(types) or "resource", name and f"named {name}",
                                        name_contains and f"named *{name_contains}*"]))
        assert len(found) == 1, f"expected one {wanted}, found {[field(r, 'name') for r in found]}"
        return found[0]

    def urn(self, urn: str) -> Any:
        """The resource with this URN, anywhere in the whole plan."""
        return self._by_urn[urn]

    def of_kind(self, kind: str) -> list[Any]:
        """Kubernetes objects by their `kind` input (a Secret, a Deployment…)."""
        return [r for r in self.resources if field(r, "inputs").get("kind") == kind]

    # -- structure ------------------------------------------------------------------------------------------

    def children(self, parent: Any) -> Graph:
        """The direct children of `parent` (a resource of the whole plan)."""
        urn = field(parent, "urn")
        return Graph([r for r in self.whole.resources if field(r, "parent") == urn], parent=parent, whole=self.whole)

    def component(self, type_: str, name: str | None = None) -> Graph:
        """The children of the one component of `type_` (and `name`) in this graph."""
        return self.children(self.one(type_, name=name))

    def deps(self, resource: Any, *types: str) -> list[Any]:
        """The resources `resource` depends on (its dependsOn), of any of `types` when given."""
        found = [self._by_urn[u] for u in field(resource, "options").get("dependsOn", [])]
        return [r for r in found if not types or field(r, "type") in types]
