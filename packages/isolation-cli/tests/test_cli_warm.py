"""``isolationctl env warm``: what it refuses, and where its idle time comes from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_test_support import run_cli

from airflow_isolation.workspace.settings_table import WARM_RUNTIME_IDLE_SECONDS


def test_env_warm_refuses_an_unbuilt_environment_and_name_with_all(env_paths: dict[str, Path]) -> None:
    assert run_cli("env", "create", "unbuilt").exit_code == 0
    result = run_cli("env", "warm", "unbuilt")
    assert result.exit_code == 1 and "isolationctl env build unbuilt" in result.stderr
    assert run_cli("env", "warm", "unbuilt", "--all").exit_code == 2
    assert run_cli("env", "warm", "--all").exit_code == 1


def test_the_idle_time_comes_from_airflow_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_isolation.cli.commands.env.warm import configured_idle_seconds

    monkeypatch.setenv("AIRFLOW__ISOLATION__WARM_RUNTIME_IDLE_SECONDS", "42")
    assert configured_idle_seconds() == 42.0
    monkeypatch.setenv("AIRFLOW__ISOLATION__WARM_RUNTIME_IDLE_SECONDS", "")
    monkeypatch.setenv("AIRFLOW_CONFIG", os.devnull)
    assert configured_idle_seconds() == WARM_RUNTIME_IDLE_SECONDS.default
