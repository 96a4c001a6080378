"""Stand-ins for the task instance and dag run the target has no database for.

XComs go through the run's ``XComRecorder`` (``facets.xcom``); what the facets own of these objects
(a sensor's first poke, the dag run's ``run_after``) they install themselves.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Iterable, Optional, Union

from airflow_isolation.core import TaskContext
from airflow_isolation.runtime.facets.host_channel import (
    NO_CHANNEL,
    TASK_INSTANCE_OWN_READS,
    TASK_INSTANCE_READS,
)
from airflow_isolation.runtime.facets.xcom import RETURN_VALUE_KEY, XComRecorder


class IsolatedTaskInstance:
    """What ``context["ti"]`` offers inside an isolated task."""

    def __init__(self, ctx: TaskContext, recorder: XComRecorder, task: Any = None):
        self._ctx = ctx
        self._recorder = recorder
        self.task = task
        self.dag_id = ctx.dag_id
        self.task_id = ctx.task_id
        self.run_id = ctx.run_id
        self.try_number = ctx.try_number
        self.max_tries = ctx.max_tries
        self.map_index = ctx.map_index
        self.logical_date = ctx.logical_date
        self.start_date = ctx.start_date
        self.hostname = None
        self.state = "running"

    def xcom_push(self, key: str, value: Any, **_: Any) -> None:
        self._recorder.push(key, value)

    def xcom_pull(
        self,
        task_ids: Optional[Union[str, Iterable[str]]] = None,
        dag_id: Optional[str] = None,
        key: str = RETURN_VALUE_KEY,
        default: Any = None,
        run_id: Optional[str] = None,
        **_: Any,
    ) -> Any:
        return self._recorder.pull(self._ctx, task_ids, dag_id, key, default, run_id=run_id)

    def get_first_reschedule_date(self, context: Any = None) -> Optional[dt.datetime]:
        """When a sensor in reschedule mode first poked (Airflow 3 asks the API server); the
        sensors facet answers with what the host found, ``None`` means a first try."""
        return None

    def __getattr__(self, name: str) -> Any:
        """A read of Airflow 3's task instance that only the host can answer, on a run without the
        channel back (``facets/host_channel.py`` installs them when there is one)."""
        if name in TASK_INSTANCE_READS or name in TASK_INSTANCE_OWN_READS:
            raise AttributeError(NO_CHANNEL.format(name=name))
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def get_template_context(self) -> Dict[str, Any]:
        from airflow_isolation.runtime.task.context import current_context

        return current_context()


class IsolatedDagRun:
    def __init__(self, ctx: TaskContext):
        self.dag_id = ctx.dag_id
        self.run_id = ctx.run_id
        self.run_type = ctx.run_type
        self.conf = ctx.dag_run_conf
        self.logical_date: Optional[dt.datetime] = ctx.logical_date
        self.execution_date = ctx.logical_date
        self.data_interval_start = ctx.data_interval_start
        self.data_interval_end = ctx.data_interval_end
        self.start_date = ctx.start_date
