"""Targets run as another Unix user of the worker (``backend_options={"run_as_user": ...}``).

The test (``test_run_as_user.py``) names the user, the environment (built with a Python every user
can run) and a file only the worker's user may read; the DAG reads them from the environment when
it is parsed, on the worker."""

from __future__ import annotations

import datetime as dt
import os

import pendulum
from airflow.sdk import DAG

from airflow_isolation.operator import IsolatedOperator

USER = os.environ.get("RUN_AS_USER_PROBE_USER", "nobody")
ENVIRONMENT = os.environ.get("RUN_AS_USER_PROBE_ENVIRONMENT", "sysplain")
WORKER_FILE = os.environ.get("RUN_AS_USER_PROBE_WORKER_FILE", "/nonexistent")
START = pendulum.datetime(2024, 1, 1, tz="UTC")


def who_am_i(worker_file: str) -> dict:
    import os

    try:
        with open(worker_file) as handle:
            handle.read()
        worker_file_read = "read"
    except OSError as exc:
        worker_file_read = type(exc).__name__
    with open("written-by-the-task", "w") as handle:  # the run folder is the target's to write
        handle.write("x")
    return {"uid": os.getuid(), "worker_file": worker_file_read, "home": os.environ.get("HOME")}


def leaves_a_child_and_waits() -> None:
    import subprocess
    import time

    subprocess.Popen(["sleep", "300"])
    time.sleep(300)


with DAG("run_as_user_probe", schedule=None, start_date=START):
    IsolatedOperator(
        task_id="who_am_i",
        environment=ENVIRONMENT,
        python_callable=who_am_i,
        op_kwargs={"worker_file": WORKER_FILE},
        backend_options={"run_as_user": USER},
    )

with DAG("run_as_user_timeout", schedule=None, start_date=START):
    IsolatedOperator(
        task_id="sleeps",
        environment=ENVIRONMENT,
        python_callable=leaves_a_child_and_waits,
        execution_timeout=dt.timedelta(seconds=int(os.environ.get("RUN_AS_USER_PROBE_TIMEOUT", "8"))),
        retries=0,
        backend_options={"run_as_user": USER},
    )
