from __future__ import annotations

import signal
from pathlib import Path

import pytest

from airflow_isolation.core import SCHEMA_VERSION, ErrorInfo, IsolationResult, encode, encode_json
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
    with pytest.raises(IsolatedTargetCrashed) as info:
        read_result(outcome)
    assert str(info.value).startswith(
        "the isolated task (venv /x) ended without writing a result: it was killed by SIGKILL "
        "(signal 9), which no task can catch: likely the kernel's out-of-memory killer"
    )
    assert "allocating\nmore" in str(info.value)


def test_other_signals_are_named() -> None:
    with pytest.raises(IsolatedTargetCrashed, match=r"it was killed by SIGSEGV \(signal 11\)\."):
        read_result(RunOutcome(None, -signal.SIGSEGV, [], "venv /x"))


@pytest.mark.parametrize("result_format", ["msgpack", "json"])
def test_truncated_result_is_reported(result_format: str) -> None:
    encoder = encode_json if result_format == "json" else encode
    whole = encoder(IsolationResult(schema=SCHEMA_VERSION, status="success", return_value="x" * 100))
    half = whole[: len(whole) // 2]
    with pytest.raises(IsolatedTargetCrashed) as info:
        read_result(RunOutcome(half, 0, ["writing"], "venv /x", result_format=result_format))
    message = str(info.value)
    head = f"the isolated task (venv /x) left a truncated or corrupt result ({len(half)} bytes of "
    head += f"{result_format}: "
    assert message.startswith(head)
    assert "Input data was truncated" in message
    assert (
        "; the target exited with code 0. The target exited before it finished writing the result" in message
    )
    assert message.endswith("Last output:\nwriting")


def test_memory_error_under_a_limit_names_it() -> None:
    error = ErrorInfo(type="builtins.MemoryError", message="MemoryError", traceback="...")
    failed = encode(IsolationResult(schema=SCHEMA_VERSION, status="failed", error=error))
    hint = "the venv backend's memory_limit of 64m caps the task's address space"
    result = read_result(RunOutcome(failed, 1, [], "venv /x", memory_hint=hint))
    assert result.error is not None and result.error.message == hint
    unlimited = read_result(RunOutcome(failed, 1, [], "venv /x"))
    assert unlimited.error is not None and unlimited.error.message == "MemoryError"
