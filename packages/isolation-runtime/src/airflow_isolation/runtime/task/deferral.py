"""Deferrable operators in the target: the trigger runs here, in its own event loop.

Natively ``TaskDeferred`` hands the trigger to the triggerer and the task resumes on a worker with
``resume_execution(next_method, next_kwargs + {"event": payload}, context)``. The target has no
triggerer, so it runs the trigger's ``run()`` itself until the first event, then resumes the same
operator instance the same way, as many times as it defers. The host sees a longer task. A trigger
that times out, fails or ends without an event resumes with ``next_method="__fail__"``, so the
operator raises what that Airflow version raises (``TaskDeferralTimeout`` on 3.x,
``TaskDeferralError`` on 2.x).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import traceback
from typing import Any, Callable, Dict, Optional, Tuple

from airflow_isolation.runtime.task import airflow_compat, execute_hooks, outcome

FAIL_METHOD = "__fail__"
_TASK_END_EVENTS = {"TaskSuccessEvent", "TaskFailedEvent", "TaskSkippedEvent"}


class TriggerTimedOut(Exception):
    """The deferral's ``timeout`` passed before the trigger sent an event."""


def is_deferral(exc: BaseException) -> bool:
    return outcome.is_a(exc, "TaskDeferred")


def run_operator(
    info: airflow_compat.AirflowInfo,
    operator: Any,
    context: Dict[str, Any],
    log: Callable[[str], None],
    resume_with: Optional[Tuple[str, Dict[str, Any]]] = None,
) -> Any:
    """``execute`` (or, when the host's Airflow ran the deferral, the method it resumes with), then
    run each trigger the operator defers to and resume it, until it returns.

    ``pre_execute`` runs before ``execute`` and before each resumption, ``post_execute`` once after
    the last, as natively (``execute_hooks``), where each resumption is a new run of the task."""
    step: Callable[[], Any] = (
        functools.partial(airflow_compat.execute_operator, info, operator, context)
        if resume_with is None
        else functools.partial(airflow_compat.resume_operator, info, operator, context, *resume_with)
    )
    while True:
        try:
            execute_hooks.pre_execute(info, operator, context)
            result = step()
        except BaseException as exc:  # TaskDeferred derives from BaseException
            if not is_deferral(exc):
                raise
            resume = wait_for_trigger(info, exc, context, log)
        else:
            execute_hooks.post_execute(info, operator, context, result)
            return result
        if resume is None:
            return None
        step = functools.partial(airflow_compat.resume_operator, info, operator, context, *resume)


def timeout_seconds(timeout: Any) -> Optional[float]:
    if timeout is None:
        return None
    if isinstance(timeout, dt.timedelta):
        return timeout.total_seconds()
    return float(timeout)


def wait_for_trigger(
    info: airflow_compat.AirflowInfo, deferred: Any, context: Dict[str, Any], log: Callable[[str], None]
) -> Optional[Tuple[str, Dict[str, Any]]]:
    """Run the deferral's trigger; return the method to resume with and its keyword arguments, or
    ``None`` when the trigger itself ended the task successfully."""
    trigger = deferred.trigger
    method = deferred.method_name
    kwargs: Dict[str, Any] = dict(deferred.kwargs or {})
    timeout = timeout_seconds(deferred.timeout)
    log(
        f"deferred to {type(trigger).__name__} (resume with {method}"
        + (f", timeout {timeout:g}s" if timeout is not None else "")
        + "): running the trigger in the target"
    )
    try:
        event = asyncio.run(_first_event(trigger, timeout))
    except TriggerTimedOut:
        log(f"the trigger did not fire within {timeout:g}s: the deferral timed out")
        return FAIL_METHOD, {"error": _timeout_reason(info)}
    except Exception as exc:
        log(f"the trigger failed: {type(exc).__name__}: {exc}")
        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
        return FAIL_METHOD, {"error": "Trigger failure", "traceback": lines}
    if event is None:
        log("the trigger ended without an event")
        return FAIL_METHOD, {"error": "Trigger failure: it ended without sending an event"}
    if type(event).__name__ in _TASK_END_EVENTS:
        _end_task(event, context, log)
        return None
    log(f"the trigger fired: resuming with {method}")
    kwargs["event"] = event.payload
    return method, kwargs


async def _first_event(trigger: Any, timeout: Optional[float]) -> Any:
    try:
        return await asyncio.wait_for(_run_until_event(trigger), timeout)
    except asyncio.TimeoutError:
        raise TriggerTimedOut() from None


async def _run_until_event(trigger: Any) -> Any:
    events = trigger.run()
    try:
        async for event in events:
            return event
        return None
    finally:
        await events.aclose()
        cleanup = getattr(trigger, "cleanup", None)
        if cleanup is not None:
            await cleanup()


def _timeout_reason(info: airflow_compat.AirflowInfo) -> str:
    """What the scheduler (2.x) or triggerer (3.x) puts in ``next_kwargs["error"]`` on timeout;
    3.x's ``resume_execution`` raises ``TaskDeferralTimeout`` for exactly this string."""
    return "Trigger timeout" if info.major >= 3 else "Trigger/execution timeout"


def _end_task(event: Any, context: Dict[str, Any], log: Callable[[str], None]) -> None:
    """A trigger that ends the task itself (``end_from_trigger``): its state is final and the
    operator is not resumed. Its XComs are pushed as the triggerer does."""
    for key, value in (getattr(event, "xcoms", None) or {}).items():
        context["ti"].xcom_push(key=key, value=value)
    kind = type(event).__name__
    log(f"the trigger ended the task ({kind})")
    if kind == "TaskSuccessEvent":
        return
    from airflow.exceptions import AirflowFailException, AirflowSkipException

    if kind == "TaskSkippedEvent":
        raise AirflowSkipException("the trigger ended the task as skipped")
    raise AirflowFailException("the trigger ended the task as failed")
