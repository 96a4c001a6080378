"""Host Airflow 3.x running the same tasks on an Airflow 2.10 target, a different Airflow 3.x
target, and targets without Airflow, in venvs and in Docker containers; every check runs as a
real task in a real DAG run."""

from __future__ import annotations

import json

import pytest
from harness import host_env, run_dag

SECRET = "pw-9f8e7d6c5b4a"
CONNECTIONS = {
    "AIRFLOW_CONN_ISOLATION_SQLITE": '{"conn_type": "sqlite", "host": ":memory:"}',
    "AIRFLOW_CONN_SECRET_DB": json.dumps(
        {"conn_type": "postgres", "host": "db.internal", "login": "etl", "password": SECRET}
    ),
}
COMMON = {"produce", "consume", "returns_none", "add", "check_values"}
COMMON |= {"square[0]", "square[1]", "square[2]", "check_mapped"}
WITH_AIRFLOW = {
    "bash_template_file",
    "python_operator",
    "sql_file",
    "branch",
    "left",
    "secret_probe",
    "check_operators",
    "mapped_operator[0]",
    "mapped_operator[1]",
    "check_mapped_operator",
}


CELLS = [("af210", "venv"), ("af31", "venv"), ("plain", "venv"), ("af210", "docker"), ("py313", "docker")]
WITHOUT_AIRFLOW = {"plain", "py313"}


@pytest.mark.parametrize(("env_name", "backend"), CELLS, ids=[f"{env}-{backend}" for env, backend in CELLS])
def test_conformance(env_name: str, backend: str, airflow_db: None, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("built_envs" if backend == "venv" else "built_images")
    dag_id = f"conformance_{env_name}" + ("" if backend == "venv" else f"_{backend}")
    report = run_dag(dag_id, host_env(extra=CONNECTIONS))
    has_airflow = env_name not in WITHOUT_AIRFLOW
    expected_success = COMMON | (WITH_AIRFLOW if has_airflow else set())
    failed = {t: report.state(t) for t in sorted(expected_success) if report.state(t) != "success"}
    assert not failed, f"tasks not successful: {failed}\n{report.output[-8000:]}"
    if has_airflow:
        assert report.state("right") == "skipped", report.states
        assert report.state("skipped") == "skipped", report.states
        assert SECRET not in report.output, "a connection password reached the task log"
        assert "the password is ***" in report.output
