"""Where the CLI finds environments and builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_isolation.cli.settings import resolve_settings


def test_settings_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH", str(tmp_path / "from-env"))
    monkeypatch.setenv("AIRFLOW__ISOLATION__BUILD_PATH", str(tmp_path / "build-env"))

    from_env = resolve_settings()
    assert from_env.environments_path == tmp_path / "from-env"
    assert from_env.build_path == tmp_path / "build-env"
    assert from_env.path_args == ""

    explicit = resolve_settings(tmp_path / "opt", tmp_path / "build-opt")
    assert explicit.environments_path == tmp_path / "opt"
    assert explicit.build_path == tmp_path / "build-opt"
    assert explicit.path_args == f" -p {tmp_path / 'opt'}"

    monkeypatch.delenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH")
    monkeypatch.delenv("AIRFLOW__ISOLATION__BUILD_PATH")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONFIG", str(tmp_path / "no-airflow.cfg"))
    monkeypatch.chdir(tmp_path)
    default = resolve_settings()
    assert default.environments_path == tmp_path / "environments"
    assert default.build_path == tmp_path / "cache" / "airflow-isolation"
