"""Policy precedence as a table: (country, provider, policy) → effect and the entry that decided.

Each row builds a small policy in memory, so the precedence rules are tested on their own, apart
from the project's real policy file."""

from __future__ import annotations

import pytest
import yaml

from sovereign.domain.errors import InvalidInput
from sovereign.domain.policy import decide, parse_policy

ALLOW_ALL = {"id": "allow-all", "effect": "allow", "providers": "*", "countries": ["*"], "reason": "r"}
ALLOW_EEA = {"id": "allow-eea", "effect": "allow", "providers": "*", "groups": ["eea"], "reason": "r"}
DENY_EEA = {"id": "deny-eea", "effect": "deny", "providers": "*", "groups": ["eea"], "reason": "r"}
DENY_ALL = {"id": "deny-all", "effect": "deny", "providers": "*", "countries": ["*"], "reason": "r"}
DENY_DE = {"id": "deny-de", "effect": "deny", "providers": "*", "countries": ["DE"], "reason": "r"}
ALLOW_DE = {"id": "allow-de", "effect": "allow", "providers": "*", "countries": ["DE"], "reason": "r"}
DENY_DEEPSEEK_EEA = {"id": "deny-deepseek-eea", "effect": "deny", "providers": ["deepseek"],
                     "groups": ["eea"], "reason": "r"}
ALLOW_OPENAI_DE = {"id": "allow-openai-de", "effect": "allow", "providers": ["openai"],
                   "countries": ["DE"], "reason": "r"}
BAN_OPENAI_DE = {"id": "ban-openai-de", "providers": ["openai"], "countries": ["DE"], "reason": "export ban",
                 "since": "2026-11-01"}
BAN_ANTHROPIC_CN = {"id": "ban-anthropic-cn", "providers": ["anthropic"], "countries": ["CN"], "reason": "r",
                    "since": "2026-11-01"}


def policy(rules=(), bans=(), respect=True):
    raw = {"version": 1, "rules": list(rules), "bans": list(bans),
           "availability": {"respectProviderLists": respect}}
    return raw


TABLE = [
    # country, provider, policy, expected effect, deciding entry
    ("DE", "openai", policy(), "deny", "default"),
    ("DE", "openai", policy([ALLOW_ALL]), "allow", "allow-all"),
    ("DE", "openai", policy([ALLOW_ALL], [BAN_OPENAI_DE]), "deny", "ban-openai-de"),
    ("FR", "openai", policy([ALLOW_ALL], [BAN_OPENAI_DE]), "allow", "allow-all"),
    ("DE", "openai", policy([ALLOW_OPENAI_DE], [BAN_OPENAI_DE]), "deny", "ban-openai-de"),
    ("CN", "anthropic", policy([ALLOW_ALL]), "deny", "availability:anthropic"),
    ("CN", "anthropic", policy([ALLOW_ALL], respect=False), "allow", "allow-all"),
    ("CN", "anthropic", policy([ALLOW_ALL], [BAN_ANTHROPIC_CN]), "deny", "ban-anthropic-cn"),
    ("CN", "mistral", policy([ALLOW_ALL]), "allow", "allow-all"),  # Mistral publishes no country list
    ("DE", "openai", policy([ALLOW_EEA, DENY_DE]), "deny", "deny-de"),         # country beats group
    ("FR", "openai", policy([ALLOW_EEA, DENY_DE]), "allow", "allow-eea"),
    ("DE", "openai", policy([DENY_EEA, ALLOW_DE]), "allow", "allow-de"),
    ("DE", "openai", policy([DENY_ALL, ALLOW_EEA]), "allow", "allow-eea"),     # group beats everywhere
    ("US", "openai", policy([DENY_ALL, ALLOW_EEA]), "deny", "deny-all"),
    ("DE", "deepseek", policy([ALLOW_EEA, DENY_DEEPSEEK_EEA]), "deny", "deny-deepseek-eea"),  # provider named
    ("DE", "mistral", policy([ALLOW_EEA, DENY_DEEPSEEK_EEA]), "allow", "allow-eea"),
    ("DE", "openai", policy([DENY_EEA, ALLOW_OPENAI_DE]), "allow", "allow-openai-de"),
]


