"""How the task ended (its outcome), and turning that into an ``IsolationResult``.

Exception classes are matched by name along the MRO, not imported: the same code must work with
Airflow 2, Airflow 3 or no Airflow at all.
"""

from __future__ import annotations

from typing import Any, List, NamedTuple, Optional

from airflow_isolation.core import SCHEMA_VERSION, ErrorInfo, IsolationResult, Timings


class Outcome(NamedTuple):
    """How the task ended, as every facet's ``collect`` reads it."""

    status: str
    """The result's: ``success``, ``failed`` or ``skipped``."""
    state: str
    """The task instance's state natively (``status``, or e.g. ``up_for_reschedule``)."""
    return_value: Any = None
    exception: Optional[BaseException] = None

    @property
    def succeeded(self) -> bool:
        return self.status == "success"


WRITE_BACK_HINT = (
    "An isolated task has no access to the Airflow metadata database or API server, so it cannot "
    "write Variables, Connections or query task state. Return a value or call "
    "context['ti'].xcom_push(...) instead; both are replayed on the host after the task ends. "
    'Variable.set is applied on the host after success when the task sets write_back=["xcom", '
    '"variables"].'
)


def _names(exc: BaseException) -> List[str]:
    return [cls.__name__ for cls in type(exc).__mro__]


def _qualified(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


def is_a(exc: BaseException, class_name: str) -> bool:
    """Whether ``exc`` is an instance of a class named ``class_name``, whichever Airflow defines it."""
    return class_name in _names(exc)


def is_skip(exc: BaseException) -> bool:
    return is_a(exc, "AirflowSkipException")


def _is_forbidden_write_back(exc: BaseException) -> bool:
    text = str(exc)
    return ("SUPERVISOR_COMMS" in text) or ("no such table" in text and "OperationalError" in _names(exc))


def error_info(exc: BaseException) -> ErrorInfo:
    import traceback  # only failures need it; a successful run never imports it

    message = str(exc) or type(exc).__name__
    if _is_forbidden_write_back(exc):
        message = f"{message}\n{WRITE_BACK_HINT}"
    return ErrorInfo(
        type=_qualified(exc),
        message=message,
        traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    )


def result(
    status: str,
    timings: Timings,
    *,
    return_value: Any = None,
    error: Optional[ErrorInfo] = None,
    airflow_version: Optional[str] = None,
    **facet_fields: Any,
) -> IsolationResult:
    """The result; ``facet_fields`` are what the facets collected (``core.facets`` names them)."""
    import platform

    return IsolationResult(
        schema=SCHEMA_VERSION,
        status=status,  # type: ignore[arg-type]
        return_value=return_value,
        error=error,
        timings=timings,
        target_airflow_version=airflow_version,
        target_python_version=platform.python_version(),
        **facet_fields,
    )
