"""The channel back to the host: the request says whether the host opened one for this run.

The channel itself is ``operator/channel/`` (the host's answers) and the backend's transport (a
descriptor handed to the target); this half only tells the target to use it. No task is refused an
older runtime for it: a runtime without the channel fails what needs it (an ``ExternalTaskSensor``,
an ``xcom_pull`` of a task that is not upstream) loudly, naming the fix, never silently.
"""

from __future__ import annotations

from typing import ClassVar, Optional

from airflow_isolation.core import IsolationRequest
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.operator import airflow_compat
from airflow_isolation.operator.backends import channel_backends, opens_channel
from airflow_isolation.operator.facets.base import Fields, HostFacet, HostTask
from airflow_isolation.operator.facets.branch import in_mro

NEEDS_CHANNEL = ("ExternalTaskSensor",)
"""Operators that cannot work without asking Airflow at run time: refused where no channel opens."""


def refuse_without_channel(wrapped_class: Optional[type], backend: str, task_id: str) -> None:
    """When the DAG is parsed: an operator that only works by asking Airflow at run time, where the
    task would have no channel back (another backend, or an Airflow 2 host)."""
    if wrapped_class is None:
        return
    needs = next((name for name in NEEDS_CHANNEL if in_mro(wrapped_class, name)), None)
    if needs is None or (opens_channel(backend) and airflow_compat.AIRFLOW_MAJOR >= 3):
        return
    where = " or ".join(repr(name) for name in channel_backends())
    raise airflow_compat.AirflowException(
        f"{task_id}: {needs} reads other dag runs' states from Airflow, which an isolated task asks its "
        f"host over the channel back, open on the backends {where} with an Airflow 3 host (this is "
        f"the {backend!r} backend on Airflow {airflow_compat.AIRFLOW_VERSION}). Use backend={where}, or run "
        f"{needs} natively: it needs no packages of its own."
    )


class HostChannelOffer(HostFacet):
    facet: ClassVar[Facet] = BY_NAME["host_channel"]

    def needed(self, task: HostTask, request: IsolationRequest) -> bool:
        return False

    def option_fields(self, task: HostTask) -> Fields:
        return {"host_channel": task.channel_offered}
