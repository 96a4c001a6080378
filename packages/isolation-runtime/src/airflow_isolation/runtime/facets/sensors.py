"""Sensors in reschedule mode: when their first poke was, without the metadata database.

A sensor's ``timeout`` in reschedule mode counts from the start of its first try, which Airflow
reads from the task reschedules in the database: 3.x through ``ti.get_first_reschedule_date``
(answered on the task instance stand-in), 2.x through ``airflow.sensors.base._orig_start_date``,
replaced here. Both answer with the date the host shipped (``TaskContext.first_reschedule_date``),
or ``None``, which makes the sensor start counting now, as on its first try. A sensor that asks to
be rescheduled ends failed, with the date for the host (``IsolationResult.reschedule_date``).
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING, Any, ClassVar, Dict, Optional

from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.runtime.facets.base import TargetFacet
from airflow_isolation.runtime.task import airflow_compat
from airflow_isolation.runtime.task.outcome import is_a

if TYPE_CHECKING:
    from airflow_isolation.runtime.task.outcome import Outcome


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
    if not is_a(exc, "AirflowRescheduleException"):
        return None
    when = getattr(exc, "reschedule_date", None)
    return when if isinstance(when, dt.datetime) else None


class SensorsFacet(TargetFacet):
    """The first poke answered from the request; a reschedule's date collected from its exception.
    The dag run's ``run_after`` (Airflow 3.0+) is shipped with it: sensors count from it."""

    facet: ClassVar[Facet] = BY_NAME["sensors"]

    def install(self) -> None:
        ctx = self.run.request.context
        first = ctx.first_reschedule_date

        def get_first_reschedule_date(context: Any = None) -> Optional[dt.datetime]:
            return first

        object.__setattr__(self.run.context["ti"], "get_first_reschedule_date", get_first_reschedule_date)
        self.run.context["dag_run"].run_after = ctx.run_after or ctx.logical_date
        if self.run.operator is not None and self.run.airflow is not None:
            ship_first_reschedule_date(self.run.airflow, first)

    def native_state(self, exc: BaseException) -> Optional[str]:
        return "up_for_reschedule" if reschedule_date(exc) is not None else None

    def collect(self, outcome: Outcome) -> Dict[str, Any]:
        when = None if outcome.exception is None else reschedule_date(outcome.exception)
        if when is None:
            return {}
        self.run.log(f"sensor rescheduled to {when.isoformat()}")
        return {"reschedule_date": when}
