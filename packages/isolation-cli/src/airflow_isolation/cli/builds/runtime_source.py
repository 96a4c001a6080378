"""Where the target's ``airflow-isolation-core`` and ``airflow-isolation-runtime`` come from.

Workers are often air-gapped, so a released CLI never needs an index for them: its wheel carries
the exact core and runtime wheels it was built with (``bundled/``, put there by the package's
``hatch_build.py``). In order:

1. ``$ISOLATION_RUNTIME_SOURCE``: a folder of core and runtime wheels, a checkout's ``packages/``
   folder (or the checkout itself), ``index`` (the release matching the host's core version) or an
   index URL serving that release;
2. the wheels bundled with this CLI;
3. the ``packages/`` folder of the checkout this CLI runs from (editable/dev installs);
4. otherwise a ``CliError`` naming these fixes.

Source trees are versioned by a digest of their files, wheels by a digest of their bytes, so a
changed runtime changes the content hash and triggers a rebuild, and the same files never do.
"""

from __future__ import annotations

import email.parser
import hashlib
import importlib.metadata
import os
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from airflow_isolation.cli.builds.hashing import tree_digest
from airflow_isolation.cli.errors import CliError
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
INDEX_KEYWORD = "index"
BUNDLED_DIR = Path(__file__).resolve().parents[1] / "bundled"
"""Filled only in a built wheel of this package; absent in a checkout and in editable installs."""
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
        """uv caches local builds by pyproject mtime only: force a rebuild of edited sources.
        Wheels need none (uv keys a wheel file by its mtime), and must not get it: uv refuses
        ``--refresh`` under ``UV_OFFLINE``, which air-gapped workers set."""
        if self.kind != "local":
            return ()
        return ("--refresh-package", CORE_DIST, "--refresh-package", RUNTIME_DIST)

    @property
    def fix(self) -> str:
        """What to do when installing from this source failed."""
        if self.kind == "local":
            return f"fix the packages under {self.location} (they must build with `uv build`)"
        if self.kind == "wheels":
            return (
                f"check the wheels ({self.location}): reinstall airflow-isolation-cli, or point "
                f"{RUNTIME_SOURCE_VAR} at a folder holding intact {CORE_DIST} and {RUNTIME_DIST} wheels"
            )
        return (
            f"publish/mirror these versions on your index, or unset {RUNTIME_SOURCE_VAR} to use the "
            "wheels bundled with airflow-isolation-cli (no index needed)"
        )


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


def index_source(index_url: str | None = None) -> RuntimeSource:
    try:
        core_requires = importlib.metadata.requires(CORE_DIST) or []
    except importlib.metadata.PackageNotFoundError:
        core_requires = []
    own = [req for req in core_requires if "extra ==" not in req and not _OWN_DIST.match(req)]
    pins = (f"{CORE_DIST}=={core_version}", f"{RUNTIME_DIST}=={core_version}")
    return RuntimeSource(
        kind="index",
        location=f"{index_url or 'package index'} ({RUNTIME_DIST}=={core_version})",
        version=core_version,
        install_args=("--index-url", index_url, *pins) if index_url else pins,
        requirements=_merge(BASE_REQUIREMENTS, own),
    )


def _wheel_of(folder: Path, dist: str) -> Path | None:
    found = []
    for wheel in sorted(folder.glob("*.whl")):
        try:
            name = parse_wheel_filename(wheel.name)[0]
        except InvalidWheelFilename:
            continue
        if name == dist:
            found.append(wheel)
    if len(found) > 1:
        raise CliError(
            f"{folder} holds {len(found)} wheels of {dist}: {', '.join(wheel.name for wheel in found)}",
            f"keep exactly one {dist} wheel (the one matching the host's airflow-isolation-core) there",
        )
    return found[0] if found else None


def holds_runtime_wheels(folder: Path) -> bool:
    return _wheel_of(folder, CORE_DIST) is not None and _wheel_of(folder, RUNTIME_DIST) is not None


