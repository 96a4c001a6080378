"""Where the target's ``airflow-isolation-core`` and ``airflow-isolation-runtime`` come from.

Local source trees (an explicit folder, or the monorepo this CLI runs from) are preferred so a
developer's edits reach the venvs; their version is a digest of the source, so editing the
runtime changes the content hash and triggers a rebuild. Otherwise the index release matching
the host's core version is installed, keeping host and target on the same wire schema.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.hashing import tree_digest
from airflow_isolation.core.__about__ import __version__ as core_version

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

RUNTIME_SOURCE_VAR = "ISOLATION_RUNTIME_SOURCE"
CORE_DIST = "airflow-isolation-core"
RUNTIME_DIST = "airflow-isolation-runtime"
CORE_DIR = "isolation-core"
RUNTIME_DIR = "isolation-runtime"
BASE_REQUIREMENTS = ("msgspec>=0.18.6",)
_HASHED = (
    f"{CORE_DIR}/pyproject.toml",
    f"{CORE_DIR}/src",
    f"{RUNTIME_DIR}/pyproject.toml",
    f"{RUNTIME_DIR}/src",
)
_OWN_DIST = re.compile(r"^\s*airflow[-_.]isolation[-_.]", re.IGNORECASE)


@dataclass(frozen=True)
class RuntimeSource:
    """What to install into the target and the version string that enters the content hash."""

    kind: str
    location: str
    version: str
    install_args: tuple[str, ...]
    requirements: tuple[str, ...]

    @property
    def refresh_args(self) -> tuple[str, ...]:
        """uv caches local builds by pyproject mtime only: force a rebuild of edited sources."""
        if self.kind != "local":
            return ()
        return ("--refresh-package", CORE_DIST, "--refresh-package", RUNTIME_DIST)


def is_source_root(folder: Path) -> bool:
    return (folder / CORE_DIR / "pyproject.toml").is_file() and (
        folder / RUNTIME_DIR / "pyproject.toml"
    ).is_file()


def _declared_dependencies(pyproject: Path) -> list[str]:
    try:
        project = tomllib.loads(pyproject.read_text()).get("project", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CliError(
            f"cannot read {pyproject}: {exc}", "fix the file or unset " + RUNTIME_SOURCE_VAR
        ) from exc
    return [dep for dep in project.get("dependencies", []) if not _OWN_DIST.match(dep)]


def _merge(*groups: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    merged: list[str] = []
    for group in groups:
        for requirement in group:
            if requirement not in merged:
                merged.append(requirement)
    return tuple(merged)


def local_source(root: Path, how: str) -> RuntimeSource:
    root = root.resolve()
    requirements = _merge(
        BASE_REQUIREMENTS,
        _declared_dependencies(root / CORE_DIR / "pyproject.toml"),
        _declared_dependencies(root / RUNTIME_DIR / "pyproject.toml"),
    )
    return RuntimeSource(
        kind="local",
        location=f"{root} ({how})",
        version="local-" + tree_digest(root, _HASHED),
        install_args=(str(root / CORE_DIR), str(root / RUNTIME_DIR)),
        requirements=requirements,
    )


def index_source() -> RuntimeSource:
    try:
        core_requires = importlib.metadata.requires(CORE_DIST) or []
    except importlib.metadata.PackageNotFoundError:
        core_requires = []
    own = [req for req in core_requires if "extra ==" not in req and not _OWN_DIST.match(req)]
    return RuntimeSource(
        kind="index",
        location=f"package index ({RUNTIME_DIST}=={core_version})",
        version=core_version,
        install_args=(f"{CORE_DIST}=={core_version}", f"{RUNTIME_DIST}=={core_version}"),
        requirements=_merge(BASE_REQUIREMENTS, own),
    )


def monorepo_root(start: Path | None = None) -> Path | None:
    """The ``packages/`` folder of a checkout this module lives in (editable/dev installs)."""
    here = (start or Path(__file__)).resolve()
    for parent in here.parents:
        if (parent / "packages" / RUNTIME_DIR / "pyproject.toml").is_file() and is_source_root(
            parent / "packages"
        ):
            return parent / "packages"
    return None


def find_runtime_source() -> RuntimeSource:
    explicit = os.environ.get(RUNTIME_SOURCE_VAR)
    if explicit:
        folder = Path(explicit).expanduser()
        if not is_source_root(folder):
            raise CliError(
                f"${RUNTIME_SOURCE_VAR}={explicit} does not contain {CORE_DIR}/pyproject.toml and "
                f"{RUNTIME_DIR}/pyproject.toml",
                f"point {RUNTIME_SOURCE_VAR} at the folder holding both packages (a checkout's "
                "`packages/`), or unset it to install the runtime from the package index",
            )
        return local_source(folder, f"${RUNTIME_SOURCE_VAR}")
    repo = monorepo_root()
    if repo is not None:
        return local_source(repo, "source checkout")
    return index_source()
