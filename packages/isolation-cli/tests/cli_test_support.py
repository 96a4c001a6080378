"""Helpers the CLI tests import (conftest puts this folder on sys.path)."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner, Result

from airflow_isolation.cli.main import app


def run_cli(*args: str) -> Result:
    """Invoke ``isolationctl`` in-process with stdout and stderr kept apart (old and new typer)."""
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()
    return runner.invoke(app, list(args), catch_exceptions=False)


REPO_PACKAGES = Path(__file__).resolve().parents[2]
REAL_CORE = REPO_PACKAGES / "isolation-core"

FAKE_RUNTIME_PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "airflow-isolation-runtime"
version = "0.1.0"
requires-python = ">=3.9"
dependencies = ["airflow-isolation-core", "msgspec>=0.18.6"]

[tool.hatch.build.targets.wheel]
packages = ["src/airflow_isolation"]
"""


def make_runtime_source(root: Path) -> Path:
    """``root`` holding a copy of the real core and a minimal fake runtime package."""
    shutil.copytree(
        REAL_CORE,
        root / "isolation-core",
        ignore=shutil.ignore_patterns("tests", "__pycache__", "*.pyc", "*.egg-info", ".*"),
    )
    runtime = root / "isolation-runtime"
    module = runtime / "src" / "airflow_isolation" / "runtime"
    module.mkdir(parents=True)
    (runtime / "pyproject.toml").write_text(FAKE_RUNTIME_PYPROJECT)
    (module / "__init__.py").write_text('MARK = "original"\n')
    return root
