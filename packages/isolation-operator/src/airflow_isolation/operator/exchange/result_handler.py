"""Mapping an ``IsolationResult`` back onto Airflow: XComs, branches, skips and failures."""

from __future__ import annotations

import signal
from typing import Any, Dict, List, NoReturn, Optional

import msgspec

from airflow_isolation.core import IsolationResult, decode_result, decode_result_json
from airflow_isolation.core.errors import IsolationError
from airflow_isolation.core.launch import EXIT_KILLED
from airflow_isolation.operator import airflow_compat
from airflow_isolation.operator.facets.assets import apply_outlet_events
from airflow_isolation.operator.backends.base import RunOutcome
from airflow_isolation.operator.facets.write_back import apply_variable_writes


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


def _last_output(outcome: RunOutcome) -> str:
    return "\n".join(outcome.tail[-20:]) or "(no output)"


def _ran_out_of_memory(outcome: RunOutcome) -> bool:
    return any("MemoryError" in line for line in outcome.tail)


def read_result(outcome: RunOutcome) -> IsolationResult:
    if outcome.result is None:
        how = outcome.detail or _describe_exit(outcome.exit_code)
        hint = f" ({outcome.memory_hint})" if outcome.memory_hint and _ran_out_of_memory(outcome) else ""
        raise IsolatedTargetCrashed(
            f"the isolated task ({outcome.where}) ended without writing a result: it {how}{hint}. "
            f"Last output:\n{_last_output(outcome)}"
        )
    try:
        if outcome.result_format == "json":
            result = decode_result_json(outcome.result)
        else:
            result = decode_result(outcome.result)
    except IsolationError as exc:
        if not isinstance(exc.__cause__, msgspec.MsgspecError):
            raise IsolatedTargetCrashed(
                f"the isolated task ({outcome.where}) left a result the host cannot read: {exc}"
            ) from exc
        raise IsolatedTargetCrashed(
            f"the isolated task ({outcome.where}) left a truncated or corrupt result "
            f"({len(outcome.result)} bytes of {outcome.result_format}: {exc.__cause__}); the target "
            f"{_describe_exit(outcome.exit_code)}. The target exited before it finished writing the result "
            "file, or its own code wrote to that file (the runtime writes it atomically). Last output:\n"
            f"{_last_output(outcome)}"
        ) from exc
    return _with_memory_hint(result, outcome.memory_hint)


def _with_memory_hint(result: IsolationResult, hint: Optional[str]) -> IsolationResult:
    """A ``MemoryError`` under a limit the backend set names that limit and how to raise it."""
    error = result.error
    if hint is None or error is None or error.type.rpartition(".")[2] != "MemoryError":
        return result
    message = f"{error.message} ({hint})" if error.message != "MemoryError" else hint
    return msgspec.structs.replace(result, error=msgspec.structs.replace(error, message=message))


def apply_result(operator: Any, context: Dict[str, Any], result: IsolationResult) -> Any:
    """Apply the target's outcome as the host's Airflow applies a native task's.

    XComs are replayed whatever the outcome (Airflow keeps what a failing task pushed); a sensor's
    reschedule and timeout are raised as the host's own exceptions; downstream skips go through
    the host's ``SkipMixin.skip``; the outlet events the task recorded are recorded in the host's
    context after success, where the host's task runner emits them as a native task's.
    """
    log = operator.log
    for push in result.xcom_pushes:
        context["ti"].xcom_push(key=push.key, value=push.value)
    if result.status == "skipped":
        raise airflow_compat.AirflowSkipException(result.error.message if result.error else "skipped in the target")
    if result.status == "failed":
        _raise_failure(log, result)
    apply_variable_writes(operator, result)
    apply_outlet_events(operator, context, result.outlet_events)
    if result.branch is not None:
        operator.do_branch(context, result.branch)
    if result.skip_downstream:
        skip_downstream(operator, context, result.skip_downstream)
    return result.return_value


def _raise_failure(log: Any, result: IsolationResult) -> NoReturn:
    error = result.error
    if error is None:
        raise IsolatedTaskFailed("the isolated task failed without an error report")
    kind = error.type.rpartition(".")[2]
    if kind == "AirflowRescheduleException" and result.reschedule_date is not None:
        log.info("The isolated sensor is rescheduled to %s", result.reschedule_date.isoformat())
        raise _host_exception("AirflowRescheduleException")(result.reschedule_date)
    log.error("The isolated task raised %s. Traceback from the target:\n%s", error.type, error.traceback)
    message = f"{error.type}: {error.message}"
    if kind == "AirflowFailException":
        raise airflow_compat.AirflowFailException(message)
    if kind == "AirflowSensorTimeout":  # fails without retries, as natively
        raise _host_exception("AirflowSensorTimeout")(message)
    raise IsolatedTaskFailed(message)


def _host_exception(name: str) -> Any:
    """The class the host's task runner handles (3.x: the task SDK's, 2.x: ``airflow.exceptions``)."""
    if airflow_compat.AIRFLOW_MAJOR >= 3:
        try:
            from airflow.sdk import exceptions as sdk_exceptions

            return getattr(sdk_exceptions, name)
        except (ImportError, AttributeError):
            pass
    import airflow.exceptions

    return getattr(airflow.exceptions, name)


def skip_downstream(operator: Any, context: Dict[str, Any], task_ids: List[str]) -> None:
    """Skip what the task skipped in the target, with the host's ``SkipMixin.skip``: on Airflow 3
    it raises ``DownstreamTasksSkipped`` for the task runner (the task succeeds, without a return
    value, as natively); on Airflow 2 it writes the states to the database and the task goes on."""
    dag = operator.dag
    tasks = [dag.get_task(task_id) for task_id in task_ids if dag.has_task(task_id)]
    if not tasks:
        return
    ti = context["ti"]
    if airflow_compat.AIRFLOW_MAJOR >= 3:
        operator.skip(ti=ti, tasks=tasks)
        return
    dag_run = context["dag_run"]
    operator.skip(dag_run=dag_run, execution_date=dag_run.execution_date, tasks=tasks, map_index=ti.map_index)
