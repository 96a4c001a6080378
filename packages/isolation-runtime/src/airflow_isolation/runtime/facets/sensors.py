"""Sensors in reschedule mode: when their first poke was, without the metadata database.

A sensor's ``timeout`` in reschedule mode counts from the start of its first try, which Airflow
reads from the task reschedules in the database: 3.x through ``ti.get_first_reschedule_date``
(answered by the isolated task instance), 2.x through ``airflow.sensors.base._orig_start_date``,
replaced here. Both answer with the date the host shipped (``TaskContext.first_reschedule_date``),
or ``None``, which makes the sensor start counting now, as on its first try.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any, Optional

from airflow_isolation.runtime.task import airflow_compat, outcome


def ship_first_reschedule_date(info: airflow_compat.AirflowInfo, first: Optional[dt.datetime]) -> None:
    """Airflow 2: answer ``_orig_start_date`` from the request (the module is imported when the
    operator is a sensor, which is the only case that asks)."""
    if info.major >= 3:
        return
    module: Any = sys.modules.get("airflow.sensors.base")
    if module is None or not hasattr(module, "_orig_start_date"):
        return

    def _orig_start_date(**_: Any) -> Optional[dt.datetime]:
        return first

    module._orig_start_date = _orig_start_date


def reschedule_date(exc: BaseException) -> Optional[dt.datetime]:
    """The date of an ``AirflowRescheduleException``, or None for any other exception."""
    if not outcome.is_a(exc, "AirflowRescheduleException"):
        return None
    when = getattr(exc, "reschedule_date", None)
    return when if isinstance(when, dt.datetime) else None
