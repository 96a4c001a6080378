"""What an isolated task asks its Airflow at run time, answered by the host (the channel back).

``host_channel_upstream`` runs first (``test_host_channel.py``); then ``host_channel_<env>`` has
each read done natively and isolated (venv and docker backends): ``xcom_pull`` of a task that is
not upstream, of a custom key and of another dag, and a variable and a connection no task ships (the
host defines them; its secrets backends answer), on Airflow 3.1 and 2.10 targets; on Airflow 3 also the task
instance's state reads and ``ExternalTaskSensor`` against that run (poke, reschedule, deferrable).
A host-side check compares each isolated answer with its native twin's.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
from airflow.sdk import DAG, task

from airflow_isolation.operator import IsolatedOperator

CELLS = [("host_channel_af31", "af31", "venv", True), ("host_channel_af210", "af210", "venv", False)]
CELLS += [("host_channel_af210_docker", "af210", "docker", False)]
"""Each DAG: its environment, backend, and whether that Airflow has the task SDK's state reads."""
START = pendulum.datetime(2024, 1, 1, tz="UTC")
UPSTREAM = "host_channel_upstream"
SENSOR_MODES = {
    "poke": {"mode": "poke"},
    "reschedule": {"mode": "reschedule"},
    "deferrable": {"deferrable": True},
}

with DAG(UPSTREAM, schedule=None, start_date=START):

    @task
    def produce(ti=None):
        ti.xcom_push(key="custom", value={"from": "upstream", "n": 2})
        return {"rows": 3}

    produce()


def reads(say=False, sdk_reads=True, ti=None):
    """Everything a task may ask its Airflow, as one value to compare with the native twin's; the
    isolated one also prints the password it read, which the task log must mask (``airflow dags
    test`` prints a native task's output unmasked, so the native twin keeps quiet)."""
    try:
        from airflow.sdk import BaseHook, Variable
    except ImportError:
        from airflow.hooks.base import BaseHook
        from airflow.models import Variable
    connection = BaseHook.get_connection("host_channel_conn")
    if say:
        print(f"the unshipped password is {connection.password}")
    found = {
        "not_upstream": ti.xcom_pull(task_ids="source"),
        "custom_key": ti.xcom_pull(task_ids="source", key="custom"),
        "other_dag": ti.xcom_pull(dag_id=UPSTREAM, task_ids="produce", key="custom"),
        "missing": ti.xcom_pull(task_ids="source", key="never_pushed", default="fallback"),
        "variable": Variable.get("host_channel_var"),
        "connection": [connection.conn_type, connection.host, connection.login, bool(connection.password)],
    }
    if sdk_reads:
        found["upstream_runs"] = ti.get_dr_count(dag_id=UPSTREAM)
        found["upstream_done"] = ti.get_ti_count(dag_id=UPSTREAM, task_ids=["produce"], states=["success"])
        found["states"] = ti.get_task_states(dag_id=UPSTREAM, task_ids=["produce"])
    return found


for dag_id, env_name, backend, sdk_reads in CELLS:
    with DAG(dag_id, schedule=None, start_date=START, default_args={"retries": 0, "backend": backend}):

        @task
        def source(ti=None):
            ti.xcom_push(key="custom", value=[1, "two"])
            return {"v": 5}

        gap = EmptyOperator(task_id="gap")  # so the readers are not direct downstreams of source
        isolated = IsolatedOperator(
            task_id="reads",
            environment=env_name,
            python_callable=reads,
            op_kwargs={"say": True, "sdk_reads": sdk_reads},
        )
        native = task(task_id="native_reads")(reads)(sdk_reads=sdk_reads)
        source() >> gap >> [isolated, native]

        sensors = []
        for name, options in SENSOR_MODES.items() if sdk_reads else ():
            arguments = dict(
                external_dag_id=UPSTREAM, external_task_id="produce", poke_interval=1, timeout=120, **options
            )
            sensors += [
                IsolatedOperator(
                    task_id=f"sensor_{name}", environment=env_name, operator=ExternalTaskSensor, **arguments
                ),
                ExternalTaskSensor(task_id=f"native_sensor_{name}", **arguments),
            ]

        @task
        def check(ti=None):
            isolated_reads, native_reads = ti.xcom_pull(task_ids=["reads", "native_reads"])
            assert isolated_reads == native_reads, (isolated_reads, native_reads)
            assert isolated_reads["not_upstream"] == {"v": 5}, isolated_reads
            assert isolated_reads["custom_key"] == [1, "two"], isolated_reads
            assert isolated_reads["missing"] is None, isolated_reads  # Airflow 3 ignores default here
            assert isolated_reads["variable"] == "from the host's secrets", isolated_reads
            assert isolated_reads["other_dag"] is None, isolated_reads  # that dag has no run of this id

        [isolated, native, *sensors] >> check()
