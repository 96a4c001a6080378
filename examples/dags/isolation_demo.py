"""airflow-isolation demo: every task except `host_summary` runs in environments/example
(Airflow 2.10.5 + pandas 1.x) while this DAG runs on an Airflow 3 host with pandas 2.

The same tasks make two DAGs: `isolation_demo` runs them in the environment's virtualenv, and
`isolation_demo_docker` in its image (`isolationctl env build example --target image`). Both
mount the folder of the demo's SQLite file, writable: a venv target runs in a sandbox that shows
nothing of the worker's files but what the task mounts, as a container does.
"""

from __future__ import annotations

import os
from pathlib import Path

import pendulum
from airflow.sdk import DAG, task

from airflow_isolation.operator import IsolatedOperator

ENV = "example"
DEMO_DATA = os.environ.get("ISOLATION_DEMO_DATA", "/tmp/airflow-isolation-demo")


def target_versions() -> dict:
    import platform

    import airflow
    import pandas

    return {"airflow": airflow.__version__, "pandas": pandas.__version__, "python": platform.python_version()}


def summarise(day, ti):
    import pandas as pd

    frame = pd.DataFrame({"amount": [1.5, 2.5, 3.0]})
    ti.xcom_push(key="row_count", value=len(frame))
    return {"day": day, "total": float(frame["amount"].sum()), "pandas": pd.__version__}


def choose_branch(**context):
    return "big_day" if context["params"]["min_amount"] > 5 else "small_day"


def demo_dag(dag_id: str, **isolation) -> DAG:
    """The demo's tasks. ``default_args`` hands the environment and ``isolation`` (backend,
    backend_options) to every isolated task, as Airflow does for any operator argument."""
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        catchup=False,
        template_searchpath=[str(Path(__file__).parent / "sql")],
        params={"min_amount": 10},
        tags=["airflow-isolation"],
        default_args={"environment": ENV, **isolation},
    ) as dag:
        versions = IsolatedOperator(task_id="target_versions", python_callable=target_versions)

        bash = IsolatedOperator(
            task_id="bash",
            operator="airflow.providers.standard.operators.bash.BashOperator",
            bash_command="echo \"isolated bash for {{ ds }} on "
            "$(python -c 'import airflow; print(airflow.__version__)')\"",
        )

        pandas_summary = IsolatedOperator(
            task_id="pandas_summary",
            operator="airflow.providers.standard.operators.python.PythonOperator",
            python_callable=summarise,
            op_kwargs={"day": "{{ ds }}"},
        )

        create_table = IsolatedOperator(
            task_id="create_table",
            operator="airflow.providers.common.sql.operators.sql.SQLExecuteQueryOperator",
            conn_id="demo_sqlite",
            sql="create_sales.sql",
            split_statements=True,
            return_last=False,
        )

        report = IsolatedOperator(
            task_id="sql_report",
            operator="airflow.providers.common.sql.operators.sql.SQLExecuteQueryOperator",
            conn_id="demo_sqlite",
            sql="daily_report.sql",
        )

        branch = IsolatedOperator(
            task_id="branch",
            operator="airflow.providers.standard.operators.python.BranchPythonOperator",
            python_callable=choose_branch,
        )
        big_day = IsolatedOperator(
            task_id="big_day",
            operator="airflow.providers.standard.operators.bash.BashOperator",
            bash_command="echo big day",
        )
        small_day = IsolatedOperator(
            task_id="small_day",
            operator="airflow.providers.standard.operators.bash.BashOperator",
            bash_command="echo small day",
        )

        @task
        def host_summary(summary: dict, rows, versions: dict, ti=None) -> dict:
            """A normal (non-isolated) task consuming XComs produced in the isolated environment."""
            import pandas

            row_count = ti.xcom_pull(task_ids="pandas_summary", key="row_count")
            return {
                "host_pandas": pandas.__version__,
                "target": versions,
                "summary": summary,
                "rows": rows,
                "row_count": row_count,
            }

        create_table >> report
        host_summary(pandas_summary.output, report.output, versions.output)
        bash >> branch >> [big_day, small_day]
    return dag


isolation_demo = demo_dag(
    "isolation_demo", backend_options={"mounts": [{"source": DEMO_DATA, "read_only": False}]}
)
isolation_demo_docker = demo_dag(
    "isolation_demo_docker",
    backend="docker",
    backend_options={"mounts": [{"source": DEMO_DATA, "target": DEMO_DATA, "type": "bind"}]},
)
