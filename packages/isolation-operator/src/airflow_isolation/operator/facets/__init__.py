"""The host halves of the facets, and the order the exchange runs them in.

Order matters only when a result is applied: on Airflow 3 a branch, a downstream skip and a dag run
to trigger end the task with an exception for the task runner, so they come after every other
facet's work; lineage
is kept first, since the listener asks for it however the task ends.
"""

from __future__ import annotations

from typing import Tuple

from airflow_isolation.core import IsolationRequest
from airflow_isolation.operator.facets.assets import Assets
from airflow_isolation.operator.facets.base import HostFacet, HostTask
from airflow_isolation.operator.facets.branch import Branch
from airflow_isolation.operator.facets.dag_run_trigger import DagRunTriggerOfWrapped
from airflow_isolation.operator.facets.downstream_skips import DownstreamSkips
from airflow_isolation.operator.facets.host_channel import HostChannelOffer
from airflow_isolation.operator.facets.openlineage import OpenLineage
from airflow_isolation.operator.facets.resumption import ResumptionOfWrapped
from airflow_isolation.operator.facets.sensors import Sensors
from airflow_isolation.operator.facets.shipped_modules import ShippedModules
from airflow_isolation.operator.facets.write_back import WriteBack
from airflow_isolation.operator.facets.xcom import XCom

HOST_FACETS: Tuple[HostFacet, ...] = (
    OpenLineage(),
    XCom(),
    Sensors(),
    WriteBack(),
    Assets(),
    ShippedModules(),
    ResumptionOfWrapped(),
    HostChannelOffer(),
    Branch(),
    DownstreamSkips(),
    DagRunTriggerOfWrapped(),
)


def needed_facets(task: HostTask, request: IsolationRequest) -> Tuple[str, ...]:
    """The names of the facets this try relies on."""
    return tuple(host.facet.name for host in HOST_FACETS if host.needed(task, request))


__all__ = ["HOST_FACETS", "HostFacet", "HostTask", "needed_facets"]
