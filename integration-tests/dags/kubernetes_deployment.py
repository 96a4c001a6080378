"""Isolated Kubernetes tasks under a real scheduler and triggerer (``test_kubernetes_deployment.py``).

``kubernetes_fanout``: twenty mapped tasks in pods of the ``py313`` image at once, each returning a
value only its index gives; ``collect``, a normal host task, fails the run if one is missing or
wrong. ``kubernetes_deferrable``: one task whose pod is waited for in the triggerer
(``deferrable=True``); it holds long enough for the test to see the task ``deferred``, and
``check_deferred`` pulls its XCom. Namespace and registry come from ``[isolation]`` settings.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

from airflow_isolation.operator import IsolatedOperator

WIDTH = 20


def expected(index: int) -> dict:
    return {"index": index, "square": index * index, "word": f"pod-{index:02d}"}


with DAG(
    dag_id="kubernetes_fanout",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    max_active_tasks=WIDTH + 1,
    is_paused_upon_creation=False,
    default_args={"retries": 0},
):

    @task.isolated(environment="py313", backend="kubernetes")
    def work(index):
        return {"index": index, "square": index * index, "word": f"pod-{index:02d}"}

    @task
    def collect(values):
        values = list(values)
        if values != [expected(index) for index in range(WIDTH)]:
            raise ValueError(f"wrong or missing XComs of the mapped pods: {values}")
        return len(values)

    collect(work.expand(index=list(range(WIDTH))))


def hold_then_answer(seconds):
    import time

    time.sleep(seconds)
    return {"answer": 42, "held": seconds}


with DAG(
    dag_id="kubernetes_deferrable",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    is_paused_upon_creation=False,
    default_args={"retries": 0},
):
    waited = IsolatedOperator(
        task_id="in_triggerer",
        environment="py313",
        backend="kubernetes",
        backend_options={"deferrable": True},
        python_callable=hold_then_answer,
        op_args=[15],
    )

    @task
    def check_deferred(value):
        if value != {"answer": 42, "held": 15}:
            raise ValueError(f"the deferred task returned {value!r}")

    check_deferred(waited.output)
