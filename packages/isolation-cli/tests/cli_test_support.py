"""Helpers the CLI tests import (conftest puts this folder on sys.path)."""

from __future__ import annotations

import base64
import hashlib
import shutil
import zipfile
from pathlib import Path

import msgspec
from typer.testing import CliRunner, Result

from airflow_isolation.cli.main import app
from airflow_isolation.workspace.environment import ImageManifest, definition_digest, image_manifest_path


def run_cli(*args: str) -> Result:
    """Invoke ``isolationctl`` in-process with stdout and stderr kept apart (old and new typer)."""
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()
    return runner.invoke(app, list(args), catch_exceptions=False)


PY38_ONLY = "isolation-test-py38-only"
"""A local wheel (the ``bounded_wheels`` fixture) whose Requires-Python, >=3.8,<3.9, excludes every
Python the tests build for."""
PY38_AND_LATER = "isolation-test-py38-and-later"
"""A local wheel (the ``bounded_wheels`` fixture) whose Requires-Python, >=3.8, admits them."""

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


def make_wheel(folder: Path, name: str, version: str, requires_python: str) -> Path:
    """A real, installable pure-Python wheel of ``name`` (one module) declaring ``requires_python``."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nRequires-Python: {requires_python}\n\n"
        ),
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: cli-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = [f"{path},sha256={_digest(text)},{len(text.encode())}" for path, text in files.items()]
    files[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def _digest(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()


def write_image_manifest(
    env_paths: dict[str, Path], name: str, pushed: list[str], runtime_schema: str = ""
) -> ImageManifest:
    """An image build as ``env list`` and ``doctor`` see it (a manifest); no image exists."""
    manifest = ImageManifest(
        name=name,
        content_hash="a" * 64,
        definition_digest=definition_digest(env_paths["environments"], name),
        image=f"airflow-isolation/{name}:{'a' * 24}",
        image_id="sha256:" + "b" * 64,
        base_image="isolation-base:bookworm",
        base_image_id="sha256:" + "c" * 64,
        python_version="3.11.2",
        runtime_version="0.1.0",
        platform="linux/amd64",
        built_at="2024-01-01T00:00:00+00:00",
        pushed=pushed,
        runtime_schema=runtime_schema,
    )
    path = image_manifest_path(env_paths["build"], name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.encode(manifest))
    return manifest