def _wheel_dependencies(wheel: Path) -> list[str]:
    """The wheel's unconditional ``Requires-Dist`` other than our own packages."""
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        message = email.parser.BytesParser().parsebytes(archive.read(metadata), headersonly=True)
    requires = message.get_all("Requires-Dist") or []
    return [req for req in requires if "extra ==" not in req and not _OWN_DIST.match(req)]


def wheels_source(folder: Path, how: str) -> RuntimeSource:
    """Core and runtime from their wheels: installed as files, so no index is ever asked."""
    folder = folder.resolve()
    wheels = [_wheel_of(folder, CORE_DIST), _wheel_of(folder, RUNTIME_DIST)]
    if None in wheels:
        raise CliError(
            f"{folder} does not hold both a {CORE_DIST} and a {RUNTIME_DIST} wheel",
            f"put both wheels there (`hatch build -t wheel` in packages/isolation-core and "
            f"packages/isolation-runtime), or unset {RUNTIME_SOURCE_VAR}",
        )
    paths = [wheel for wheel in wheels if wheel is not None]
    digest = hashlib.sha256()
    for wheel in paths:
        data = wheel.read_bytes()
        for part in (wheel.name.encode(), data):
            digest.update(len(part).to_bytes(8, "big") + part)
    runtime_version = str(parse_wheel_filename(paths[1].name)[1])
    return RuntimeSource(
        kind="wheels",
        location=f"{how} wheels in {folder} ({', '.join(wheel.name for wheel in paths)})",
        version=f"{runtime_version}+wheels.{digest.hexdigest()[:24]}",
        install_args=tuple(str(wheel) for wheel in paths),
        requirements=_merge(BASE_REQUIREMENTS, *(_wheel_dependencies(wheel) for wheel in paths)),
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


SOURCE_CHOICES = (
    f"a folder holding the {CORE_DIST} and {RUNTIME_DIST} wheels, a checkout's `packages/` folder "
    f"(holding {CORE_DIR}/ and {RUNTIME_DIR}/), `{INDEX_KEYWORD}`, or an index URL"
)


def explicit_source(value: str) -> RuntimeSource:
    """What ``$ISOLATION_RUNTIME_SOURCE`` names."""
    how = f"${RUNTIME_SOURCE_VAR}"
    if value == INDEX_KEYWORD:
        return index_source()
    if re.match(r"^(https?|file)://", value):
        return index_source(value)
    folder = Path(value).expanduser()
    if is_source_root(folder):
        return local_source(folder, how)
    if is_source_root(folder / "packages"):
        return local_source(folder / "packages", how)
    if folder.is_dir() and holds_runtime_wheels(folder):
        return wheels_source(folder, how)
    raise CliError(
        f"${RUNTIME_SOURCE_VAR}={value} does not contain {CORE_DIR}/pyproject.toml and "
        f"{RUNTIME_DIR}/pyproject.toml, nor {CORE_DIST} and {RUNTIME_DIST} wheels",
        f"set {RUNTIME_SOURCE_VAR} to {SOURCE_CHOICES}; or unset it to use the wheels bundled with "
        "airflow-isolation-cli",
    )


def find_runtime_source() -> RuntimeSource:
    explicit = os.environ.get(RUNTIME_SOURCE_VAR)
    if explicit:
        return explicit_source(explicit)
    if BUNDLED_DIR.is_dir() and holds_runtime_wheels(BUNDLED_DIR):
        return wheels_source(BUNDLED_DIR, "bundled")
    repo = monorepo_root()
    if repo is not None:
        return local_source(repo, "source checkout")
    raise CliError(
        f"no {RUNTIME_DIST} to install: this airflow-isolation-cli carries no bundled runtime wheels "
        f"({BUNDLED_DIR} is missing) and does not run from a source checkout",
        "install airflow-isolation-cli from its wheel (`hatch build -t wheel` in packages/isolation-cli "
        f"bundles core and runtime), or set {RUNTIME_SOURCE_VAR} to {SOURCE_CHOICES}",
    )
