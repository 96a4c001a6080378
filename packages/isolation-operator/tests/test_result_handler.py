"""Reading the target's result on the host (crashes, signals, truncated results, memory limits) and
applying it as the host's Airflow applies a native task's outcome."""

from __future__ import annotations

import datetime as dt
import signal
from typing import Any, List, Optional

import pytest
from operator_docker_support import task_context

from airflow_isolation.core import SCHEMA_VERSION, ErrorInfo, IsolationResult, XComPush, encode, encode_json
from airflow_isolation.operator import IsolatedOperator
from airflow_isolation.operator.backends.base import TargetExit
from airflow_isolation.operator.exchange.result_handler import (
    IsolatedTargetCrashed,
    IsolatedTaskFailed,
    apply_result,
    read_result,
)


def returns_nothing() -> None:
    return None


def _result(status: str = "success", **fields: Any) -> IsolationResult:
    return IsolationResult(schema=SCHEMA_VERSION, status=status, **fields)  # type: ignore[arg-type]


def _error(kind: str, message: str = "boom") -> ErrorInfo:
    return ErrorInfo(type=kind, message=message, traceback="Traceback: ...")


def _dag_with_short_circuit() -> IsolatedOperator:
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    with DAG("skips", schedule=None, start_date=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)):
        gate = IsolatedOperator(task_id="gate", environment="plain", python_callable=returns_nothing)
        gate >> EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    return gate


def test_xcoms_pushed_before_a_failure_are_kept() -> None:
    gate = _dag_with_short_circuit()
    context = task_context("skips", "gate")
    result = _result("failed", xcom_pushes=[XComPush("progress", 41)], error=_error("builtins.ValueError"))
    with pytest.raises(IsolatedTaskFailed, match="ValueError: boom"):
        apply_result(gate, context, result)
    assert context["ti"].pushed == {"progress": 41}


def test_skipped_downstream_tasks_go_through_the_hosts_skip() -> None:
    """Airflow 3 (this host): ``SkipMixin.skip`` raises ``DownstreamTasksSkipped`` for the task runner."""
    from airflow.sdk.exceptions import DownstreamTasksSkipped

    gate = _dag_with_short_circuit()
    context = task_context("skips", "gate")
    with pytest.raises(DownstreamTasksSkipped) as info:
        apply_result(gate, context, _result(return_value=False, skip_downstream=["a", "b", "gone"]))
    assert info.value.tasks == ["a", "b"]  # a task no longer in the host's DAG is left out
    assert context["ti"].pushed == {"skipmixin_key": {"skipped": ["a", "b"]}}


def test_a_mapped_task_records_its_skips_for_the_scheduler_only() -> None:
    gate = _dag_with_short_circuit()
    context = task_context("skips", "gate", map_index=1)
    assert apply_result(gate, context, _result(return_value=False, skip_downstream=["a"])) is False
    assert context["ti"].pushed == {"skipmixin_key": {"skipped": ["a"]}}


@pytest.mark.parametrize("skip", [None, []])
def test_nothing_to_skip(skip: Optional[List[str]]) -> None:
    gate = _dag_with_short_circuit()
    result = _result(return_value=7, skip_downstream=skip)
    assert apply_result(gate, task_context("skips", "gate"), result) == 7


def test_a_rescheduled_sensor_is_rescheduled_on_the_host() -> None:
    from airflow.sdk.exceptions import AirflowRescheduleException

    when = dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    error = _error("airflow.sdk.exceptions.AirflowRescheduleException")
    result = _result("failed", error=error, reschedule_date=when)
    with pytest.raises(AirflowRescheduleException) as info:
        apply_result(_dag_with_short_circuit(), task_context("skips", "gate"), result)
    assert info.value.reschedule_date == when


def test_a_sensor_timeout_fails_without_retries() -> None:
    from airflow.sdk.exceptions import AirflowSensorTimeout

    error = _error("airflow.sdk.exceptions.AirflowSensorTimeout", "Sensor has timed out")
    with pytest.raises(AirflowSensorTimeout, match="Sensor has timed out"):
        apply_result(_dag_with_short_circuit(), task_context("skips", "gate"), _result("failed", error=error))


def test_crash_without_result_names_signal_and_output() -> None:
    outcome = TargetExit(None, -signal.SIGKILL, ["allocating", "more"], "venv /x")
    with pytest.raises(IsolatedTargetCrashed) as info:
        read_result(outcome)
    assert str(info.value).startswith(
        "the isolated task (venv /x) ended without writing a result: it was killed by SIGKILL "
        "(signal 9), which no task can catch: likely the kernel's out-of-memory killer"
    )
    assert "allocating\nmore" in str(info.value)


def test_other_signals_are_named() -> None:
    with pytest.raises(IsolatedTargetCrashed, match=r"it was killed by SIGSEGV \(signal 11\)\."):
        read_result(TargetExit(None, -signal.SIGSEGV, [], "venv /x"))


@pytest.mark.parametrize("result_format", ["msgpack", "json"])
def test_truncated_result_is_reported(result_format: str) -> None:
    encoder = encode_json if result_format == "json" else encode
    whole = encoder(IsolationResult(schema=SCHEMA_VERSION, status="success", return_value="x" * 100))
    half = whole[: len(whole) // 2]
    with pytest.raises(IsolatedTargetCrashed) as info:
        read_result(TargetExit(half, 0, ["writing"], "venv /x", result_format=result_format))
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
    result = read_result(TargetExit(failed, 1, [], "venv /x", memory_hint=hint))
    assert result.error is not None and result.error.message == hint
    unlimited = read_result(TargetExit(failed, 1, [], "venv /x"))
    assert unlimited.error is not None and unlimited.error.message == "MemoryError"
