"""Retries through a real DAG run (``airflow dags test``, which retries failed tasks as the scheduler
does): a task fails on its first try and succeeds on the second, on the venv and Docker backends.

The second try must start clean: its own request (with ``try_number`` 2 in the target's context),
a new run folder (the first one gone) or a new container (the first one removed), and nothing the
first try wrote next to the request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any, Dict, List

from operator_docker_support import containers_of

_DAG = """\\
import datetime

import pendulum
from airflow.sdk import DAG

from airflow_isolation.operator import IsolatedOperator


def flaky(marker_dir, backend, ti):
    import json
    import os
    import socket
    import sys

    request = sys.argv[sys.argv.index("--request") + 1]
    log = os.path.join(marker_dir, backend + ".jsonl")
    earlier = [json.loads(line) for line in open(log)] if os.path.exists(log) else []
    record = {{
        "try": ti.try_number,
        "folder": os.getcwd(),
        "beside_request": ("handed over as a descriptor" if request.startswith("/dev/fd/")
                           else sorted(os.listdir(os.path.dirname(request)))),
        "host": socket.gethostname(),
        "earlier_folders_exist": [os.path.exists(e["folder"]) for e in earlier],
    }}
    with open(log, "a") as handle:
        handle.write(json.dumps(record) + "\\n")
    if not earlier:
        raise RuntimeError("the first try fails on purpose")
    return ti.try_number


with DAG("{dag_id}", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         default_args={{"retries": 1, "retry_delay": datetime.timedelta(seconds=0)}}):
    IsolatedOperator(task_id="on_venv", environment="venvtest", backend="venv",
                     backend_options={{"mounts": [{{"source": "{markers}", "read_only": False}}]}},
                     python_callable=flaky, op_args=["{markers}", "venv"])
    IsolatedOperator(task_id="on_docker", environment="dockertest", backend="docker",
                     backend_options={{"image": "{image}",
                                       "mounts": [{{"source": "{markers}", "target": "{markers}"}}]}},
                     python_callable=flaky, op_args=["{markers}", "docker"])
"""


def _airflow(*args: str, env: Dict[str, str]) -> subprocess.CompletedProcess[str]:
    airflow = str(Path(sys.executable).parent / "airflow")
    return subprocess.run([airflow, *args], capture_output=True, text=True, env=env, timeout=900, check=False)


def _tries(dag_id: str) -> Dict[str, tuple]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.scalars(select(TaskInstance).where(TaskInstance.dag_id == dag_id)).all()
        return {ti.task_id: (str(getattr(ti.state, "value", ti.state)), ti.try_number) for ti in tis}


def _only_the_request(*records: Dict[str, Any]) -> None:
    """A cold start's folder holds its request alone; a warm child gets it as a descriptor."""
    for record in records:
        assert record["beside_request"] in (["request.msgpack"], "handed over as a descriptor"), record


def _records(markers: Path, backend: str) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in (markers / f"{backend}.jsonl").read_text().splitlines()]


def test_a_retry_reruns_cleanly(
    venv_env: Path, runtime_image: str, docker_client: Any, tmp_path: Path
) -> None:
    dag_id = f"retries_{uuid.uuid4().hex[:8]}"
    dags, markers = tmp_path / "dags", tmp_path / "markers"
    dags.mkdir()
    markers.mkdir(mode=0o777)
    markers.chmod(0o777)
    source = _DAG.format(dag_id=dag_id, markers=markers, image=runtime_image)
    (dags / f"{dag_id}.py").write_text(textwrap.dedent(source))
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    migrate = _airflow("db", "migrate", env=env)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr

    run = _airflow("dags", "test", dag_id, "2024-01-02", env=env)
    output = run.stdout + run.stderr
    tries = _tries(dag_id)
    assert tries == {"on_venv": ("success", 2), "on_docker": ("success", 2)}, (tries, output[-5000:])
    assert output.count("RuntimeError: the first try fails on purpose") >= 2

    first, second = _records(markers, "venv")
    assert (first["try"], second["try"]) == (1, 2), "try_number must reach the target's context"
    assert first["folder"] != second["folder"] and second["earlier_folders_exist"] == [False]
    _only_the_request(first, second)
    assert list(venv_env.glob("airflow-isolation-*")) == [], "a run folder outlived its try"

    first, second = _records(markers, "docker")
    assert (first["try"], second["try"]) == (1, 2)
    assert first["host"] != second["host"], "the second try must run in a new container"
    _only_the_request(first, second)
    assert containers_of(docker_client, dag_id) == [], "a container outlived its try"
