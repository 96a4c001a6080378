"""Stand-ins for the task instance and dag run the target has no database for.

``xcom_push`` is recorded and replayed on the host after the run; ``xcom_pull`` serves what the
host shipped (return values of direct upstream tasks) and what this run pushed itself. Anything
else would need the metadata database, so it fails with an error naming the way around it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Iterable, List, Optional, Union

from airflow_isolation.core import TaskContext, XComPush

RETURN_VALUE_KEY = "return_value"


class XComNotShippedError(KeyError):
    """An XCom the isolated task cannot see."""

    def __str__(self) -> str:
        return str(self.args[0])


class XComRecorder:
    def __init__(self, allowed: bool = True) -> None:
        self.pushes: List[XComPush] = []
        self.allowed = allowed

    def push(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not key:
            raise ValueError(f"xcom_push needs a non-empty string key, got {key!r}")
        if not self.allowed:
            from airflow_isolation.runtime.facets.write_back import WriteBackRefused, xcom_push_refused

            raise WriteBackRefused(xcom_push_refused(key))
        self.pushes.append(XComPush(key, value))

    def latest(self, key: str) -> Any:
        for push in reversed(self.pushes):
            if push.key == key:
                return push.value
        raise KeyError(key)


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
        **_: Any,
    ) -> Any:
        if dag_id not in (None, self.dag_id):
            raise XComNotShippedError(self._not_shipped(f"dag {dag_id!r}", key))
        if task_ids is None or isinstance(task_ids, str):
            return self._pull_one(task_ids or self.task_id, key, default)
        return [self._pull_one(t, key, default) for t in task_ids]

    def _pull_one(self, task_id: str, key: str, default: Any) -> Any:
        if task_id == self.task_id:
            try:
                return self._recorder.latest(key)
            except KeyError:
                return default
        if key == RETURN_VALUE_KEY and task_id in self._ctx.upstream_xcoms:
            value = self._ctx.upstream_xcoms[task_id]
            return default if value is None else value
        raise XComNotShippedError(self._not_shipped(f"task {task_id!r}", key))

    def _not_shipped(self, source: str, key: str) -> str:
        shipped = ", ".join(sorted(self._ctx.upstream_xcoms)) or "none"
        return (
            f"xcom_pull of key {key!r} from {source} is not available in an isolated task: only the "
            f"return values of direct upstream tasks are shipped ({shipped}). Pass the value as a "
            "templated argument instead, e.g. op_kwargs={'x': \"{{ ti.xcom_pull(task_ids='...', "
            "key='...') }}\"}, or make that task a direct upstream."
        )

    def get_first_reschedule_date(self, context: Any = None) -> Optional[dt.datetime]:
        """When a sensor in reschedule mode first poked (Airflow 3 asks the API server), as the
        host found it."""
        return self._ctx.first_reschedule_date

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
        self.run_after = ctx.run_after or ctx.logical_date
