"""Reading the target's result on the host: crashes, signals, truncated results, memory limits."""

from __future__ import annotations

import signal

import pytest

from airflow_isolation.core import SCHEMA_VERSION, ErrorInfo, IsolationResult, encode, encode_json
from airflow_isolation.operator.backends.base import RunOutcome
from airflow_isolation.operator.result_handler import IsolatedTargetCrashed, read_result


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
