"""A real DAG run (``airflow dags test``) with ``@task.isolated(backend="docker")`` tasks.

Covers what only a real run shows: the decorator path, context values and XComs between two
containers, and Airflow's own ``execution_timeout`` ending a container that hangs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any, Dict

import pytest
from operator_docker_support import containers_of

pytestmark = pytest.mark.usefixtures("docker_env")

_DAG = """\
import datetime

import pendulum
from airflow.sdk import DAG, task

with DAG("{dag_id}", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):

    @task.isolated(environment="dockertest", backend="docker",
                   backend_options={{"mem_limit": "256m", "env": {{"GREETING": "hello"}}}})
    def produce(ds=None):
        import os

        return {{"ds": ds, "greeting": os.environ["GREETING"]}}

    @task.isolated(environment="dockertest", backend="docker")
    def consume(payload):
        print("consumed", payload["greeting"], payload["ds"])
        return payload["greeting"].upper()

    @task.isolated(environment="dockertest", backend="docker",
                   execution_timeout=datetime.timedelta(seconds=5))
    def hang():
        import time

        print("hanging", flush=True)
        time.sleep(300)

    consume(produce())
    hang()
"""


def _airflow(*args: str, env: Dict[str, str]) -> subprocess.CompletedProcess[str]:
    airflow = str(Path(sys.executable).parent / "airflow")
    return subprocess.run([airflow, *args], capture_output=True, text=True, env=env, timeout=600, check=False)


def _states(dag_id: str) -> Dict[str, str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.scalars(select(TaskInstance).where(TaskInstance.dag_id == dag_id)).all()
        return {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in tis}


def test_dag_run_with_docker_tasks(docker_client: Any, tmp_path: Path) -> None:
    dag_id = f"docker_dag_{uuid.uuid4().hex[:8]}"
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / f"{dag_id}.py").write_text(textwrap.dedent(_DAG.format(dag_id=dag_id)))
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    migrate = _airflow("db", "migrate", env=env)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr

    started = time.monotonic()
    run = _airflow("dags", "test", dag_id, "2024-01-02", env=env)
    output = run.stdout + run.stderr
    states = _states(dag_id)

    assert states.get("produce") == "success", (states, output[-5000:])
    assert states.get("consume") == "success", (states, output[-5000:])
    assert "consumed hello 2024-01-02" in output
    assert states.get("hang") == "failed", states
    assert "hanging" in output
    assert time.monotonic() - started < 120
    assert containers_of(docker_client, dag_id) == [], "a container outlived its task"
