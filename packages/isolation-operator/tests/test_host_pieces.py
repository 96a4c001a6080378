from __future__ import annotations

import signal
from pathlib import Path

import pytest

from airflow_isolation.operator.backends.base import RunOutcome
from airflow_isolation.operator.backends.venv import target_environment
from airflow_isolation.operator.operator import split_base_kwargs
from airflow_isolation.operator.request_builder import implied_conn_ids
from airflow_isolation.operator.result_handler import IsolatedTargetCrashed, read_result


def test_base_operator_kwargs_stay_on_the_host() -> None:
    base, inner = split_base_kwargs(
        {"task_id": "t", "retries": 2, "pool": "p", "bash_command": "ls", "env": {}}
    )
    assert base == {"task_id": "t", "retries": 2, "pool": "p"}
    assert inner == {"bash_command": "ls", "env": {}}


def test_conn_ids_from_kwargs_and_defaults() -> None:
    class WithDefault:
        def __init__(self, *, postgres_conn_id: str = "postgres_default", other: int = 1) -> None: ...

    assert implied_conn_ids(WithDefault, {"aws_conn_id": "aws"}) == ["aws", "postgres_default"]
    assert implied_conn_ids(WithDefault, {"postgres_conn_id": "mine"}) == ["mine"]
    assert implied_conn_ids(None, {"conn_id": "x", "label": "y"}) == ["x"]


def test_target_environment_drops_airflow_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DB", "postgres://u:secret@h")
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://u:secret@h/db")
    monkeypatch.setenv("AIRFLOW_VAR_TOKEN", "secret")
    monkeypatch.setenv("PYTHONPATH", "/host/site-packages")
    monkeypatch.setenv("MY_SETTING", "kept")
    env = target_environment(tmp_path / "venv", tmp_path / "home")
    assert not any(k.startswith("AIRFLOW_") and k != "AIRFLOW_HOME" for k in env)
    assert "secret" not in "".join(env.values())
    assert env["AIRFLOW_HOME"] == str(tmp_path / "home")
    assert env["PATH"].split(":")[0] == str(tmp_path / "venv" / "bin")
    assert env["MY_SETTING"] == "kept" and "PYTHONPATH" not in env


def test_crash_without_result_names_signal_and_output() -> None:
    outcome = RunOutcome(None, -signal.SIGKILL, ["allocating", "more"], "venv /x")
    with pytest.raises(IsolatedTargetCrashed, match=r"SIGKILL.*out-of-memory") as info:
        read_result(outcome)
    assert "allocating\nmore" in str(info.value)


def test_truncated_result_is_reported() -> None:
    with pytest.raises(IsolatedTargetCrashed, match="unreadable result"):
        read_result(RunOutcome(b"\x85\xa6schema", 0, [], "venv /x"))
