"""Locating and running ``uv``, the only tool that creates venvs and resolves requirements.

Every call runs with Python downloads disabled: a build must use an interpreter that is already on
the machine (the one the definition names), never one fetched behind the user's back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from airflow_isolation.cli.errors import CliError, CommandFailed

UV_INSTALL_HINT = "install uv (`pip install uv` or https://docs.astral.sh/uv/getting-started/installation/)"


@lru_cache(maxsize=1)
def find_uv() -> str | None:
    """The uv executable: ``$UV`` if set, else PATH, else the binary shipped by the ``uv`` wheel."""
    explicit = os.environ.get("UV")
    if explicit and Path(explicit).is_file():
        return explicit
    on_path = shutil.which("uv")
    if on_path:
        return on_path
    try:
        from uv import find_uv_bin
    except ImportError:
        return None
    try:
        return str(find_uv_bin())
    except FileNotFoundError:
        return None


def require_uv() -> str:
    uv = find_uv()
    if uv is None:
        raise CliError("uv was not found on PATH (nor $UV, nor the `uv` Python package)", UV_INSTALL_HINT)
    return uv


def uv_env() -> dict[str, str]:
    env = dict(os.environ)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.pop("VIRTUAL_ENV", None)
    return env


def run_uv(args: Sequence[str], what: str, hint: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``uv <args>``; a non-zero exit becomes :class:`CommandFailed` carrying uv's stderr."""
    argv = [require_uv(), *args]
    proc = subprocess.run(argv, capture_output=True, text=True, env=uv_env(), check=False)
    if proc.returncode != 0:
        raise CommandFailed(what, argv, proc.returncode, proc.stderr or proc.stdout, hint)
    return proc


def uv_version() -> str:
    return run_uv(["--version"], "uv --version").stdout.strip()
