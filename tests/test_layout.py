"""The project's shape: imports point one way, cloud differences live in the profiles, the program decides
once and the engine takes its decisions back, the CLI finds the project from where it runs."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import sovereign.domain.decisions as decisions_module
import sovereign.domain.policy as policy_module
import sovereign.project as project_module
from sovereign.clouds import PROFILES
from sovereign.engine.parallel import plan_stacks
from sovereign.engine.run import plan_stack
from sovereign.project import ProjectNotFound, find_project, project_dir

from tests.support.cli import run_cli
from tests.support.stacks import PROJECT_DIR


def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(PROJECT_DIR).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names.add(".".join([*base, *([node.module] if node.module else [])]))
            else:
                names.add(node.module or "")
    return names


def _sources(folder: str) -> list[Path]:
    return sorted((PROJECT_DIR / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", ["sovereign/catalog", "sovereign/domain"])
def test_catalog_and_domain_sit_at_the_bottom_and_import_no_pulumi(folder):
    for path in _sources(folder):
        imported = _imports(path)
        above = sorted(m for m in imported if m.startswith(("pulumi", "components", "sovereign.engine",
                                                            "sovereign.diff", "sovereign.commands",
                                                            "sovereign.project", "sovereign.cli")))
        assert above == [], f"{path.relative_to(PROJECT_DIR)} imports {above}"


def test_the_cloud_profiles_import_nothing_of_the_project():
    assert not [m for m in _imports(PROJECT_DIR / "sovereign" / "clouds.py") if m.startswith("sovereign")]


def test_components_import_no_catalog_and_the_package_never_imports_components():
    for path in _sources("components"):
        assert not [m for m in _imports(path) if m.startswith("sovereign.catalog")], path
    for path in _sources("sovereign"):
        assert not [m for m in _imports(path) if m.split(".")[0] == "components"], path


def test_no_cloud_is_special_cased_outside_its_profile_and_mocks():
    """What differs between clouds is read from sovereign/clouds.py, not branched on by name."""
    exempt = {"sovereign/clouds.py"}
    offenders = []
    for path in [*_sources("sovereign"), *_sources("components")]:
        name = str(path.relative_to(PROJECT_DIR))
        if name in exempt or name.startswith("sovereign/engine/mock"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
                values = [c.value for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)]
                if any(v in PROFILES for v in values):
                    offenders.append(f"{name}:{node.lineno}")
    assert offenders == []


def test_every_profiled_cloud_has_a_component_kit():
    sys.path.insert(0, str(PROJECT_DIR))
    from components.region import KITS

    assert set(KITS) == set(PROFILES)


def test_the_program_decides_once_per_stack_and_the_policy_is_parsed_once_per_run(monkeypatch):
    decided, parsed = [], []
    decide, parse = decisions_module.decide_region, policy_module.parse_policy
    monkeypatch.setattr(decisions_module, "decide_region", lambda *a: decided.append(1) or decide(*a))
    monkeypatch.setattr(policy_module, "parse_policy", lambda *a: parsed.append(1) or parse(*a))
    project_module._parsed.cache_clear()   # parsed once per process and file: this run parses it afresh
    plans = plan_stacks(["sa-east", "cn-north"], project=PROJECT_DIR, max_workers=1)
    assert [p.ok for p in plans] == [True, True]
    assert len(decided) == 2 and len(parsed) == 1
    # What the engine returns is what the program decided: the graph carries exactly its GPU pools.
    pools = [r for r in plans[0].resources if r.type == "kubernetes:karpenter.sh/v1:NodePool"]
    assert len(pools) == len(plans[0].decisions.cluster("aws").plan.gpu_pools)


def test_the_engine_runs_the_program_of_the_project_it_plans(project_copy):
    (project_copy / "__main__.py").write_text((project_copy / "__main__.py").read_text()
                                              + '\npulumi.export("plannedFrom", "the copy")\n')
    assert plan_stack("sa-east", project=project_copy).outputs["plannedFrom"] == "the copy"
    assert "plannedFrom" not in plan_stack("sa-east", project=PROJECT_DIR).outputs


def test_the_project_is_found_from_any_folder_inside_it(tmp_path):
    assert find_project(PROJECT_DIR / "components" / "aws") == PROJECT_DIR
    with pytest.raises(ProjectNotFound, match="no Pulumi.yaml"):
        find_project(tmp_path)
    with pytest.raises(ProjectNotFound, match="no such directory"):
        project_dir(tmp_path / "missing")


def test_the_cli_plans_from_a_subfolder_and_refuses_a_missing_project(tmp_path):
    here = run_cli("plan", "--stack", "sa-east", "--json", cwd=PROJECT_DIR / "stacks")
    assert here.returncode == 0, here.stderr
    assert '"stack": "sa-east"' in here.stdout
    missing = run_cli("plan", "--project", str(tmp_path / "nope"), cwd=tmp_path)
    assert missing.returncode == 2
    assert f"--project {tmp_path / 'nope'}: no such directory" in missing.stderr
    outside = run_cli("plan", cwd=tmp_path)
    assert outside.returncode == 2 and "no Pulumi.yaml" in outside.stderr


def test_the_readme_documents_exactly_the_keys_the_validator_takes():
    from sovereign.domain.stack_keys import DESCRIPTIONS, validated_keys, with_table

    assert sorted(validated_keys()) == sorted(DESCRIPTIONS)
    readme = (PROJECT_DIR / "README.md").read_text()
    assert with_table(readme) == readme, "run `python -m sovereign.domain.stack_keys` to regenerate the table"
