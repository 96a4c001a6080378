"""``TriggerDagRunOperator``: the host's Airflow triggers the dag run, and waits for it, as natively.

Airflow 3's operator asks its task runner to create the run (``DagRunTriggerException``); the
target sends that request back (``IsolationResult.dag_run_trigger``) and the host raises the same
exception to its own task runner, which creates the run, pushes ``trigger_run_id``, and with
``wait_for_completion`` polls the run or defers to the triggerer (resumed in the target by the
``resumption`` facet). An Airflow 2 host has no such task runner: it refuses with the fix.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Dict, Optional

from airflow_isolation.core import IsolationRequest, IsolationResult
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.operator import airflow_compat
from airflow_isolation.operator.facets.base import HostFacet, HostTask
from airflow_isolation.operator.facets.branch import in_mro

CLASS_NAME = "TriggerDagRunOperator"

AIRFLOW2_HOST_REFUSED = (
    "{task_id}: the isolated TriggerDagRunOperator asks Airflow to trigger {dag_id}, which only an "
    "Airflow 3 host's task runner does for an isolated task (this host runs Airflow {version}). "
    "Run TriggerDagRunOperator natively: it needs no packages of its own."
)


SIGNAL_NAMES = {"run_after_date": "run_after"}
"""``DagRunTrigger`` fields whose ``DagRunTriggerException`` argument is spelt otherwise; the
arguments a host's Airflow does not know (``note`` before it existed) are left out."""


def refuse_on_an_airflow_2_host(wrapped_class: Optional[type], task_id: str) -> None:
    """When the DAG is parsed: an Airflow 2 host cannot trigger what an isolated
    ``TriggerDagRunOperator`` asks for, so it fails now rather than at run time."""
    if airflow_compat.AIRFLOW_MAJOR >= 3 or wrapped_class is None or not in_mro(wrapped_class, CLASS_NAME):
        return
    raise airflow_compat.AirflowException(
        AIRFLOW2_HOST_REFUSED.format(
            task_id=task_id, dag_id="a dag run", version=airflow_compat.AIRFLOW_VERSION
        )
    )


def triggers_dag_runs(task: HostTask) -> bool:
    if task.wrapped_class is None:
        return task.unknown_class
    return in_mro(task.wrapped_class, CLASS_NAME)


class DagRunTriggerOfWrapped(HostFacet):
    facet: ClassVar[Facet] = BY_NAME["dag_run_trigger"]

    def needed(self, task: HostTask, request: IsolationRequest) -> bool:
        return triggers_dag_runs(task)

    def succeeded(self, operator: Any, context: Dict[str, Any], result: IsolationResult) -> None:
        trigger = result.dag_run_trigger
        if trigger is None:
            return
        if airflow_compat.AIRFLOW_MAJOR < 3:
            raise airflow_compat.AirflowException(
                AIRFLOW2_HOST_REFUSED.format(
                    task_id=operator.task_id,
                    dag_id=trigger.trigger_dag_id,
                    version=airflow_compat.AIRFLOW_VERSION,
                )
            )
        signal = airflow_compat.host_exception("DagRunTriggerException")
        accepted = inspect.signature(signal).parameters
        fields = {
            SIGNAL_NAMES.get(name, name): getattr(trigger, name)
            for name in trigger.__struct_fields__
            if SIGNAL_NAMES.get(name, name) in accepted
        }
        operator.log.info(
            "The isolated task asks to trigger %s run %s: the host's Airflow triggers it",
            trigger.trigger_dag_id,
            trigger.dag_run_id,
        )
        raise signal(**fields)
