"""Finding an existing interpreter that matches an environment's ``python = "3.11"`` request.

The interpreter's exact version enters the content hash, so it is always read from the
interpreter itself rather than trusted from a path or a directory name.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.resolve.uv_tool import find_uv, uv_env

_REQUEST = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
_RELEASE_DIR = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_PROBE = "import platform, sys; print(platform.python_version()); print(sys.executable)"


@dataclass(frozen=True)
class Interpreter:
    """A runnable Python, its real executable path and its exact ``X.Y.Z`` version."""

    path: Path
    version: str
    found_by: str


def parse_request(request: str) -> tuple[int, ...]:
    match = _REQUEST.match(request.strip())
    if not match:
        raise CliError(
            f"python = {request!r} is not a version like '3.11' or '3.11.7'",
            "fix the `python` key in environment.toml",
        )
    return tuple(int(part) for part in match.groups() if part is not None)


def version_matches(request: str, version: str) -> bool:
    wanted = parse_request(request)
    try:
        actual = tuple(int(part) for part in version.split(".")[: len(wanted)])
    except ValueError:
        return False
    return actual == wanted


def probe(executable: Path, found_by: str) -> Interpreter | None:
    """Ask ``executable`` for its version and real path; ``None`` when it does not run."""
    try:
        proc = subprocess.run(
            [str(executable), "-c", _PROBE], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = proc.stdout.split()
    if proc.returncode != 0 or len(lines) < 2:
        return None
    return Interpreter(path=Path(lines[1]), version=lines[0], found_by=found_by)


def pyenv_roots() -> list[Path]:
    roots = []
    if os.environ.get("PYENV_ROOT"):
        roots.append(Path(os.environ["PYENV_ROOT"]) / "versions")
    roots.append(Path.home() / ".pyenv" / "versions")
    unique: list[Path] = []
    for root in roots:
        if root not in unique:
            unique.append(root)
    return unique


def _from_uv(request: str) -> Interpreter | None:
    uv = find_uv()
    if uv is None:
        return None
    try:
        proc = subprocess.run(
            [uv, "python", "find", "--system", request],
            capture_output=True,
            text=True,
            env=uv_env(),
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    return probe(Path(proc.stdout.strip().splitlines()[-1]), "uv python find")


def _from_pyenv(request: str) -> Interpreter | None:
    wanted = parse_request(request)
    candidates: list[tuple[tuple[int, ...], Path]] = []
    for root in pyenv_roots():
        if not root.is_dir():
            continue
        for entry in root.iterdir():
            match = _RELEASE_DIR.match(entry.name)
            if not match:
                continue
            release = tuple(int(part) for part in match.groups())
            if release[: len(wanted)] == wanted:
                candidates.append((release, entry))
    for _release, entry in sorted(candidates, reverse=True):
        for name in (f"python{entry.name.rsplit('.', 1)[0]}", "python3", "python"):
            executable = entry / "bin" / name
            if executable.is_file():
                found = probe(executable, f"pyenv ({entry.parent})")
                if found is not None and version_matches(request, found.version):
                    return found
                break
    return None


def find_python(request: str, explicit: Path | None = None) -> Interpreter:
    """The interpreter for ``request``: ``explicit`` if given, else uv's discovery, else pyenv."""
    parse_request(request)
    if explicit is not None:
        found = probe(explicit, "--python-path")
        if found is None:
            raise CliError(
                f"--python-path {explicit} is not a runnable Python interpreter",
                "pass the path of a python executable, e.g. /usr/bin/python3.11",
            )
        if not version_matches(request, found.version):
            raise CliError(
                f"--python-path {explicit} is Python {found.version} but the environment asks for "
                f"python = {request!r}",
                f"pass an interpreter of Python {request}, or change `python` in environment.toml",
            )
        return Interpreter(path=explicit.absolute(), version=found.version, found_by=found.found_by)
    for finder in (_from_uv, _from_pyenv):
        found = finder(request)
        if found is not None:
            return found
    searched = ", ".join(str(root) for root in pyenv_roots())
    uv_part = "`uv python find --system` (PATH and uv-managed Pythons, downloads disabled)"
    if find_uv() is None:
        uv_part = "uv (not installed, so PATH and uv-managed Pythons were not searched)"
    raise CliError(
        f"no Python {request} interpreter found: searched {uv_part} and pyenv versions in {searched}",
        f"install Python {request} (`uv python install {request}` or `pyenv install {request}`), "
        "or pass --python-path /path/to/python",
    )
