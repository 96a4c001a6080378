"""Fixtures of the tests that build real venvs and images."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest
from cli_test_support import REPO_PACKAGES
from real_components import missing

SCHEMA_FILE = "packages/isolation-core/src/airflow_isolation/core/schema.py"
FIRST_AFTER_1_1 = "SCHEMA_VERSION = SchemaVersion(1, 2)"


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(REPO_PACKAGES.parent), *args], capture_output=True, check=False)


@pytest.fixture(scope="session")
def runtime_1_1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``packages/`` (core and runtime) of the last commit whose core spoke schema 1.1 (the previous
    release's), taken with ``git archive`` so no worktree is left behind."""
    introduced = _git("log", "--reverse", "--format=%H", "-S", FIRST_AFTER_1_1, "--", SCHEMA_FILE)
    commits = introduced.stdout.decode().split()
    if introduced.returncode != 0 or not commits:
        missing("the repository's history back to schema 1.1 (a full git clone)")
    archive = _git("archive", f"{commits[0]}^", "packages/isolation-core", "packages/isolation-runtime")
    if archive.returncode != 0:
        missing(f"the commit before {commits[0][:12]} (a full git clone)")
    root = tmp_path_factory.mktemp("runtime-1.1")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(root, filter="data")
    assert "SchemaVersion(1, 1)" in (root / SCHEMA_FILE).read_text()
    return root / "packages"
