"""Two things the offline engine switches off while a program runs under mocks, for every runner alike
(`plan_stack`, and the benchmark's bare-mocks baselines, so their ratio measures programs, not runners).

- Source positions: Pulumi walks the whole Python stack at every registration to tell the CLI which
  program line declared the resource. Only the Pulumi CLI reads them (diagnostics); the mocks and the
  recorded graph never do. `pulumi up` runs the program without this engine, so it keeps them.
- Automatic garbage collection: a run allocates hundreds of thousands of short-lived objects in cycles
  (Outputs, futures, tasks), so the collector would run many full passes over everything alive, the
  recorded graph included. Paused, a stack's cycles (tens of MB at most) wait until the run ends; the
  next collection (the worker's `settle_heap`, or the automatic one) frees them.

Both reach into Pulumi's internals (sovereign/pulumi_internals.py): on another Pulumi version they stay
on — slower, the same plan.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ..pulumi_internals import collector_paused, no_source_positions


@contextlib.contextmanager
def lean_runtime() -> Iterator[None]:
    """Within the block: no source positions, no automatic collection; both restored after."""
    with no_source_positions(), collector_paused():
        yield
