"""Host Airflow 3.x running the same tasks on an Airflow 2.10 target, a different Airflow 3.x
target, and a target without Airflow; every check runs as a real task in a real DAG run."""

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


@pytest.mark.parametrize("env_name", ["af210", "af31", "plain"])
def test_conformance(env_name: str, airflow_db: None, built_envs: list[str]) -> None:
    report = run_dag(f"conformance_{env_name}", host_env(extra=CONNECTIONS))
    expected_success = COMMON | (WITH_AIRFLOW if env_name != "plain" else set())
    failed = {t: report.state(t) for t in sorted(expected_success) if report.state(t) != "success"}
    assert not failed, f"tasks not successful: {failed}\n{report.output[-8000:]}"
    if env_name != "plain":
        assert report.state("right") == "skipped", report.states
        assert report.state("skipped") == "skipped", report.states
        assert SECRET not in report.output, "a connection password reached the task log"
        assert "the password is ***" in report.output
