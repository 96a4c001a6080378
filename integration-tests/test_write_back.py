"""Write-backs from the target: refused with the alternative named, or buffered for the host when
the task opts in, and applied only after success. Real DAG runs on Airflow 2.10 and 3.x targets."""

from __future__ import annotations

import pytest
from harness import host_env, run_dag


@pytest.mark.parametrize("env_name", ["af210", "af31"])
def test_write_back(env_name: str, airflow_db: None, built_envs: list[str]) -> None:
    report = run_dag(f"write_back_{env_name}", host_env())
    expected = {
        "buffered": "success",
        "check_variables": "success",
        "refused": "failed",
        "failed_after_set": "failed",
        "xcom_off": "failed",
        "database": "failed",
    }
    assert report.states == expected, report.output[-8000:]
    out = report.output
    assert f"Variable.set('isolation_wb_{env_name}_refused') cannot run in an isolated task" in out
    assert 'write_back=["xcom", "variables"]' in out
    assert "ti.xcom_push(key='extra') is turned off for this task" in out
    assert "opened an Airflow metadata database session, which an isolated task does not have" in out
    assert f"Applied Variable.set('isolation_wb_{env_name}')" in out
    assert f"Applied Variable.set('isolation_wb_{env_name}_failed')" not in out
