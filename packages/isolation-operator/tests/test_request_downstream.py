"""The request carries the task's downstream ids, which skip logic in the target reads."""

from __future__ import annotations

import datetime as dt

from operator_docker_support import task_context

from airflow_isolation.core import CallableSpec
from airflow_isolation.operator import IsolatedOperator
from airflow_isolation.operator.exchange.request_builder import build_request
from airflow_isolation.operator.facets import HostTask


def returns_nothing() -> None:
    return None


def test_direct_and_all_downstream_ids_and_teardowns() -> None:
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    with DAG("skips", schedule=None, start_date=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)):
        gate = IsolatedOperator(task_id="gate", environment="plain", python_callable=returns_nothing)
        cleanup = EmptyOperator(task_id="cleanup").as_teardown()
        gate >> EmptyOperator(task_id="b") >> EmptyOperator(task_id="c")
        gate >> EmptyOperator(task_id="a")
        gate >> cleanup
    context = {**task_context("skips", "gate"), "task": gate}
    ctx = build_request(HostTask(context, CallableSpec(name="f", source="def f(): pass")), [], {}).context
    assert ctx.downstream_task_ids == ["a", "b", "cleanup"]
    assert ctx.flat_downstream_task_ids == ["a", "b", "c", "cleanup"]
    assert ctx.downstream_teardown_ids == ["cleanup"]
    assert ctx.first_reschedule_date is None


def test_a_task_outside_a_dag_has_no_downstream() -> None:
    spec = CallableSpec(name="f", source="def f(): pass")
    ctx = build_request(HostTask(task_context("d", "t"), spec), [], {}).context
    assert (ctx.downstream_task_ids, ctx.flat_downstream_task_ids) == ([], [])
