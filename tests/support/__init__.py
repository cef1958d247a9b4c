"""Helpers the test modules import (conftest.py keeps the fixtures).

- `stacks`: the real stacks by cloud, the fixtures folder, scratch copies of the project, the test ban;
- `tokens`: the Pulumi type tokens the tests look for;
- `graph`: queries over a plan's registered resources (by type, by name, children of a component, links);
- `domain`: small inline inputs (stack config, policy) for the pure domain tests;
- `helm`, `schemas`: the real helm binary and the schemas rendered objects are validated against;
- `policypack_harness`, `gateway_probe`: run the policy pack and LiteLLM in their own venvs.
"""
