"""The channel back to the host: the request says whether the host opened one for this run.

The channel itself is ``operator/channel/`` (the host's answers) and the backend's transport (a
descriptor handed to the target); this half only tells the target to use it. No task is refused an
older runtime for it: a runtime without the channel fails what needs it (an ``ExternalTaskSensor``,
an ``xcom_pull`` of a task that is not upstream) loudly, naming the fix, never silently.
"""

from __future__ import annotations

from typing import ClassVar

from airflow_isolation.core import IsolationRequest
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.operator.facets.base import Fields, HostFacet, HostTask


class HostChannelOffer(HostFacet):
    facet: ClassVar[Facet] = BY_NAME["host_channel"]

    def needed(self, task: HostTask, request: IsolationRequest) -> bool:
        return False

    def option_fields(self, task: HostTask) -> Fields:
        return {"host_channel": task.channel_offered}
