"""Tasks that fail on purpose: a raised error, and a target hung past execution_timeout."""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import DAG

from airflow_isolation.operator import IsolatedOperator


def boom():
    raise ValueError("kaboom 42")


def hang(dag_run):
    import os
    import time

    with open(dag_run.conf["pid_file"], "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(600)


with DAG(
    dag_id="failures",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    default_args={"retries": 0},
):
    IsolatedOperator(task_id="boom", environment="plain", python_callable=boom)
    IsolatedOperator(
        task_id="hang",
        environment="plain",
        python_callable=hang,
        execution_timeout=dt.timedelta(seconds=5),
    )
