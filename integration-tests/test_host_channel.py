"""The channel back to the host, under a real host Airflow (``airflow dags test``): what an isolated
task asks its Airflow at run time is answered as for its native twin (``dags/host_channel.py``),
on Airflow 3.1 and 2.10 targets, cold and warm, sandboxed; the unshipped password stays masked."""

from __future__ import annotations

import json
from typing import List

import pytest
from harness import host_env, run_dag

SECRET = "pw-channel-7c1d"
HOST_SECRETS = {
    "AIRFLOW_VAR_HOST_CHANNEL_VAR": "from the host's secrets",
    "AIRFLOW_CONN_HOST_CHANNEL_CONN": json.dumps(
        {"conn_type": "postgres", "host": "db.internal", "login": "etl", "password": SECRET}
    ),
}


@pytest.mark.parametrize("warm", ["True", "False"])
def test_what_a_task_asks_at_run_time_is_answered_by_the_host(
    warm: str, airflow_db: None, built_envs: List[str]
) -> None:
    env = host_env(extra={**HOST_SECRETS, "AIRFLOW__ISOLATION__WARM_RUNTIME": warm})
    upstream = run_dag("host_channel_upstream", env)
    assert upstream.states == {"produce": "success"}, upstream.output[-4000:]
    for env_name in ("af31", "af210"):
        report = run_dag(f"host_channel_{env_name}", env)
        failed = {task: state for task, state in report.states.items() if state != "success"}
        assert not failed, f"{env_name}: {failed}\n{report.output[-12000:]}"
        assert "the host's Airflow answers what the task asks at run time (channel open)" in report.output
        assert SECRET not in report.output, "an unshipped connection's password reached the task log"
        assert "the unshipped password is ***" in report.output
        started = "started warm" if warm == "True" else "starting cold"
        assert started in report.output, report.output[-6000:]
