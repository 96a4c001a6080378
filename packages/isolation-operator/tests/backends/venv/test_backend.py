"""The venv backend's pieces that need no environment built."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_isolation.operator.backends.venv.backend import target_environment


def test_target_environment_drops_airflow_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DB", "postgres://u:s3cr3t-e1c9@h")
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://u:s3cr3t-e1c9@h/db")
    monkeypatch.setenv("AIRFLOW_VAR_TOKEN", "s3cr3t-e1c9")
    monkeypatch.setenv("PYTHONPATH", "/host/site-packages")
    monkeypatch.setenv("MY_SETTING", "kept")
    env = target_environment(tmp_path / "venv", tmp_path / "home")
    assert not any(k.startswith("AIRFLOW_") and k != "AIRFLOW_HOME" for k in env)
    assert "s3cr3t-e1c9" not in "".join(env.values())
    assert env["AIRFLOW_HOME"] == str(tmp_path / "home")
    assert env["PATH"].split(":")[0] == str(tmp_path / "venv" / "bin")
    assert env["MY_SETTING"] == "kept" and "PYTHONPATH" not in env
