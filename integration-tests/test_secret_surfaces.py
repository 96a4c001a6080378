"""No secret value in the rendered fields Airflow stores, the serialized DAG, XComs or the task log,
when a task templates a connection password and a secret Variable into its arguments.

argv, the target's environment, the container config and the pod spec are asserted where those
are built: conformance ``secret_probe`` (argv, initial environ), the Docker backend's
``test_secrets_stay_out_of_the_container_config`` and the Kubernetes golden pod test.
"""

from __future__ import annotations

import json

import pytest
from harness import host_env, run_dag

PASSWORD = "pw-5e6f7a8b9c0d"
TOKEN = "tok-1a2b3c4d5e6f"
SECRETS = {
    "AIRFLOW_CONN_SECRET_DB": json.dumps(
        {"conn_type": "postgres", "host": "db.internal", "login": "etl", "password": PASSWORD}
    ),
    "AIRFLOW_VAR_API_TOKEN": TOKEN,
}


def _stored(dag_id: str) -> dict[str, str]:
    """What the metadata database holds about the latest run: rendered fields, DAG, XComs."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rendered = session.scalars(
            select(RenderedTaskInstanceFields).where(RenderedTaskInstanceFields.dag_id == dag_id)
        ).all()
        serialized = session.scalars(
            select(SerializedDagModel).where(SerializedDagModel.dag_id == dag_id)
        ).all()
        xcoms = session.scalars(select(XComModel).where(XComModel.dag_id == dag_id)).all()
        return {
            "rendered fields": json.dumps([r.rendered_fields for r in rendered], default=str),
            "serialized DAG": json.dumps([s.data for s in serialized], default=str),
            "XComs": json.dumps([x.value for x in xcoms], default=str),
        }


@pytest.mark.parametrize(("env_name", "backend"), [("af31", "venv"), ("af210", "docker")])
def test_templated_secrets_leak_nowhere(
    env_name: str, backend: str, airflow_db: None, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue("built_envs" if backend == "venv" else "built_images")
    dag_id = f"secret_surfaces_{env_name}_{backend}"
    report = run_dag(dag_id, host_env(extra=SECRETS))
    assert report.states == {"templated_secret": "success"}, report.output[-6000:]
    printed = [line for line in report.output.splitlines() if "connecting with" in line]
    assert printed and all("connecting with *** and ***" in line for line in printed), printed
    stored = _stored(dag_id)
    assert '"password_length": 15' in stored["XComs"], stored["XComs"]
    assert "***" in stored["rendered fields"], stored["rendered fields"]
    for surface, text in {"task log": report.output, **stored}.items():
        for secret in (PASSWORD, TOKEN):
            assert secret not in text, f"{secret!r} reached the {surface}"
