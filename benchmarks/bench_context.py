"""The task context the benchmarks' requests carry: one fixed manual run, so runs compare."""

from __future__ import annotations

import datetime as dt

from airflow_isolation.core import TaskContext


def fixed_context(dag_id: str, task_id: str) -> TaskContext:
    when = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    return TaskContext(
        dag_id=dag_id,
        task_id=task_id,
        run_id="manual__2024-01-01T00:00:00+00:00",
        logical_date=when,
        data_interval_start=when,
        data_interval_end=when,
        start_date=when,
        ds="2024-01-01",
        ts=when.isoformat(),
    )
