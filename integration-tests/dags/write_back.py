"""Write-backs from isolated tasks: what is refused, and what ``write_back`` buffers for the host.

One DAG per Airflow target (``write_back_<env>``). Host-side checks read the Variables the host
holds after the isolated tasks ran, so a write applied at the wrong time (or not at all) fails.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Variable, task

from airflow_isolation.operator import IsolatedOperator

ENVIRONMENTS = ("af210", "af31")


def set_without_opt_in(key):
    try:
        from airflow.sdk import Variable
    except ImportError:
        from airflow.models import Variable
    Variable.set(key, "never")


def set_buffered(key, ds):
    try:
        from airflow.sdk import Variable
    except ImportError:
        from airflow.models import Variable
    Variable.set(key, ds, description="written by an isolated task")
    Variable.set(f"{key}_json", {"day": ds, "n": [1, 2]}, serialize_json=True)
    assert Variable.get(key) == ds, "a Variable.set must be readable later in the same run"
    return Variable.get(f"{key}_json", deserialize_json=True)


def set_then_fail(key):
    try:
        from airflow.sdk import Variable
    except ImportError:
        from airflow.models import Variable
    Variable.set(key, "must not be applied")
    raise RuntimeError("failing after a buffered Variable.set")


def push_with_xcom_off(ti):
    ti.xcom_push(key="extra", value=1)


def query_the_database():
    from airflow.utils.session import create_session

    with create_session() as session:
        session.execute("SELECT 1")


for env_name in ENVIRONMENTS:
    prefix = f"isolation_wb_{env_name}"
    with DAG(
        dag_id=f"write_back_{env_name}",
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        catchup=False,
    ) as dag:
        refused = IsolatedOperator(
            task_id="refused",
            environment=env_name,
            python_callable=set_without_opt_in,
            op_args=[f"{prefix}_refused"],
        )
        buffered = IsolatedOperator(
            task_id="buffered",
            environment=env_name,
            python_callable=set_buffered,
            op_kwargs={"key": prefix, "ds": "{{ ds }}"},
            write_back=["xcom", "variables"],
        )
        failed_after_set = IsolatedOperator(
            task_id="failed_after_set",
            environment=env_name,
            python_callable=set_then_fail,
            op_args=[f"{prefix}_failed"],
            write_back=["variables"],
        )
        xcom_off = IsolatedOperator(
            task_id="xcom_off", environment=env_name, python_callable=push_with_xcom_off, write_back=[]
        )
        database = IsolatedOperator(
            task_id="database", environment=env_name, python_callable=query_the_database
        )

        @task(task_id="check_variables", trigger_rule="all_done")
        def check_variables(prefix: str, returned: dict) -> None:
            assert Variable.get(prefix) == "2024-01-02", Variable.get(prefix)
            assert Variable.get(f"{prefix}_json", deserialize_json=True) == {"day": "2024-01-02", "n": [1, 2]}
            assert returned == {"day": "2024-01-02", "n": [1, 2]}, returned
            for never in (f"{prefix}_refused", f"{prefix}_failed"):
                assert Variable.get(never, default=None) is None, f"{never} was written"

        [refused, failed_after_set, xcom_off, database] >> check_variables(prefix, buffered.output)
