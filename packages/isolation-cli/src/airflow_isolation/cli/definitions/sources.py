"""Requirements a project already has, turned into an environment definition (``env create --from``).

- ``requirements.txt`` (any name that is not one of the two below): its requirement lines; ``-r``
  includes are followed, other pip options are refused (they have no place in a definition).
- ``pyproject.toml``: ``[project] dependencies``, and ``requires-python`` gives ``python`` (its lowest
  admitted 3.X) unless ``--python`` is given.
- ``uv.lock``: the locked versions, exported with ``uv export --frozen`` as pinned requirements
  (with their markers) of the project next to it. Pins rather than a copy of the lock as the
  environment's lock: the definition stays the one source of truth that every build (venv or image,
  any platform) resolves from, and ``uv.lock`` is a universal lock in uv's own format that also
  holds the project itself and its dev groups, not the flat, platform-specific install list a build
  installs. Resolving the exact pins again yields the same versions, and a later edit of the
  definition still works the ordinary way.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.resolve.uv_tool import run_uv

_INCLUDE = re.compile(r"^(-r|--requirement)(\s+|=)(?P<path>.+)$")
_PYTHON_MINORS = [f"3.{minor}" for minor in range(8, 20)]


@dataclass(frozen=True)
class Imported:
    """Requirements read from a file, and the Python it asks for (if it says)."""

    requirements: list[str]
    python: str | None
    source: str


def import_requirements(path: Path) -> Imported:
    if not path.is_file():
        raise CliError(f"--from {path}: no such file", "pass a requirements.txt, pyproject.toml or uv.lock")
    if path.name == "pyproject.toml":
        return _from_pyproject(path)
    if path.name == "uv.lock":
        return _from_uv_lock(path)
    return Imported(_requirement_lines(path, set()), None, str(path))


def _requirement_lines(path: Path, seen: set[Path]) -> list[str]:
    resolved = path.resolve()
    if resolved in seen:
        return []
    seen.add(resolved)
    text = path.read_text(encoding="utf-8").replace("\\\n", "")
    lines: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        include = _INCLUDE.match(line)
        if include:
            lines.extend(_requirement_lines(path.parent / include["path"].strip(), seen))
            continue
        if line.startswith("-"):
            raise CliError(
                f"{path}:{number}: {line!r} is a pip option, which an environment definition cannot hold",
                "remove it from the file (put index settings in uv's configuration, e.g. UV_INDEX_URL), "
                "or pass requirements with -r",
            )
        lines.append(line)
    return lines


def _from_pyproject(path: Path) -> Imported:
    project = _toml(path).get("project") or {}
    dependencies = project.get("dependencies")
    if not isinstance(dependencies, list) or not dependencies:
        raise CliError(
            f"{path} has no [project] dependencies to take",
            "list them under [project] dependencies, or pass requirements with -r",
        )
    requires = project.get("requires-python")
    return Imported([str(item) for item in dependencies], lowest_python(requires, path), str(path))


def lowest_python(requires: Any, where: Path) -> str | None:
    """The lowest 3.X that ``requires-python`` admits, e.g. ``>=3.10`` -> ``3.10``."""
    if not isinstance(requires, str):
        return None
    try:
        spec = SpecifierSet(requires)
    except InvalidSpecifier as exc:
        raise CliError(f"{where}: requires-python = {requires!r} is invalid: {exc}", "fix it") from exc
    for minor in _PYTHON_MINORS:
        if spec.contains(f"{minor}.99", prereleases=True) or spec.contains(f"{minor}.0", prereleases=True):
            return minor
    return None


def _from_uv_lock(path: Path) -> Imported:
    project = path.parent
    if not (project / "pyproject.toml").is_file():
        raise CliError(
            f"{path}: `uv export` needs the pyproject.toml next to the lock, and {project} has none",
            "pass the project's uv.lock in its own folder, or --from its requirements.txt",
        )
    with tempfile.TemporaryDirectory(prefix="isolation-export-") as tmp:
        output = Path(tmp) / "requirements.txt"
        run_uv(
            [
                "export",
                "--frozen",
                "--no-dev",
                "--no-emit-project",
                "--no-hashes",
                "--no-header",
                "--no-annotate",
                "--format",
                "requirements-txt",
                "--project",
                str(project),
                "--output-file",
                str(output),
            ],
            what=f"exporting the locked versions of {path}",
            hint=f"check that {path} is a uv.lock that `uv export --frozen` in {project} accepts",
        )
        requirements = _requirement_lines(output, set())
    return Imported(requirements, lowest_python(_toml(path).get("requires-python"), path), str(path))


def _toml(path: Path) -> dict[str, Any]:
    try:
        data = msgspec.toml.decode(path.read_bytes())
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise CliError(f"{path} is not valid TOML: {exc}", "fix the file or pass another one") from exc
    return data if isinstance(data, dict) else {}


def requirement_name(line: str) -> str | None:
    """The canonical project name a requirement line names, or ``None`` for what is not one."""
    try:
        return canonicalize_name(Requirement(line).name)
    except InvalidRequirement:
        return None


def versioned_names(requirements: list[str]) -> set[str]:
    """Names the requirements choose a version (or URL) for: a constraint on them is overruled."""
    names: set[str] = set()
    for line in requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.specifier or requirement.url:
            names.add(canonicalize_name(requirement.name))
    return names
