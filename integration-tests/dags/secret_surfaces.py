"""A connection password templated into an isolated task's arguments, on each backend: the tests
then look for it everywhere Airflow keeps or shows something about the task."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_isolation.operator import IsolatedOperator

CELLS = {"af31": "venv", "af210": "docker"}


def use_password(password, token):
    print(f"connecting with {password} and {token}")
    return {"password_length": len(password), "token_length": len(token)}


for env_name, backend in CELLS.items():
    with DAG(
        dag_id=f"secret_surfaces_{env_name}_{backend}",
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        catchup=False,
    ):
        IsolatedOperator(
            task_id="templated_secret",
            environment=env_name,
            backend=backend,
            python_callable=use_password,
            op_kwargs={"password": "{{ conn.secret_db.password }}", "token": "{{ var.value.api_token }}"},
        )
