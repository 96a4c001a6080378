"""Reading the target's ``IsolationResult`` (or why there is none) and applying it on the host."""

from __future__ import annotations

import signal
from typing import Any, Dict, NoReturn, Optional

import msgspec

from airflow_isolation.core import IsolationResult, decode_result, decode_result_json
from airflow_isolation.core.errors import IsolationError
from airflow_isolation.core.launch import EXIT_KILLED
from airflow_isolation.operator import airflow_compat
from airflow_isolation.operator.backends.base import TargetExit
from airflow_isolation.operator.facets import HOST_FACETS


class IsolatedTaskFailed(airflow_compat.AirflowException):
    """The task raised in the target; retries apply as for any failed task."""


class IsolatedTargetCrashed(airflow_compat.AirflowException):
    """The target process ended without writing a result (killed, out of memory, crashed)."""


def _describe_exit(code: int) -> str:
    if code == -signal.SIGKILL:
        return (
            "was killed by SIGKILL (signal 9), which no task can catch: likely the kernel's "
            "out-of-memory killer (check the worker's memory and `dmesg`) or an operator or "
            "supervisor killing the process"
        )
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "an unknown signal"
        return f"was killed by {name} (signal {-code})"
    if code == EXIT_KILLED:
        return f"exited with code {EXIT_KILLED} (killed with SIGKILL: often the out-of-memory killer)"
    return f"exited with code {code}"


def _last_output(ended: TargetExit) -> str:
    return "\n".join(ended.tail[-20:]) or "(no output)"


def _ran_out_of_memory(ended: TargetExit) -> bool:
    return any("MemoryError" in line for line in ended.tail)


def read_result(ended: TargetExit) -> IsolationResult:
    if ended.result is None:
        how = ended.detail or _describe_exit(ended.exit_code)
        hint = f" ({ended.memory_hint})" if ended.memory_hint and _ran_out_of_memory(ended) else ""
        raise IsolatedTargetCrashed(
            f"the isolated task ({ended.where}) ended without writing a result: it {how}{hint}. "
            f"Last output:\n{_last_output(ended)}"
        )
    try:
        if ended.result_format == "json":
            result = decode_result_json(ended.result)
        else:
            result = decode_result(ended.result)
    except IsolationError as exc:
        if not isinstance(exc.__cause__, msgspec.MsgspecError):
            raise IsolatedTargetCrashed(
                f"the isolated task ({ended.where}) left a result the host cannot read: {exc}"
            ) from exc
        raise IsolatedTargetCrashed(
            f"the isolated task ({ended.where}) left a truncated or corrupt result "
            f"({len(ended.result)} bytes of {ended.result_format}: {exc.__cause__}); the target "
            f"{_describe_exit(ended.exit_code)}. The target exited before it finished writing the result "
            "file, or its own code wrote to that file (the runtime writes it atomically). Last output:\n"
            f"{_last_output(ended)}"
        ) from exc
    return _with_memory_hint(result, ended.memory_hint)


def _with_memory_hint(result: IsolationResult, hint: Optional[str]) -> IsolationResult:
    """A ``MemoryError`` under a limit the backend set names that limit and how to raise it."""
    error = result.error
    if hint is None or error is None or error.type.rpartition(".")[2] != "MemoryError":
        return result
    message = f"{error.message} ({hint})" if error.message != "MemoryError" else hint
    return msgspec.structs.replace(result, error=msgspec.structs.replace(error, message=message))


def apply_result(operator: Any, context: Dict[str, Any], result: IsolationResult) -> Any:
    """Apply the target's outcome as the host's Airflow applies a native task's: each facet applies
    its fields (``facets/``), first what holds whatever the outcome, then, by the outcome, what
    explains a failure or what a success leaves."""
    for host in HOST_FACETS:
        host.ended(operator, context, result)
    if result.status == "skipped":
        raise airflow_compat.AirflowSkipException(
            result.error.message if result.error else "skipped in the target"
        )
    if result.status == "failed":
        for host in HOST_FACETS:
            host.failed(operator, context, result)
        _raise_failure(operator.log, result)
    for host in HOST_FACETS:
        host.succeeded(operator, context, result)
    return result.return_value


def _raise_failure(log: Any, result: IsolationResult) -> NoReturn:
    error = result.error
    if error is None:
        raise IsolatedTaskFailed("the isolated task failed without an error report")
    kind = error.type.rpartition(".")[2]
    log.error("The isolated task raised %s. Traceback from the target:\n%s", error.type, error.traceback)
    message = f"{error.type}: {error.message}"
    if kind == "AirflowFailException":
        raise airflow_compat.AirflowFailException(message)
    if kind == "AirflowSensorTimeout":  # fails without retries, as natively
        raise airflow_compat.host_exception("AirflowSensorTimeout")(message)
    raise IsolatedTaskFailed(message)
