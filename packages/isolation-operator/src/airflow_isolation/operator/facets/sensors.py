"""A wrapped sensor: its timeout counted from its first poke, and its reschedule applied by the host.

What the scheduler reads of a sensor (``_is_sensor``, ``reschedule``, the sensor's arguments) is set
on the wrapper when the DAG is parsed (``parse/sensor_traits.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict

from airflow_isolation.core import IsolationRequest, IsolationResult
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.operator import airflow_compat
from airflow_isolation.operator.facets.base import Fields, HostFacet, HostTask


class Sensors(HostFacet):
    facet: ClassVar[Facet] = BY_NAME["sensors"]

    def needed(self, task: HostTask, request: IsolationRequest) -> bool:
        return task.sensor

    def context_fields(self, task: HostTask) -> Fields:
        """A sensor in reschedule mode counts its timeout from its first try, as natively."""
        first = airflow_compat.first_try_start(task.context, task.retries) if task.reschedule else None
        return {
            "first_reschedule_date": first,
            "run_after": getattr(task.context.get("dag_run"), "run_after", None),
        }

    def failed(self, operator: Any, context: Dict[str, Any], result: IsolationResult) -> None:
        error = result.error
        if error is None or error.type.rpartition(".")[2] != "AirflowRescheduleException":
            return
        if result.reschedule_date is not None:
            operator.log.info("The isolated sensor is rescheduled to %s", result.reschedule_date.isoformat())
            raise airflow_compat.host_exception("AirflowRescheduleException")(result.reschedule_date)
