"""Shared fixtures: isolated paths, a throwaway runtime source tree, a second Python.

Builds here install a minimal fake ``airflow-isolation-runtime`` next to a copy of the real
``isolation-core``: builds stay fast and a test can edit the runtime source to prove a rebuild
picks it up. integration-tests/ builds with the real runtime. Packages with a chosen
``Requires-Python`` come from a local find-links folder of tiny wheels made by the test.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from airflow_isolation.cli.resolve.python_finder import pyenv_roots

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli_test_support import PY38_AND_LATER, PY38_ONLY, make_runtime_source, make_wheel


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


@pytest.fixture
def bounded_wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A find-links folder holding ``PY38_ONLY`` and ``PY38_AND_LATER`` 1.0, given to uv (locks and
    venv installs) and to pip (an image's wheelhouse) on top of their usual index."""
    folder = tmp_path / "find-links"
    make_wheel(folder, PY38_ONLY, "1.0", ">=3.8,<3.9")
    make_wheel(folder, PY38_AND_LATER, "1.0", ">=3.8")
    monkeypatch.setenv("UV_FIND_LINKS", str(folder))
    pip_links = os.environ.get("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_FIND_LINKS", f"{pip_links} {folder}".strip())
    return folder
