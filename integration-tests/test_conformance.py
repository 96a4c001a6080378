"""Host Airflow 3.x running the same tasks on an Airflow 2.10 target, a different Airflow 3.x
target, and targets without Airflow, in venvs and in Docker containers; every check runs as a
real task in a real DAG run (the compatibility matrix, ``test_matrix``, holds every cell of host
x target x Python to the same expectations)."""

from __future__ import annotations

import pytest
from conformance_expectations import CONNECTIONS, check_conformance
from harness import host_env, run_dag

CELLS = [("af210", "venv"), ("af31", "venv"), ("plain", "venv"), ("af210", "docker"), ("py313", "docker")]
WITHOUT_AIRFLOW = {"plain", "py313"}


@pytest.mark.parametrize(("env_name", "backend"), CELLS, ids=[f"{env}-{backend}" for env, backend in CELLS])
def test_conformance(env_name: str, backend: str, airflow_db: None, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("built_envs" if backend == "venv" else "built_images")
    dag_id = f"conformance_{env_name}" + ("" if backend == "venv" else f"_{backend}")
    report = run_dag(dag_id, host_env(extra=CONNECTIONS))
    check_conformance(report, has_airflow=env_name not in WITHOUT_AIRFLOW)
