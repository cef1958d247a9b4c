"""Bad input never crashes and never silently wins: every malformed stack or policy ends as InvalidInput
naming the file, the key and the fix — fixtures for each known class, plus a seeded, bounded fuzz run."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest
import yaml

from sovereign.catalog import load_catalog
from sovereign.domain.decisions import decide_region
from sovereign.domain.errors import InvalidInput
from sovereign.domain.policy import load_policy
from sovereign.domain.spec import parse_spec
from sovereign.domain.stackfile import display_name, list_stacks, read_stack_config

from tests.support.stacks import PROJECT_DIR

POLICY = PROJECT_DIR / "policy" / "sovereignty.yaml"
MAX_MESSAGE = 1000


@pytest.fixture(scope="module")
def domain():
    catalog = load_catalog()
    return catalog, load_policy(POLICY, catalog, display="policy/sovereignty.yaml")


def _decide(project: Path, stack: str, domain) -> InvalidInput | None:
    """Everything the program does before registering a resource; the InvalidInput, or None when valid."""
    catalog, policy = domain
    try:
        config, _ = read_stack_config(project, stack)
        decide_region(parse_spec(config, stack, display_name(stack), catalog), policy, catalog)
    except InvalidInput as exc:
        return exc
    return None


def _write(project: Path, stack: str, text: str | bytes) -> None:
    path = project / "stacks" / f"Pulumi.{stack}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())


def _assert_clear(exc: InvalidInput | None, file: str) -> None:
    assert exc is not None, "accepted"
    for error in exc.errors:
        assert error.file == file and error.key and error.problem and error.fix, error
        assert len(str(error)) <= MAX_MESSAGE, str(error)[:200]


VALID = """config:
  pulumi:disable-default-providers: ["*"]
  sovereign:region: fuzz
  sovereign:clouds:
    aws: {region: eu-central-1}
  sovereign:models:
    - id: llama-3.1-8b-instruct
      replicas: {min: 1, max: 2}
  sovereign:managedApis:
    - provider: openai
      models:
        - {name: gpt-4.1, fallback: llama-3.1-8b-instruct}
"""

BAD_STACKS = {
    "duplicate-region": (VALID + "  sovereign:region: other\n", "line 13", "given twice (lines 3 and 13)"),
    "invalid-date-value": (VALID.replace("sovereign:region: fuzz", "sovereign:region: 2026-13-01"),
                           "sovereign:region", "not usable in resource and DNS names"),
    "latin-1": (VALID.replace("fuzz", "f\u00fczz").encode("latin-1"), "line 3", "not UTF-8"),
    "utf-16": (VALID.encode("utf-16"), "line 1", "not UTF-8"),
    "empty-models": (VALID.replace("""  sovereign:models:
    - id: llama-3.1-8b-instruct
      replicas: {min: 1, max: 2}
""", "  sovereign:models:\n"), "sovereign:models", "the region would serve no open-weight model"),
    "provider-list": (VALID.replace("provider: openai", "provider: [openai]")
                      + "  sovereign:apiKeys:\n    openai: {secure: AAAA}\n", "sovereign:managedApis[0].provider",
                      "expected a non-empty string, got a list"),
    "self-alias": ("config: &c\n  pulumi:disable-default-providers: ['*']\n  sovereign:region: x\n  loop: *c\n",
                   "line 1", "repeated by an alias"),
    "alias-bomb": ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nconfig: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
                   "line 1", "repeated by an alias"),
    "huge-model-id": (VALID.replace("id: llama-3.1-8b-instruct", "id: " + "m" * 1_000_000),
                      "sovereign:models[0].id", "unknown value"),
    "empty-file": ("", "(file)", "the file is empty"),
    "empty-config": ("config:\n", "config", "empty"),
    "replicas-zero": (VALID.replace("replicas: {min: 1, max: 2}", "replicas: 0"), "sovereign:models[0].replicas",
                      "nothing would serve"),
}


@pytest.mark.parametrize("case", sorted(BAD_STACKS))
def test_each_bad_stack_is_one_clear_error(tmp_path, domain, case):
    text, key, problem = BAD_STACKS[case]
    _write(tmp_path, case, text)
    exc = _decide(tmp_path, case, domain)
    _assert_clear(exc, display_name(case))
    assert any(e.key == key and problem in e.problem for e in exc.errors), [str(e)[:300] for e in exc.errors]


BAD_POLICY_EDITS = {
    # The second effect would have allowed DeepSeek under the deny rule's id.
    "duplicate-effect": (lambda t: t.replace("effect: deny", "effect: deny\n    effect: allow", 1), "given twice"),
    "duplicate-bans": (lambda t: t + "\nbans: []\n", "given twice"),
    "invalid-since": (lambda t: t.replace("since: ", "since: 2026-13-01 #", 1), "is not a date"),
    "not-utf8": (lambda t: t.replace("reason:", "reason: \udcff", 1), "not UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_POLICY_EDITS))
def test_each_bad_policy_is_one_clear_error(tmp_path, case):
    edit, problem = BAD_POLICY_EDITS[case]
    path = tmp_path / "sovereignty.yaml"
    path.write_bytes(edit(POLICY.read_text()).encode("utf-8", "surrogateescape"))
    with pytest.raises(InvalidInput) as failed:
        load_policy(path, load_catalog(), display="policy/sovereignty.yaml")
    _assert_clear(failed.value, "policy/sovereignty.yaml")
    assert any(problem in e.problem for e in failed.value.errors), [str(e) for e in failed.value.errors]


def test_a_default_deny_says_where_and_how_to_allow_it(domain):
    catalog, policy = domain
    from sovereign.domain.policy import decide

    decision = decide(policy, catalog, "openai", "SA")
    assert decision.rule == "default"
    assert "policy/sovereignty.yaml" in decision.reason and "effect: allow" in decision.reason


# --- fuzz --------------------------------------------------------------------------------------------

ODD_VALUES = ["", 0, -1, 2**70, 1.5, True, None, [], {}, ["x"], {"x": 1}, "2026-13-01", "ü" * 3, "x" * 5000,
              [{"id": None}], {"min": 3, "max": 1}]


def _mutate(config: dict, rng: random.Random) -> dict:
    """One random edit of a stack's config: a value replaced by an odd one, or a key dropped or renamed."""
    config = copy.deepcopy(config)
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append((*path, k))
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                paths.append((*path, i))
                walk(v, (*path, i))
    walk(config, ())
    path = rng.choice(paths)
    parent = config
    for step in path[:-1]:
        parent = parent[step]
    action = rng.random()
    if action < 0.7:
        parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    elif isinstance(parent, dict) and action < 0.85:
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[f"{path[-1]}x"] = parent.pop(path[-1])
    return config


def test_fuzzed_stacks_end_valid_or_as_clear_errors(tmp_path, domain):
    """A seeded run over mutations of every real stack: nothing raises but InvalidInput, every message is
    complete and bounded. 30 mutations per stack keep it to a few seconds."""
    rng = random.Random(20261201)
    for stack in list_stacks(PROJECT_DIR):
        config, _ = read_stack_config(PROJECT_DIR, stack)
        for n in range(30):
            name = f"{stack}-{n}"
            _write(tmp_path, name, yaml.safe_dump({"config": _mutate(config, rng)}))
            exc = _decide(tmp_path, name, domain)
            if exc is not None:
                _assert_clear(exc, display_name(name))
