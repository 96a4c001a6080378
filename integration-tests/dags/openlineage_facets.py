"""The same tasks natively and isolated (Airflow 3.1 and 2.10 targets), for the OpenLineage
listener to report: ``integration-tests/test_lineage.py`` compares the events."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG
from lineage_operators import LoadOperator, PlainOperator

from airflow_isolation.operator import IsolatedOperator

ENVIRONMENTS = ("lineage31", "lineage210")

with DAG(
    dag_id="openlineage_facets",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
):
    LoadOperator(task_id="native_ok", partition="{{ ds_nodash }}")
    LoadOperator(task_id="native_fail", partition="{{ ds_nodash }}", fail=True)
    PlainOperator(task_id="native_plain")
    for env in ENVIRONMENTS:
        for outcome, fail in (("ok", False), ("fail", True)):
            IsolatedOperator(
                task_id=f"{env}_{outcome}",
                operator=LoadOperator,
                environment=env,
                partition="{{ ds_nodash }}",
                fail=fail,
            )
        IsolatedOperator(task_id=f"{env}_plain", operator=PlainOperator, environment=env)
