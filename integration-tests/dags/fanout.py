"""Fifty isolated tasks at once under a real scheduler (``test_local_executor.py``).

Each ``work_NN`` task runs a callable in the ``plain`` environment (no Airflow, Python 3.12) through
the venv backend. The target records when it ran (for the test to measure how many overlapped) and
returns a value only its index gives; ``collect``, a normal task on the host, pulls all fifty XComs
and fails the run if one is missing or wrong. ``flaky`` fails its first try on purpose, so the
scheduler's retry runs it again in a fresh target.

The run's ``conf`` names a folder (``record_dir``) the targets write their timings to, and how long
each holds (``hold_seconds``, a stand-in for waiting on I/O: it keeps a task alive long enough for
the others to start while costing no CPU). The deployment names that folder in
``ISOLATION_TEST_RECORDS`` too, which the isolated tasks mount, as a user mounts a data folder: a
sandboxed target sees nothing of the worker's ``/tmp`` otherwise.
"""

from __future__ import annotations

import datetime as dt
import os

import pendulum
from airflow.sdk import DAG, task

from airflow_isolation.operator import IsolatedOperator

WIDTH = 50
RECORDS = os.environ.get("ISOLATION_TEST_RECORDS", "")
SHARED = {"mounts": [{"source": RECORDS, "read_only": False}]} if RECORDS else {}


def work(index, dag_run):
    import hashlib
    import json
    import os
    import time
    from pathlib import Path

    started = time.time()
    digest = hashlib.sha256(f"task {index}".encode() * 10_000).hexdigest()
    time.sleep(float(dag_run.conf.get("hold_seconds", 0)))
    record = {"index": index, "pid": os.getpid(), "start": started, "end": time.time()}
    Path(dag_run.conf["record_dir"], f"work_{index:02d}.json").write_text(json.dumps(record))
    return {"index": index, "square": index * index, "digest": digest}


def flaky(dag_run, try_number):
    import json
    from pathlib import Path

    folder = Path(dag_run.conf["record_dir"])
    marker = folder / "flaky.first-try"
    if not marker.exists():
        marker.write_text(str(try_number))
        raise RuntimeError(f"try {try_number} fails on purpose")
    tries = {"first": int(marker.read_text()), "retry": try_number}
    (folder / "flaky.json").write_text(json.dumps(tries))
    return tries


def expected(index: int) -> dict:
    import hashlib

    digest = hashlib.sha256(f"task {index}".encode() * 10_000).hexdigest()
    return {"index": index, "square": index * index, "digest": digest}


with DAG(
    dag_id="isolated_fanout",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    max_active_tasks=WIDTH + 2,
    is_paused_upon_creation=False,
    default_args={"retries": 0},
):
    workers = [
        IsolatedOperator(
            task_id=f"work_{index:02d}",
            environment="plain",
            python_callable=work,
            op_kwargs={"index": index},
            backend_options=SHARED,
        )
        for index in range(WIDTH)
    ]

    @task
    def collect(ti=None, dag_run=None):
        import json
        from pathlib import Path

        values = ti.xcom_pull(task_ids=[f"work_{index:02d}" for index in range(WIDTH)])
        wrong = [index for index in range(WIDTH) if values[index] != expected(index)]
        if wrong:
            raise ValueError(f"wrong or missing XComs of work tasks {wrong}: {values}")
        Path(dag_run.conf["record_dir"], "collected.json").write_text(json.dumps(values))
        return len(values)

    workers >> collect()

    IsolatedOperator(
        task_id="flaky",
        environment="plain",
        python_callable=flaky,
        backend_options=SHARED,
        retries=1,
        retry_delay=dt.timedelta(seconds=1),
    )