@pytest.mark.parametrize("country,provider,raw,effect,rule", TABLE)
def test_precedence(catalog, country, provider, raw, effect, rule):
    decision = decide(parse_policy(raw, "policy.yaml", catalog), catalog, provider, country)
    assert (decision.effect, decision.rule) == (effect, rule)


def errors_of(raw, catalog) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        parse_policy(raw, "policy.yaml", catalog)
    return [str(e) for e in caught.value.errors]


def test_equally_specific_opposite_rules_are_a_contradiction(catalog):
    clash = dict(DENY_EEA, id="deny-eea-too")
    [error] = errors_of(policy([ALLOW_EEA, clash]), catalog)
    assert "rules (allow-eea, deny-eea-too)" in error and "contradiction" in error


def test_residency_host_must_cover_every_country_it_is_used_for(catalog):
    raw = policy([ALLOW_ALL]) | {"residency": [{"id": "openai-eu-everywhere", "provider": "openai",
                                                "countries": ["DE", "JP"], "hosts": ["eu.api.openai.com"],
                                                "reason": "r"}]}
    [error] = errors_of(raw, catalog)
    assert "residency[0].hosts[0]" in error and "covers JP" in error


def test_residency_host_must_belong_to_the_provider(catalog):
    raw = policy([ALLOW_ALL]) | {"residency": [{"id": "x", "provider": "anthropic", "countries": ["DE"],
                                                "hosts": ["eu.api.openai.com"], "reason": "r"}]}
    [error] = errors_of(raw, catalog)
    assert "residency[0].hosts[0]" in error and "unknown value 'eu.api.openai.com'" in error


@pytest.mark.parametrize("entry,key,words", [
    ({**BAN_OPENAI_DE, "since": "last week"}, "bans[0].since", "YYYY-MM-DD"),
    ({k: v for k, v in BAN_OPENAI_DE.items() if k != "reason"}, "bans[0].reason", "missing"),
    ({**BAN_OPENAI_DE, "groups": ["eaa"]}, "bans[0].groups[0]", "did you mean"),
    ({**BAN_OPENAI_DE, "providers": ["open-ai"]}, "bans[0].providers[0]", "did you mean 'openai'"),
    ({**BAN_OPENAI_DE, "countries": ["XX"]}, "bans[0].countries[0]", "unknown value 'XX'"),
])
def test_ban_entries_are_validated(catalog, entry, key, words):
    [error] = errors_of(policy([ALLOW_ALL], [entry]), catalog)
    assert f": {key}: " in error and words in error


def test_duplicate_ids_are_rejected(catalog):
    [error] = errors_of(policy([ALLOW_ALL, dict(ALLOW_EEA, id="allow-all")]), catalog)
    assert "id 'allow-all'" in error and "used twice" in error


def test_project_policy_loads(policy):
    assert {b.id for b in policy.bans} >= {"ban-deepseek-italy"}
    assert policy.respect_provider_lists


def test_an_unchanged_policy_file_is_parsed_once_and_an_edited_one_again(tmp_path):
    import shutil

    from sovereign.project import load_project_policy
    from tests.support.stacks import PROJECT_DIR
    (tmp_path / "policy").mkdir()
    path = tmp_path / "policy" / "sovereignty.yaml"
    shutil.copy(PROJECT_DIR / "policy" / "sovereignty.yaml", path)
    first = load_project_policy(tmp_path)
    assert load_project_policy(tmp_path) is first
    doc = yaml.safe_load(path.read_text())
    doc.setdefault("bans", []).append({"id": "ban-openai-it-test", "providers": ["openai"], "countries": ["IT"],
                                       "reason": "test", "since": "2026-01-01"})
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    edited = load_project_policy(tmp_path)
    assert edited is not first and "ban-openai-it-test" in {b.id for b in edited.bans}
