"""``env run`` / ``env shell``: a command runs with exactly the environment a task gets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_test_support import run_cli

from airflow_isolation.core import launch
from airflow_isolation.workspace.environment import read_manifest

SHOW = (
    "import json, os, sys; print(json.dumps({'python': sys.executable, 'env': dict(os.environ)})); "
    "sys.exit(7)"
)


@pytest.fixture
def built(env_paths: dict[str, Path]) -> Path:
    assert run_cli("env", "create", "tiny", "-r", "six==1.16.0").exit_code == 0
    result = run_cli("env", "build", "tiny")
    assert result.exit_code == 0, result.output
    return Path(read_manifest(env_paths["build"], "tiny").venv_path)


def test_run_gets_the_tasks_interpreter_and_environment(
    built: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__SQL_ALCHEMY_CONN", "sqlite:////host.db")
    monkeypatch.setenv("PYTHONPATH", "/host/site-packages")

    result = run_cli("env", "run", "tiny", "--", "python", "-c", SHOW)

    assert result.exit_code == 7, "the command's exit code passes through"
    seen = json.loads(capfd.readouterr().out.strip().splitlines()[-1])
    assert Path(seen["python"]) == built / "bin" / "python"
    home = launch.venv_airflow_home(str(built))
    expected = launch.target_environment(os.environ, str(built), home)
    assert {key: seen["env"].get(key) for key in expected} == expected
    assert "AIRFLOW__CORE__SQL_ALCHEMY_CONN" not in seen["env"] and "PYTHONPATH" not in seen["env"]
    assert seen["env"]["AIRFLOW_HOME"] == home and Path(home).is_dir()


def test_shell_runs_the_users_shell(built: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shell = tmp_path / "fake-shell"
    shell.write_text('#!/bin/sh\necho "$VIRTUAL_ENV" > "$(dirname "$0")/seen"\nexit 4\n')
    shell.chmod(0o755)
    monkeypatch.setenv("SHELL", str(shell))

    assert run_cli("env", "shell", "tiny").exit_code == 4
    assert (tmp_path / "seen").read_text().strip() == str(built)
    assert run_cli("env", "run", "tiny").exit_code == 4, "no command: $SHELL"


def test_run_refuses_an_unbuilt_environment_and_a_missing_command(built: Path) -> None:
    assert run_cli("env", "create", "other", "-r", "six").exit_code == 0
    unbuilt = run_cli("env", "run", "other", "--", "python", "-V")
    assert unbuilt.exit_code == 1
    assert "isolationctl env build other --target venv" in unbuilt.stderr

    missing = run_cli("env", "run", "tiny", "--", "no-such-program-here")
    assert missing.exit_code == 127
    assert "cannot run 'no-such-program-here'" in missing.stderr
