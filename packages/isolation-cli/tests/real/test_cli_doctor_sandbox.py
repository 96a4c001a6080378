"""``doctor``'s venv sandbox line on this machine, with the sandbox possible and with user
namespaces forbidden (a user namespace whose limit of further ones is 0, as a kernel or a worker's
container forbids them)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Dict

import pytest
from real_components import missing

from airflow_isolation.workspace.sandbox import availability

FORBID_USER_NAMESPACES = 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"'


@pytest.fixture(autouse=True)
def _bubblewrap() -> None:
    if not availability().usable:
        missing(f"the venv sandbox on this machine ({availability().reason})")
    if shutil.which("unshare") is None:
        missing("unshare (util-linux)")


def _doctor(mode: str, *, forbidden: bool) -> subprocess.CompletedProcess[str]:
    env: Dict[str, str] = {**os.environ, "AIRFLOW__ISOLATION__VENV_SANDBOX": mode, "COLUMNS": "400"}
    command = [sys.executable, "-m", "airflow_isolation.cli", "doctor"]
    if forbidden:
        command = ["unshare", "--user", "--map-root-user", "sh", "-c", FORBID_USER_NAMESPACES, "sh", *command]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)


def _sandbox_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stdout.splitlines() if "venv sandbox" in line]
    assert lines, proc.stdout + proc.stderr
    return lines[0]


def test_doctor_says_venv_tasks_run_sandboxed_here() -> None:
    line = _sandbox_line(_doctor("auto", forbidden=False))
    assert "✓" in line and "venv tasks run sandboxed" in line and "bubblewrap" in line, line


def test_doctor_warns_where_auto_falls_back_and_fails_where_required_cannot_hold() -> None:
    auto = _doctor("auto", forbidden=True)
    line = _sandbox_line(auto)
    assert "run unsandboxed here" in line and "max_*_namespaces exceeded" in line, line
    assert "✗" not in line, "auto keeps tasks running: a warning, not a failure"

    required = _doctor("required", forbidden=True)
    assert required.returncode == 1
    line = _sandbox_line(required)
    assert "✗" in line and "every venv task fails here" in line, line
