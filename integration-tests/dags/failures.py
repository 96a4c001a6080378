"""Tasks that fail on purpose: a raised error, and a target hung past execution_timeout.

``hang`` writes its PID (a ``task_pids``-style record: PID and PID namespace, as a sandbox numbers
it) into the folder ``ISOLATION_TEST_SHARED`` names, which it mounts.
"""

from __future__ import annotations

import datetime as dt
import os

import pendulum
from airflow.sdk import DAG

from airflow_isolation.operator import IsolatedOperator


def boom():
    raise ValueError("kaboom 42")


def hang(dag_run):
    import os
    import time

    with open(dag_run.conf["pid_file"], "w") as handle:
        handle.write(f"{os.getpid()} {os.readlink('/proc/self/ns/pid')}")
    time.sleep(600)


SHARED = os.environ.get("ISOLATION_TEST_SHARED", "")

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
        backend_options={"mounts": [{"source": SHARED, "read_only": False}]} if SHARED else {},
        execution_timeout=dt.timedelta(seconds=5),
    )
