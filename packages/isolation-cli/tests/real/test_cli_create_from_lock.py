"""``env create --from uv.lock``: the locked versions, pinned, and the venv they build."""

from __future__ import annotations

import subprocess
from pathlib import Path

import msgspec
import pytest
from cli_test_support import run_cli

from airflow_isolation.cli.resolve.uv_tool import find_uv


def definition(env_paths: dict[str, Path], name: str) -> dict[str, object]:
    return dict(msgspec.toml.decode((env_paths["environments"] / name / "environment.toml").read_bytes()))


@pytest.mark.skipif(find_uv() is None, reason="needs uv")
def test_from_uv_lock_pins_the_locked_versions(env_paths: dict[str, Path], tmp_path: Path) -> None:
    project = tmp_path / "locked"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "locked"\nversion = "1"\nrequires-python = ">=3.11"\ndependencies = ["six<1.17"]\n'
    )
    subprocess.run(["uv", "lock", "--project", str(project)], check=True, capture_output=True, timeout=300)

    result = run_cli("env", "create", "fromlock", "--from", str(project / "uv.lock"))

    assert result.exit_code == 0, result.output
    assert definition(env_paths, "fromlock")["requirements"] == ["six==1.16.0"]
    assert definition(env_paths, "fromlock")["python"] == "3.11"
    assert run_cli("env", "build", "fromlock").exit_code == 0
