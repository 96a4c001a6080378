"""Refusing a build when a package going into it does not support the target's Python.

uv's resolver ignores the upper bound of a package's ``Requires-Python`` (it locks
``apache-airflow==2.10.5``, whose ``Requires-Python`` excludes 3.13, for Python 3.13), and the lock
is installed with ``--no-deps``, which checks nothing more: such a build would succeed and then fail
at import. So every distribution a build installs is checked here against the target's exact
Python version, from its own metadata, nothing else fetched: an image's wheels as they lie on the
host (``METADATA`` read from the zip, before ``docker build``), a venv's distributions as its own
interpreter lists them (``importlib.metadata``), after the install and before the build is marked
complete.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from airflow_isolation.cli.errors import CliError, CommandFailed

_LIST_INSTALLED = (
    "import importlib.metadata as m, json; print(json.dumps([[d.metadata.get('Name'), d.version, "
    "d.metadata.get('Requires-Python')] for d in m.distributions()]))"
)
_NEAREST = 4
"""How many minor versions either side of the target's a suggested ``python`` may be."""


@dataclass(frozen=True)
class PythonTarget:
    """The exact Python a build is for, and the environment (and file) that asks for it."""

    name: str
    definition_file: Path
    python_version: str

    @property
    def minor(self) -> str:
        return ".".join(self.python_version.split(".")[:2])


@dataclass(frozen=True)
class Distribution:
    """A distribution's name, version and raw ``Requires-Python`` (``None`` when it declares none)."""

    name: str
    version: str
    requires_python: str | None


def wheel_distribution(wheel: Path) -> Distribution:
    """The wheel's own ``.dist-info/METADATA``, read from the zip (nothing is installed)."""
    hint = f"delete {wheel} (the next build fetches it again)"
    try:
        name = parse_wheel_filename(wheel.name)[0]
        with zipfile.ZipFile(wheel) as archive:
            candidates = [
                entry
                for entry in archive.namelist()
                if entry.count("/") == 1 and entry.endswith(".dist-info/METADATA")
            ]
            ours = [entry for entry in candidates if _dist_info_name(entry) == name] or candidates
            if not ours:
                raise CliError(f"the wheel {wheel} has no .dist-info/METADATA", hint)
            text = archive.read(ours[0]).decode("utf-8", errors="replace")
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise CliError(f"cannot read the metadata of the wheel {wheel}: {exc}", hint) from exc
    headers = HeaderParser().parsestr(text)
    return Distribution(
        str(headers.get("Name", name)), str(headers.get("Version", "")), headers.get("Requires-Python")
    )


def _dist_info_name(entry: str) -> str:
    return canonicalize_name(entry.split("/", 1)[0].rsplit("-", 1)[0])


def installed_distributions(python: Path) -> list[Distribution]:
    """What ``python``'s environment has installed, as ``importlib.metadata`` there reports it
    (``-I``: no user site or ``PYTHONPATH`` adding packages the build did not install)."""
    argv = [str(python), "-I", "-c", _LIST_INSTALLED]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CliError(f"listing the packages installed in {python} failed: {exc}") from exc
    if proc.returncode != 0:
        raise CommandFailed(f"listing the packages installed in {python}", argv, proc.returncode, proc.stderr)
    try:
        rows = json.loads(proc.stdout)
    except ValueError as exc:
        raise CliError(f"{python} listed its installed packages unreadably: {proc.stdout[:200]!r}") from exc
    return [Distribution(str(name), str(version), requires) for name, version, requires in rows]


def supports(requires_python: str | None, python_version: str) -> bool:
    """Whether ``Requires-Python`` admits ``python_version``; an unparsable one is not held against
    the package (pip ignores it too), and a pre-release interpreter counts as its release."""
    if not requires_python or not requires_python.strip():
        return True
    try:
        specifier = SpecifierSet(requires_python)
        version = Version(Version(python_version).base_version)
    except (InvalidSpecifier, InvalidVersion):
        return True
    return specifier.contains(version, prereleases=True)


def unsupported(distributions: Iterable[Distribution], python_version: str) -> list[Distribution]:
    """The distributions whose ``Requires-Python`` excludes ``python_version``, sorted, once each."""
    refused = {
        (canonicalize_name(dist.name), dist.version): dist
        for dist in distributions
        if not supports(dist.requires_python, python_version)
    }
    return [refused[key] for key in sorted(refused)]


def check_requires_python(distributions: Iterable[Distribution], target: PythonTarget) -> None:
    """Raise :func:`refusal` if any of ``distributions`` does not support the target's Python."""
    refused = unsupported(distributions, target.python_version)
    if refused:
        raise refusal(refused, target)


def refusal(refused: list[Distribution], target: PythonTarget) -> CliError:
    """The error naming what excludes the target's Python, the environment asking for it, and a fix."""
    where = (
        f"environment {target.name!r} ({target.definition_file}) builds for Python {target.python_version}"
    )
    other = suggest_python(refused, target.python_version)
    change = f'set python = "{other}" there, or ' if other else ""
    if len(refused) == 1:
        (dist,) = refused
        return CliError(
            f"{dist.name} {dist.version} requires Python {dist.requires_python} (its Requires-Python), "
            f"but {where}",
            f"{change}require a version of {dist.name} that supports Python {target.minor}",
        )
    return CliError(
        f"{len(refused)} packages exclude Python {target.python_version} in their Requires-Python, "
        f"but {where}",
        f"{change}require versions of {', '.join(dist.name for dist in refused)} that support Python "
        f"{target.minor}",
        details=[f"{dist.name} {dist.version} requires Python {dist.requires_python}" for dist in refused],
        details_title="packages and their Requires-Python:",
    )


def suggest_python(refused: list[Distribution], python_version: str) -> str | None:
    """The ``X.Y`` nearest the target's (older first) that every refused package supports."""
    try:
        major, minor = (int(part) for part in python_version.split(".")[:2])
    except ValueError:
        return None
    nearest = sorted(
        (candidate for candidate in range(minor - _NEAREST, minor + _NEAREST + 1) if candidate != minor),
        key=lambda candidate: (abs(candidate - minor), candidate),
    )
    for candidate in nearest:
        if candidate >= 0 and all(supports(dist.requires_python, f"{major}.{candidate}") for dist in refused):
            return f"{major}.{candidate}"
    return None
