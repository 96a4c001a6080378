"""Mapping an ``IsolationResult`` back onto Airflow: XComs, branches, skips and failures."""

from __future__ import annotations

import signal
from typing import Any, Dict

from airflow_isolation.core import IsolationResult, decode_result, decode_result_json
from airflow_isolation.core.errors import IsolationError
from airflow_isolation.operator import compat
from airflow_isolation.operator.backends.base import RunOutcome
from airflow_isolation.operator.write_back import apply_variable_writes


class IsolatedTaskFailed(compat.AirflowException):
    """The task raised in the target; retries apply as for any failed task."""


class IsolatedTargetCrashed(compat.AirflowException):
    """The target process ended without writing a result (killed, out of memory, crashed)."""


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (SIGKILL: often the out-of-memory killer)" if -code == signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    if code == 137:
        return "exited with code 137 (killed, often out of memory)"
    return f"exited with code {code}"


def read_result(outcome: RunOutcome) -> IsolationResult:
    if outcome.result is None:
        tail = "\n".join(outcome.tail[-20:]) or "(no output)"
        if outcome.detail:
            raise IsolatedTargetCrashed(
                f"the isolated task ({outcome.where}) ended without writing a result: it "
                f"{outcome.detail}. Last output:\n{tail}"
            )
        raise IsolatedTargetCrashed(
            f"the isolated task ({outcome.where}) {_describe_exit(outcome.exit_code)} without writing a "
            f"result. Last output:\n{tail}"
        )
    try:
        if outcome.result_format == "json":
            return decode_result_json(outcome.result)
        return decode_result(outcome.result)
    except IsolationError as exc:
        raise IsolatedTargetCrashed(
            f"the isolated task ({outcome.where}) {_describe_exit(outcome.exit_code)} and left an "
            f"unreadable result: {exc}"
        ) from exc


def apply_result(operator: Any, context: Dict[str, Any], result: IsolationResult) -> Any:
    log = operator.log
    if result.status in ("success", "skipped"):
        for push in result.xcom_pushes:
            context["ti"].xcom_push(key=push.key, value=push.value)
    if result.status == "skipped":
        raise compat.AirflowSkipException(result.error.message if result.error else "skipped in the target")
    if result.status == "failed":
        error = result.error
        if error is None:
            raise IsolatedTaskFailed("the isolated task failed without an error report")
        log.error("The isolated task raised %s. Traceback from the target:\n%s", error.type, error.traceback)
        message = f"{error.type}: {error.message}"
        if error.type.endswith("AirflowFailException"):
            raise compat.AirflowFailException(message)
        raise IsolatedTaskFailed(message)
    apply_variable_writes(operator, result)
    if result.branch is not None:
        operator.do_branch(context, result.branch)
    return result.return_value
