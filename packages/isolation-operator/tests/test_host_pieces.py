from __future__ import annotations

import decimal
import logging
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from operator_docker_support import StubTaskInstance, task_context

from airflow_isolation.core import (
    SCHEMA_VERSION,
    CallableSpec,
    ErrorInfo,
    IsolationResult,
    decode_request,
    encode,
    encode_json,
)
from airflow_isolation.operator.backends.base import RunOutcome
from airflow_isolation.operator.backends.venv.backend import target_environment
from airflow_isolation.operator.operator import split_base_kwargs
from airflow_isolation.operator.request_builder import build_request, encode_request, implied_conn_ids
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


class _CountedDecimal(decimal.Decimal):
    """Counts how often the encoding walks it (lowering a Decimal reads its ``str``)."""

    walks = 0

    def __str__(self) -> str:
        type(self).walks += 1
        return super().__str__()


class _Upstream(StubTaskInstance):
    def __init__(self, xcoms: dict[str, Any]):
        super().__init__("dag", "me")
        self.xcoms = xcoms

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", **_: Any) -> Any:
        return self.xcoms[task_ids]


def test_upstream_xcoms_are_lowered_once_and_an_unsendable_one_is_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    context = task_context("dag", "me")
    context["ti"] = _Upstream({"good": {"total": _CountedDecimal("2.50")}, "bad": threading.Lock()})
    task = CallableSpec(name="f", source="def f(): pass")
    request = build_request(task, context, {"good", "bad"}, [], {})
    with caplog.at_level(logging.WARNING):
        payload = encode_request(request)
    assert _CountedDecimal.walks == 1, "an upstream XCom was lowered more than once"
    assert decode_request(payload).context.upstream_xcoms == {"good": {"total": decimal.Decimal("2.50")}}
    assert "Not shipping the XCom of upstream task 'bad'" in caplog.text
    assert "upstream_xcoms['bad']: cannot send a value of type _thread.lock" in caplog.text


def test_rendered_secrets_are_masked_in_the_target_and_no_other_secret_is_sent() -> None:
    from airflow_isolation.operator import compat
    from airflow_isolation.operator.request_builder import secrets_of

    compat.mask_secret("rendered-pw-81f2a", "password")
    compat.mask_secret("unrelated-pw-77c3b", "password")
    task = CallableSpec(
        name="f",
        source="def f(dsn, parts): pass",
        kwargs={"dsn": ["postgres://u:rendered-pw-81f2a@h"], "parts": ["unrelated-", "pw-77c3b"]},
    )  # the unrelated secret split over two strings is in none of them
    secrets = secrets_of([], {}, task)
    assert "rendered-pw-81f2a" in secrets
    assert "unrelated-pw-77c3b" not in secrets, "a secret the task was not given must not be shipped"
