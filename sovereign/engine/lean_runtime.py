"""Two things the offline engine switches off while a program runs under mocks, for every runner alike
(`plan_stack`, and the benchmark's bare-mocks baselines, so their ratio measures programs, not runners).

- Source positions: Pulumi walks the whole Python stack at every registration to tell the CLI which
  program line declared the resource. Only the Pulumi CLI reads them (diagnostics); the mocks and the
  recorded graph never do. `pulumi up` runs the program without this engine, so it keeps them.
- Automatic garbage collection: a run allocates hundreds of thousands of short-lived objects in cycles
  (Outputs, futures, tasks), so the collector would run many full passes over everything alive, the
  recorded graph included. Paused, a stack's cycles (tens of MB at most) wait until the run ends; the
  next collection (the worker's `settle_heap`, or the automatic one) frees them.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

import pulumi.runtime.resource as pulumi_resource
from pulumi.runtime.proto import source_pb2


@contextlib.contextmanager
def lean_runtime() -> Iterator[None]:
    """Within the block: no source positions, no automatic collection; both restored after."""
    original = pulumi_resource._get_stack_trace
    collecting = gc.isenabled()
    pulumi_resource._get_stack_trace = source_pb2.StackTrace  # an empty trace, as for a frameless call
    gc.disable()
    try:
        yield
    finally:
        pulumi_resource._get_stack_trace = original
        if collecting:
            gc.enable()
