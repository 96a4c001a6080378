"""The wrapped operator resumed in the target after a deferral the host's Airflow ran.

When the host's task runner defers on the operator's behalf (Airflow 3 defers
``TriggerDagRunOperator``'s wait with a ``DagStateTrigger`` once it has created the run), the task
comes back to ``IsolatedOperator.resume_execution`` with a method of the wrapped operator
(``execute_complete``) and the trigger's event. That method is sent to the target, where the
operator resumes as natively instead of running ``execute`` again.
"""

from __future__ import annotations

from typing import ClassVar

from airflow_isolation.core import IsolationRequest, Resumption
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.operator.facets.base import Fields, HostFacet, HostTask


class ResumptionOfWrapped(HostFacet):
    facet: ClassVar[Facet] = BY_NAME["resumption"]

    def needed(self, task: HostTask, request: IsolationRequest) -> bool:
        return task.resume_wrapped is not None

    def request_fields(self, task: HostTask) -> Fields:
        if task.resume_wrapped is None:
            return {}
        method, kwargs = task.resume_wrapped
        return {"resumption": Resumption(method=method, kwargs=dict(kwargs))}
