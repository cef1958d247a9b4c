"""Tests that share an expensive setup run in one pytest-xdist worker (pyproject.toml: `--dist loadgroup`), so
the setup runs once per test run rather than once per worker. Everything else is spread over the workers one test
at a time. Mark a module (`pytestmark = RENDERED_RELEASES`) or a test (`@LITELLM_PROBE`)."""

from __future__ import annotations

import pytest

# Every release the stacks register, rendered through the real helm by the serving, policy-pack and checkov tests
# alike (tests.support.helm.render renders each once per process); the pack's venv and checkov run once.
RENDERED_RELEASES = pytest.mark.xdist_group("rendered-releases")
# Every gateway config loaded by LiteLLM's own loader (~10 s), and the keyed and banned stacks it needs (the tests
# reading every keyed stack join it, the ban reaction's too; the proxy test plans only the one stack it serves).
LITELLM_PROBE = pytest.mark.xdist_group("litellm-probe")
# One scratch git repository and one `sovereign diff` run.
DIFF_REPO = pytest.mark.xdist_group("diff-repo")
# Every stack (and one missing) planned by worker processes, for the tests of parallel planning.
PARALLEL_RUN = pytest.mark.xdist_group("parallel-run")
# Every two-cloud stack drilled both ways: each phase of each drill planned once, by one worker.
DRILLS = pytest.mark.xdist_group("drills")
