"""The task's own modules, from the host's DAGs and plugins folders, shipped with the request
(which ones: ``shipping/local_modules.py``)."""

from __future__ import annotations

from typing import ClassVar

from airflow_isolation.core import IsolationRequest
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.operator.facets.base import Fields, HostFacet, HostTask
from airflow_isolation.operator.shipping.local_modules import task_modules


class ShippedModules(HostFacet):
    facet: ClassVar[Facet] = BY_NAME["shipped_modules"]

    def needed(self, task: HostTask, request: IsolationRequest) -> bool:
        return bool(request.modules)

    def request_fields(self, task: HostTask) -> Fields:
        if task.spec is None:
            return {"modules": list(task.own_modules)}
        fileloc = getattr(task.context.get("dag"), "fileloc", None)
        return {"modules": task_modules(task.spec, fileloc, task.own_modules)}
