from __future__ import annotations

from pathlib import Path

import pytest
from runtime_test_support import callable_from_source, run

from airflow_isolation.core import RunOptions, TaskContext
from airflow_isolation.runtime.facets.xcom import XComNotShippedError, XComRecorder
from airflow_isolation.runtime.task.task_instance import IsolatedTaskInstance


def _ti() -> IsolatedTaskInstance:
    ctx = TaskContext(dag_id="d", task_id="me", run_id="r", upstream_xcoms={"up": 1, "none_up": None})
    return IsolatedTaskInstance(ctx, XComRecorder())


def test_pull_upstream_and_own_pushes() -> None:
    ti = _ti()
    ti.xcom_push("k", 2)
    assert ti.xcom_pull(task_ids="up") == 1
    assert ti.xcom_pull(task_ids="none_up", default="d") == "d"
    assert ti.xcom_pull(task_ids=["up", "me"], key="return_value") == [1, None]
    assert ti.xcom_pull(task_ids="me", key="k") == 2


def test_unshipped_xcom_names_the_alternative() -> None:
    with pytest.raises(XComNotShippedError, match="templated argument"):
        _ti().xcom_pull(task_ids="elsewhere", key="other")


def test_xcom_push_can_be_turned_off(tmp_path: Path) -> None:
    fn = callable_from_source("""
        def f(ti):
            ti.xcom_push(key="k", value=1)
    """)
    code, out, result = run(fn, tmp_path, options=RunOptions(xcom_write_back=False))
    assert code == 1, out
    assert result.error is not None
    assert "ti.xcom_push(key='k') is turned off for this task" in result.error.message
