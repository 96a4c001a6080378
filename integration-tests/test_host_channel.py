"""The channel back to the host, under a real host Airflow (``airflow dags test``): what an isolated
task asks its Airflow at run time is answered as for its native twin (``dags/host_channel.py``),
on Airflow 3.1 and 2.10 targets, cold and warm, sandboxed; the unshipped password stays masked."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import List

import pytest
from deployment import airflow_deployment
from harness import DagRunReport, host_env, run_dag

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
    for dag_id in ("host_channel_af31", "host_channel_af210"):
        _check(run_dag(dag_id, env), warm)


@pytest.mark.parametrize("warm", ["True", "False"])
def test_a_container_asks_its_host_the_same_way(warm: str, airflow_db: None, built_images: List[str]) -> None:
    """The docker backend: the channel is a socket in a folder mounted into that container alone,
    in a pooled container (warm) as in one of its own (cold)."""
    env = host_env(extra={**HOST_SECRETS, "AIRFLOW__ISOLATION__WARM_RUNTIME": warm})
    upstream = run_dag("host_channel_upstream", env)
    assert upstream.states == {"produce": "success"}, upstream.output[-4000:]
    if warm == "True":  # the first run starts the pooled container the second one claims
        assert "starting cold: no pooled container" in run_dag("host_channel_af210_docker", env).output
    _check(run_dag("host_channel_af210_docker", env), warm)


def _check(report: DagRunReport, warm: str) -> None:
    failed = {task: state for task, state in report.states.items() if state != "success"}
    assert not failed, f"{report.dag_id}: {failed}\n{report.output[-12000:]}"
    assert "the host's Airflow answers what the task asks at run time (channel open)" in report.output
    assert SECRET not in report.output, "an unshipped connection's password reached the task log"
    assert "the unshipped password is ***" in report.output
    started = "started warm" if warm == "True" else "starting cold"
    assert started in report.output, report.output[-6000:]


SENSOR_DAG_ID = "isolated_external_task_sensor"
SENSOR_RUN_ID = "sensor_1"
SENSOR_DAG = """
import time

import pendulum
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
from airflow.sdk import DAG, task

from airflow_isolation.operator import IsolatedOperator

MODES = {{
    "poke": {{"mode": "poke", "poke_interval": 2}},
    "reschedule": {{"mode": "reschedule", "poke_interval": 10}},
    "deferrable": {{"deferrable": True, "poke_interval": 2}},
}}

with DAG(
    "{dag_id}", start_date=pendulum.datetime(2024, 1, 1), schedule=None, catchup=False,
    is_paused_upon_creation=False,
):

    @task
    def slow():
        time.sleep(25)
        return "done"

    slow()
    for name, options in MODES.items():
        arguments = dict(external_dag_id="{dag_id}", external_task_id="slow", timeout=150, **options)
        ExternalTaskSensor(task_id=f"{{name}}_native", **arguments)
        IsolatedOperator(
            task_id=f"{{name}}_af31", environment="af31", operator=ExternalTaskSensor, **arguments
        )
"""


def test_external_task_sensor_waits_under_a_scheduler_as_natively(
    tmp_path: Path, built_envs: List[str]
) -> None:
    """The sensors start while the task they wait for still runs: each mode waits (polling over the
    channel, rescheduled by the scheduler, or deferred) and succeeds once it has, as natively."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "external_task_sensor.py").write_text(
        textwrap.dedent(SENSOR_DAG.format(dag_id=SENSOR_DAG_ID)).lstrip()
    )
    with airflow_deployment(tmp_path / "airflow", dags, {}) as airflow:
        airflow.wait_until_serving(SENSOR_DAG_ID)
        airflow.run_to_its_end(SENSOR_DAG_ID, SENSOR_RUN_ID, logical_date="2024-01-02T00:00:00+00:00")
        rows = airflow.query(
            "select task_id, state, try_number, end_date from task_instance where dag_id = ? and run_id = ?",
            SENSOR_DAG_ID,
            SENSOR_RUN_ID,
        )
        reschedules = airflow.query(
            "select ti.task_id from task_reschedule tr join task_instance ti on tr.ti_id = ti.id "
            "where ti.dag_id = ? and ti.run_id = ?",
            SENSOR_DAG_ID,
            SENSOR_RUN_ID,
        )
        logs = airflow.log_tails(SENSOR_DAG_ID, SENSOR_RUN_ID, [row[0] for row in rows], lines=40)
    instances = {task_id: (state, tries) for task_id, state, tries, _ in rows}
    ended = {task_id: end for task_id, _, _, end in rows}
    expected = {"slow": ("success", 1)}
    expected.update({f"{mode}_{variant}": ("success", 1) for mode in ("poke", "reschedule", "deferrable")
                     for variant in ("native", "af31")})  # fmt: skip
    assert instances == expected, f"{instances}\n{logs}"
    for variant in ("native", "af31"):
        for mode in ("poke", "reschedule", "deferrable"):
            assert ended[f"{mode}_{variant}"] >= ended["slow"], (
                f"{mode}_{variant} ended before what it waits for"
            )
        assert f"reschedule_{variant}" in {task for (task,) in reschedules}, (
            f"reschedule_{variant} never rescheduled"
        )
