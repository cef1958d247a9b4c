"""Where the project is, and the policy file its program evaluates.

The project is the folder holding `Pulumi.yaml` (with `__main__.py`, `components/`, `stacks/`,
`policy/`), found from the current directory the way the Pulumi CLI finds it, never from where this
package was installed.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from .catalog import Catalog, load_catalog
from .domain.policy import DEFAULT_POLICY_FILE, Policy, load_policy

PROJECT_FILE = "Pulumi.yaml"
PROJECT_NAME = "sovereign-inference"
DEFAULT_POLICY = Path(DEFAULT_POLICY_FILE)
# The policy pack's only channel for another policy file (its harness sets it): the Pulumi CLI starts
# the pack in its own process with nothing but the environment.
POLICY_ENV = "SOVEREIGN_POLICY"
# The global the offline engine gives `__main__.py` (runpy's init_globals): the policy it parsed once
# for every stack it plans, and `--policy` when given. `pulumi up` sets none: the program reads its own.
ENGINE_POLICY = "sovereign_engine_policy"


class ProjectNotFound(Exception):
    pass


def find_project(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: the current directory) holding Pulumi.yaml."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    raise ProjectNotFound(f"no {PROJECT_FILE} in {here} or any folder above it: run from inside the project, "
                          "or pass --project DIR")


def project_dir(given: Path | None) -> Path:
    """`--project DIR` when given (it must exist and hold Pulumi.yaml), else found from the current directory."""
    if given is None:
        return find_project()
    if not given.is_dir():
        raise ProjectNotFound(f"--project {given}: no such directory")
    if not (given / PROJECT_FILE).is_file():
        raise ProjectNotFound(f"--project {given}: no {PROJECT_FILE} there; point it at the project's root")
    return given.resolve()


def policy_path(project: Path) -> Path:
    return project / DEFAULT_POLICY


def load_project_policy(project: Path, path: Path | None = None, catalog: Catalog | None = None) -> Policy:
    """`path` (e.g. `--policy`), else the project's policy/sovereignty.yaml; shown relative to the project. The same
    file unchanged (path, size, modification time) is parsed once per process: the contradiction check is costly,
    and a Policy is immutable."""
    path = Path(path or policy_path(project))
    shown = os.path.relpath(path, project) if path.resolve().is_relative_to(project.resolve()) else str(path)
    if catalog is not None or not path.is_file():
        return load_policy(path, catalog or load_catalog(), display=shown)
    status = path.stat()
    return _parsed(str(path.resolve()), status.st_size, status.st_mtime_ns, shown)


@functools.lru_cache(maxsize=16)
def _parsed(path: str, _size: int, _mtime_ns: int, shown: str) -> Policy:
    return load_policy(Path(path), load_catalog(), display=shown)
