"""Rebuilding the Airflow context in the target from the shipped ``TaskContext``.

Keys carry the types Airflow gives them (pendulum datetimes when pendulum is installed, which it
always is with Airflow), so code written for a normal task behaves the same when isolated.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional

from airflow_isolation.core import TaskContext
from airflow_isolation.runtime.facets.xcom import XComRecorder
from airflow_isolation.runtime.task.task_instance import IsolatedDagRun, IsolatedTaskInstance

_current: Dict[str, Any] = {}


def as_pendulum(value: Optional[dt.datetime]) -> Optional[dt.datetime]:
    if value is None:
        return None
    try:
        import pendulum
    except ImportError:
        return value
    return pendulum.instance(value)


class _VariableAccessor:
    """``{{ var.value.x }}`` / ``context["var"]["json"].x`` over the shipped variables."""

    def __init__(self, variables: Dict[str, str], deserialize_json: bool):
        self._variables = variables
        self._json = deserialize_json

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self._variables:
            return default
        raw = self._variables[key]
        if not self._json:
            return raw
        import json

        return json.loads(raw)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        if key not in self._variables:
            raise KeyError(
                f"variable {key!r} was not shipped to the isolated task: add it to variables=[...] "
                "on the IsolatedOperator"
            )
        return self.get(key)

    __getitem__ = __getattr__


def build_context(
    ctx: TaskContext, recorder: XComRecorder, variables: Dict[str, str], task: Any = None
) -> Dict[str, Any]:
    ti = IsolatedTaskInstance(ctx, recorder, task)
    context: Dict[str, Any] = {
        "dag_id": ctx.dag_id,
        "task_id": ctx.task_id,
        "run_id": ctx.run_id,
        "try_number": ctx.try_number,
        "map_index": ctx.map_index,
        "logical_date": as_pendulum(ctx.logical_date),
        "data_interval_start": as_pendulum(ctx.data_interval_start),
        "data_interval_end": as_pendulum(ctx.data_interval_end),
        "start_date": as_pendulum(ctx.start_date),
        "ds": ctx.ds,
        "ds_nodash": ctx.ds_nodash,
        "ts": ctx.ts,
        "ts_nodash": ctx.ts_nodash,
        "ts_nodash_with_tz": ctx.ts_nodash_with_tz,
        "params": dict(ctx.params),
        "dag_run": IsolatedDagRun(ctx),
        "ti": ti,
        "task_instance": ti,
        "task": task,
        "var": {
            "value": _VariableAccessor(variables, deserialize_json=False),
            "json": _VariableAccessor(variables, deserialize_json=True),
        },
        "test_mode": False,
        "inlets": [],
        "outlets": [],
    }
    if ctx.logical_date is not None:
        context["execution_date"] = context["logical_date"]
    return context


def set_current(context: Dict[str, Any]) -> None:
    _current.clear()
    _current.update(context)


def current_context() -> Dict[str, Any]:
    """The context of the running task, for ``ti.get_template_context()`` without Airflow."""
    return _current
