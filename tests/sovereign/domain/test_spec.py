"""Stack validation (sovereign/domain/spec.py). Every class of stack-file mistake yields exactly one error naming
the file, the key and the fix, and registers nothing — each case a real stack file under
tests/fixtures/invalid/stacks/, planned as `sovereign plan` would. Then parse_spec on inline configs: defaults,
overrides, and every problem of a config reported at once."""

from __future__ import annotations

import pytest

from sovereign.domain.errors import InvalidInput
from sovereign.domain.maintenance import DEFAULT_WINDOW, hours_in_32_days
from sovereign.domain.spec import EKS_VERSIONS, Jurisdiction, Replicas, parse_spec
from sovereign.engine.run import plan_stack
from tests.support.domain import CATALOG, LLAMA, region_spec, stack_config
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
    ("dr-without-global-zone", "sovereign:dr.globalZoneId", "serve TLS only"),
    ("registry-credentials-missing", "sovereign:clouds.aws.registryCredentials", "ecr-pullthroughcache/"),
    ("image-mirror-pull-through-in-china", "sovereign:clouds.aws.imageMirror", "has no pull-through cache"),
    ("image-mirror-typo", "sovereign:clouds.aws.imageMirror", "prefilled"),
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


def test_a_short_form_of_a_long_id_is_suggested():
    from sovereign.domain.errors import did_you_mean
    assert did_you_mean("mistral-7b", ["mistral-7b-instruct-v0.3", "mixtral-8x7b-instruct-v0.1"]) == \
        " (did you mean 'mistral-7b-instruct-v0.3'?)"
    assert did_you_mean("zzz", ["mistral-7b-instruct-v0.3"]) == ""


# -- parse_spec on inline configs ---------------------------------------------------------------------------------

def test_a_minimal_config_gets_the_documented_defaults():
    spec = region_spec(region="fra")
    assert (spec.stack, spec.file, spec.name) == ("test", "stacks/Pulumi.test.yaml", "fra")
    [aws] = spec.clouds
    assert (aws.cloud, aws.region.name, aws.kubernetes_version, aws.api_access_cidrs, aws.spot) == \
        ("aws", "eu-central-1", EKS_VERSIONS[-1], (), False)
    assert spec.jurisdiction == Jurisdiction(("DE",), True, None)  # derived from the cloud regions
    [model] = spec.models
    assert (model.replicas, model.context_length, model.max_concurrency, model.gpus) == (Replicas(1, 1), 8192, 16, ())
    assert (spec.dr.health_check_interval_s, spec.dr.failure_threshold, spec.dr.dns_ttl_s, spec.dr.min_replicas) == \
        (10, 3, 30, 1)
    assert spec.managed_apis == () and spec.api_keys == () and spec.drill is None


def test_a_declared_jurisdiction_replaces_the_derived_one():
    spec = region_spec(jurisdiction={"countries": ["FR", "DE", "FR"], "reason": "data also processed in Paris"})
    assert spec.jurisdiction == Jurisdiction(("DE", "FR"), False, "data also processed in Paris")


def test_regional_endpoints_default_to_the_stacks_own_cloud_region():
    spec = region_spec(clouds={"aws": {"region": "eu-west-1"}, "gcp": {"region": "europe-west3", "project": "p-test"}},
                       managedApis=[{"provider": p, "models": [{"name": f"{p}-model", "fallback": LLAMA}]}
                                    for p in ("aws_bedrock", "google_vertex_ai", "openai")])
    assert {r.provider: r.endpoint_region for r in spec.managed_apis} == {
        "aws_bedrock": "eu-west-1", "google_vertex_ai": "europe-west3", "openai": None}


def test_api_keys_keep_which_entries_are_set_never_the_values():
    spec = region_spec(managedApis=[{"provider": "openai", "models": [{"name": "gpt-4.1", "fallback": LLAMA}]}],
                       apiKeys={"openai": {"secure": "v1:sk-never-kept"}, "gateway": {"secure": "v1:x"}})
    assert spec.api_keys == ("gateway", "openai")
    assert "sk-never-kept" not in repr(spec)


def test_all_errors_are_collected_in_one_pass():
    config = stack_config(clouds={"aws": {"region": "eu-centrl-1"}}, models=[
        {"id": "llama-3.1-8b"}, {"id": "mistral-7b-instruct-v0.3", "replicas": {"min": 2, "max": 1}}])
    with pytest.raises(InvalidInput) as caught:
        parse_spec(config, "many", "stacks/Pulumi.many.yaml", CATALOG)
    errors = caught.value.errors
    assert [e.key for e in errors] == [
        "sovereign:clouds.aws.region", "sovereign:models[0].id", "sovereign:models[1].replicas"]
    assert all(e.file == "stacks/Pulumi.many.yaml" and e.fix for e in errors)


def test_the_maintenance_window_defaults_to_weekend_nights_and_must_satisfy_gke():
    assert region_spec().maintenance == DEFAULT_WINDOW and hours_in_32_days(2, 8) == 64
    window = region_spec(maintenance={"days": ["SU", "WE"], "startHour": 22, "hours": 6}).maintenance
    assert window.days == ("WE", "SU") and window.first() == ("2025-01-08T22:00:00Z", "2025-01-09T04:00:00Z")
    for body, key, words in (({"days": ["SA"], "hours": 4}, "sovereign:maintenance", "GKE requires 48"),
                             ({"days": ["SAT"]}, "sovereign:maintenance.days[0]", "unknown value 'SAT'"),
                             ({"days": []}, "sovereign:maintenance.days", "empty"),
                             ({"hours": 3}, "sovereign:maintenance.hours", "3")):
        with pytest.raises(InvalidInput) as caught:
            region_spec(maintenance=body)
        assert [e.key for e in caught.value.errors] == [key] and words in caught.value.errors[0].problem, body


def test_log_retention_is_one_cloudwatch_takes():
    assert region_spec().log_retention_days == 365 and region_spec(logRetentionDays=30).log_retention_days == 30
    for value in (45, "30", True):
        with pytest.raises(InvalidInput) as caught:
            region_spec(logRetentionDays=value)
        assert [e.key for e in caught.value.errors] == ["sovereign:logRetentionDays"], value


def test_registry_credentials_are_secrets_manager_arns_in_the_clusters_own_region():
    from tests.support.domain import registry_credentials
    for arn, words in (("arn:aws:secretsmanager:eu-west-1:111122223333:secret:ecr-pullthroughcache/docker-hub-a1",
                        "the secret is in eu-west-1, the cluster's ECR in eu-central-1"),
                       ("arn:aws:secretsmanager:eu-central-1:111122223333:secret:dockerhub-a1",
                        "is not a Secrets Manager ARN named ecr-pullthroughcache/")):
        config = stack_config(clouds={"aws": {"region": "eu-central-1", "registryCredentials": {
            **registry_credentials("eu-central-1"), "dockerHub": arn}}})
        with pytest.raises(InvalidInput) as raised:
            parse_spec(config, "test", "stacks/Pulumi.test.yaml", CATALOG)
        [error] = raised.value.errors
        assert error.key == "sovereign:clouds.aws.registryCredentials.dockerHub" and words in str(error)
