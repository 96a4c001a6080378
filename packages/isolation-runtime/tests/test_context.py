"""The Airflow context rebuilt in the target from the shipped ``TaskContext``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from runtime_test_support import without_airflow

from airflow_isolation.core import TaskContext
from airflow_isolation.runtime.facets.xcom import XComRecorder
from airflow_isolation.runtime.task import context as runtime_context
from airflow_isolation.runtime.task.context import build_context
from airflow_isolation.runtime.task.task_instance import IsolatedDagRun, IsolatedTaskInstance

WHEN = dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
CTX = TaskContext(
    dag_id="d", task_id="t", run_id="r", try_number=2, map_index=3, logical_date=WHEN,
    data_interval_start=WHEN, data_interval_end=WHEN, ds="2024-01-02", params={"p": 1},
)  # fmt: skip


def test_keys_and_values_of_a_normal_task() -> None:
    task = object()
    context = build_context(CTX, XComRecorder(), {}, task)
    assert (context["dag_id"], context["task_id"], context["run_id"]) == ("d", "t", "r")
    assert (context["try_number"], context["map_index"], context["ds"]) == (2, 3, "2024-01-02")
    assert context["params"] == {"p": 1} and context["params"] is not CTX.params
    assert isinstance(context["ti"], IsolatedTaskInstance) and context["task_instance"] is context["ti"]
    assert isinstance(context["dag_run"], IsolatedDagRun) and context["task"] is task
    assert context["execution_date"] is context["logical_date"]
    assert (context["test_mode"], context["inlets"], context["outlets"]) == (False, [], [])


def test_datetimes_are_pendulum_when_pendulum_is_installed() -> None:
    import pendulum

    context = build_context(CTX, XComRecorder(), {})
    for key in ("logical_date", "data_interval_start", "data_interval_end"):
        assert isinstance(context[key], pendulum.DateTime) and context[key] == WHEN
    assert context["start_date"] is None


def test_datetimes_stay_plain_without_pendulum(tmp_path: Path) -> None:
    out = without_airflow(
        """
        import datetime as dt
        from airflow_isolation.core import TaskContext
        from airflow_isolation.runtime.task.context import build_context
        from airflow_isolation.runtime.facets.xcom import XComRecorder
        when = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)
        shipped = TaskContext(dag_id="d", task_id="t", run_id="r", logical_date=when)
        context = build_context(shipped, XComRecorder(), {})
        print(type(context["logical_date"]).__module__, "pendulum" in __import__("sys").modules)
        """,
        tmp_path,
    )
    assert out.split() == ["datetime", "False"]


def test_no_execution_date_without_a_logical_date() -> None:
    context = build_context(TaskContext(dag_id="d", task_id="t", run_id="r"), XComRecorder(), {})
    assert context["logical_date"] is None and "execution_date" not in context


def test_variables_through_var_value_and_var_json() -> None:
    context = build_context(CTX, XComRecorder(), {"color": "blue", "cfg": '{"n": 1}'})
    assert context["var"]["value"].color == "blue"
    assert context["var"]["value"]["color"] == "blue"
    assert context["var"]["json"].cfg == {"n": 1}
    assert context["var"]["value"].get("nope", "fallback") == "fallback"


def test_an_unshipped_variable_names_the_fix() -> None:
    context = build_context(CTX, XComRecorder(), {})
    with pytest.raises(KeyError, match=r"add it to variables=\[\.\.\.\] on the IsolatedOperator"):
        getattr(context["var"]["value"], "missing")  # noqa: B009
    with pytest.raises(AttributeError):
        getattr(context["var"]["value"], "_private")  # noqa: B009


def test_current_context_is_what_was_set_last() -> None:
    runtime_context.set_current({"a": 1})
    runtime_context.set_current({"b": 2})
    assert runtime_context.current_context() == {"b": 2}
