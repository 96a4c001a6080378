"""Shared fixtures: isolated paths, a throwaway runtime source tree, a second Python.

Builds here install a minimal fake ``airflow-isolation-runtime`` next to a copy of the real
``isolation-core``: builds stay fast and a test can edit the runtime source to prove a rebuild
picks it up. integration-tests/ builds with the real runtime.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from airflow_isolation.cli.python_finder import pyenv_roots

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli_test_support import make_runtime_source


@pytest.fixture
def runtime_source(tmp_path: Path) -> Path:
    return make_runtime_source(tmp_path / "runtime-src")


@pytest.fixture
def env_paths(tmp_path: Path, runtime_source: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Environments and build folders in ``tmp_path``, selected through the documented env vars."""
    environments = tmp_path / "environments"
    build = tmp_path / "build"
    monkeypatch.setenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH", str(environments))
    monkeypatch.setenv("AIRFLOW__ISOLATION__BUILD_PATH", str(build))
    monkeypatch.setenv("ISOLATION_RUNTIME_SOURCE", str(runtime_source))
    monkeypatch.setenv("COLUMNS", "200")
    return {"environments": environments, "build": build, "runtime": runtime_source}


def pyenv_python(minor: str) -> Path | None:
    for root in pyenv_roots():
        for candidate in sorted(root.glob(f"{minor}.*/bin/python{minor}")):
            if candidate.parent.parent.name.count(".") == 2:
                return candidate
    return None


@pytest.fixture
def python312() -> Path:
    """A pyenv Python 3.12 (uv's discovery does not see it here, so the pyenv fallback must)."""
    found = pyenv_python("3.12")
    if found is None:
        pytest.skip("no pyenv Python 3.12 on this machine")
    return found
