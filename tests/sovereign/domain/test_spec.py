"""Every class of stack-file mistake yields exactly one error naming the file, the key and the fix,
and registers nothing. Each case is a real stack file under tests/fixtures/invalid/stacks/."""

from __future__ import annotations

import pytest

from sovereign.engine.run import plan_stack

from tests.support.stacks import FIXTURES, POLICY_FILE

INVALID = FIXTURES / "invalid"

CASES = [
    # (stack, key path in the error, words the problem or fix must contain)
    ("typo-key", "sovereign:modles", "did you mean 'models'"),
    ("typo-nested-key", "sovereign:models[0].replica", "did you mean 'replicas'"),
    ("unknown-model", "sovereign:models[0].id", "did you mean 'llama-3.1-8b-instruct'"),
    ("unknown-region", "sovereign:clouds.aws.region", "did you mean 'eu-central-1'"),
    ("unknown-cloud", "sovereign:clouds.azure", "use one of: aws, gcp"),
    ("wrong-type", "sovereign:models[0].replicas", "expected a mapping, got a string"),
    ("replicas-range", "sovereign:models[0].replicas", "min 3 is above max 1"),
    ("context-too-long", "sovereign:models[0].contextLength", "use a value in 256..32768"),
    ("duplicate-model", "sovereign:models[1].id", "listed twice"),
    ("unknown-provider", "sovereign:managedApis[0].provider", "did you mean 'openai'"),
    ("fallback-not-served", "sovereign:managedApis[0].models[0].fallback", "not served by this region"),
    ("endpoint-region-missing", "sovereign:managedApis[0].endpointRegion", "runs no aws cloud"),
    ("azure-resource-missing", "sovereign:managedApis[0].resource", "{resource}.openai.azure.com"),
    ("jurisdiction-without-reason", "sovereign:jurisdiction.reason", "missing"),
    ("default-providers-enabled", "pulumi:disable-default-providers", 'pulumi:disable-default-providers: ["*"]'),
    ("foreign-namespace", "aws:region", "move it under `sovereign:`"),
    ("yaml-syntax", "line 9, column 6", "not valid YAML"),
    ("bad-region-name", "sovereign:region", "lower-case letters"),
    ("gcp-project-missing", "sovereign:clouds.gcp.project", "missing"),
    ("dr-interval", "sovereign:dr.healthCheckIntervalSeconds", "use 10 or 30"),
    ("open-api-endpoint", "sovereign:clouds.aws.apiAccessCidrs[0]", "whole internet"),
    ("unknown-gpu", "sovereign:models[0].gpus[0]", "did you mean 'nvidia-l40s'"),
    ("model-fits-nothing", "sovereign:models[0]", "fits no GPU offered in aws eu-central-1"),
    ("no-such-stack", "(file)", "no stack 'no-such-stack'"),
]


@pytest.mark.parametrize("stack,key,words", CASES, ids=[c[0] for c in CASES])
def test_each_mistake_is_one_clear_error_and_registers_nothing(stack, key, words):
    plan = plan_stack(stack, project=INVALID, policy=POLICY_FILE)
    assert not plan.ok and plan.resources == ()
    assert len(plan.errors) == 1, "\n".join(map(str, plan.errors))
    error = plan.errors[0]
    assert error.file == f"stacks/Pulumi.{stack}.yaml"
    assert error.key == key
    assert words in f"{error.problem}. Fix: {error.fix}"
    assert error.fix  # every error says how to fix it


def test_every_fixture_file_is_a_case():
    files = {p.name[len("Pulumi."):-len(".yaml")] for p in (INVALID / "stacks").glob("Pulumi.*.yaml")}
    assert files - {"valid-minimal"} == {c[0] for c in CASES} - {"no-such-stack"}


def test_control_stack_in_the_same_folder_is_valid():
    plan = plan_stack("valid-minimal", project=INVALID, policy=POLICY_FILE)
    assert plan.ok, plan.errors
    assert plan.spec.jurisdiction.countries == ("DE",)


def test_all_errors_are_collected_in_one_pass(tmp_path):
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.many.yaml").write_text(
        'config:\n  pulumi:disable-default-providers: ["*"]\n  sovereign:region: many\n'
        "  sovereign:clouds:\n    aws:\n      region: eu-centrl-1\n"
        "  sovereign:models:\n    - id: llama-3.1-8b\n    - id: mistral-7b-instruct-v0.3\n      replicas: {min: 2, max: 1}\n")
    plan = plan_stack("many", project=tmp_path, policy=POLICY_FILE)
    assert [e.key for e in plan.errors] == [
        "sovereign:clouds.aws.region", "sovereign:models[0].id", "sovereign:models[1].replicas"]


def test_a_short_form_of_a_long_id_is_suggested():
    from sovereign.domain.errors import did_you_mean
    assert did_you_mean("mistral-7b", ["mistral-7b-instruct-v0.3", "mixtral-8x7b-instruct-v0.1"]) == \
        " (did you mean 'mistral-7b-instruct-v0.3'?)"
    assert did_you_mean("zzz", ["mistral-7b-instruct-v0.3"]) == ""
