"""What a wrapped sensor tells the scheduler, learnt when the DAG is parsed.

The scheduler never sees the wrapped operator, only the wrapper: whether a task in
``up_for_reschedule`` waits for its reschedule date is decided from the task's own flags. Airflow
2.10 reads the task's ``deps`` (a sensor's include ``ReadyToRescheduleDep``) and ``reschedule``;
Airflow 3 serializes ``_is_sensor``, which gives the scheduler's copy of the task that dependency,
and ``reschedule``. Without them a rescheduled wrapper would run again at once, not at its date.

The sensor's arguments are read from the wrapper's keyword arguments, with the defaults of the
sensor's constructors: the sensor itself is built only at run time, in the target.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Mapping, Optional

from airflow_isolation.operator import airflow_compat
from airflow_isolation.operator.parse.signature import init_signatures

SENSOR_ARGUMENTS = ("mode", "poke_interval", "timeout", "soft_fail", "exponential_backoff", "max_wait")
"""The arguments every Airflow sensor takes, shown on the wrapper as on a native sensor."""

_SECONDS = ("poke_interval", "timeout", "max_wait")
"""Arguments a native sensor keeps as seconds, whether given as a number or a timedelta."""


def is_sensor(cls: Optional[type], kwargs: Mapping[str, Any]) -> bool:
    """A sensor class, or, for a class the host cannot import, one given a sensor ``mode``."""
    if cls is None:
        return kwargs.get("mode") in ("poke", "reschedule")
    return issubclass(cls, airflow_compat.BaseSensorOperator)


def sensor_arguments(cls: Optional[type], kwargs: Mapping[str, Any]) -> Dict[str, Any]:
    """The sensor's ``SENSOR_ARGUMENTS`` as it will see them: those given, else its defaults."""
    defaults: Dict[str, Any] = {}
    for _klass, params in init_signatures(cls) if cls is not None else ():
        for name in SENSOR_ARGUMENTS:
            parameter = params.get(name)
            if name not in defaults and parameter is not None and parameter.default is not parameter.empty:
                defaults[name] = parameter.default
    found = {**defaults, **{name: kwargs[name] for name in SENSOR_ARGUMENTS if name in kwargs}}
    found.setdefault("mode", "poke")
    return {name: _as_seconds(value) if name in _SECONDS else value for name, value in found.items()}


def _as_seconds(value: Any) -> Any:
    return value.total_seconds() if isinstance(value, dt.timedelta) else value


def mark_as_sensor(operator: Any, arguments: Mapping[str, Any]) -> None:
    """Give ``operator`` the sensor's arguments and the flags the scheduler reads."""
    for name, value in arguments.items():
        setattr(operator, name, value)
    operator._is_sensor = True
    dependencies = airflow_compat.sensor_dependencies()
    if dependencies:
        operator.deps = operator.deps | dependencies


SERIALIZED_FIELDS = frozenset(
    {"reschedule", "_is_sensor"} if airflow_compat.AIRFLOW_MAJOR >= 3 else {"reschedule"}
)
"""What a native sensor adds to its serialized form (2.10 serializes ``deps`` for any operator
whose dependencies differ from ``BaseOperator``'s)."""
