"""One probe task per backend (``trust_doors.probe``): it tries every door of the worker that
DESIGN.md §8 says an isolated task never reaches, and fails naming each one it finds open.

The test that runs it (``test_trust_*``) puts a secret in the worker's environment and in a
connection variable, creates the decoy files, and listens on a loopback port; the DAG reads where
they are from the environment when it is parsed, on the worker, as a user's DAG would know them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pendulum
from airflow.sdk import DAG
from trust_doors import probe

from airflow_isolation.operator import IsolatedOperator

SECRET = os.environ.get("TRUST_PROBE_SECRET", "")
PORT = int(os.environ.get("TRUST_PROBE_PORT") or 0)


def _metadata_database() -> str:
    from airflow.configuration import conf

    url = conf.get("database", "sql_alchemy_conn", fallback="") or ""
    return url.split("sqlite:///", 1)[1].split("?")[0] if url.startswith("sqlite:///") else ""


def _warm_sockets() -> str:
    """Where this worker's warm runtimes listen: a task reaching one of another environment could
    run code outside its own sandbox."""
    from airflow_isolation.operator.environments import build_path
    from airflow_isolation.workspace.warm import socket_folder

    return str(socket_folder(build_path()))


def where_am_i() -> str:
    """What the sandbox's first process is: ``bwrap`` in a sandbox, something of the worker if not."""
    import os

    with open("/proc/1/cmdline", "rb") as handle:
        return os.path.basename(handle.read().split(b"\0")[0].decode())


def _doors() -> dict[str, str]:
    home = Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")
    return {
        "AIRFLOW_HOME": str(home),
        "airflow.cfg": str(home / "airflow.cfg"),
        "metadata database": _metadata_database(),
        "DAGs folder": os.environ.get("AIRFLOW__CORE__DAGS_FOLDER", ""),
        "build path": os.environ.get("TRUST_PROBE_OTHER_BUILD", ""),
        "another task's request": os.environ.get("TRUST_PROBE_OTHER_REQUEST", ""),
        "worker's home": os.environ.get("TRUST_PROBE_HOME_FILE", ""),
        "warm runtime sockets": _warm_sockets(),
        "Docker socket": "/var/run/docker.sock",
        "Kubernetes service account token": "/var/run/secrets/kubernetes.io/serviceaccount/token",
    }


CELLS = {
    "venv_af31": {"environment": "af31", "backend": "venv"},
    "venv_plain": {"environment": "plain", "backend": "venv"},
    "venv_plain_cold": {"environment": "plain", "backend": "venv", "backend_options": {"warm": False}},
    "docker_af210": {"environment": "af210", "backend": "docker"},
    "kubernetes_af31": {"environment": "af31", "backend": "kubernetes"},
    "kubernetes_af31_token": {
        "environment": "af31",
        "backend": "kubernetes",
        "backend_options": {"automount_service_account_token": True},
    },
}
"""Cell name → the task's environment, backend and options; a DAG ``trust_probe_<cell>`` each."""

NETWORK_NONE = {"venv": {"network": "none"}, "docker": {"network_mode": "none"}}
"""The option that cuts a backend's network: with it, the probe also tries the loopback port."""


for cell, task_args in CELLS.items():
    with DAG(
        dag_id=f"trust_probe_{cell}",
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        catchup=False,
        default_args={"retries": 0},
    ):
        IsolatedOperator(
            task_id="probe",
            python_callable=probe,
            op_kwargs={"secret": SECRET, "paths": _doors()},
            **task_args,
        )
        backend = str(task_args["backend"])
        if backend in NETWORK_NONE:
            IsolatedOperator(
                task_id="probe_network_none",
                python_callable=probe,
                op_kwargs={"secret": SECRET, "paths": _doors(), "loopback_port": PORT},
                **{
                    **task_args,
                    "backend_options": {**task_args.get("backend_options", {}), **NETWORK_NONE[backend]},
                },
            )


with DAG(
    dag_id="trust_sandbox_mode",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0},
):
    IsolatedOperator(task_id="where", environment="plain", backend="venv", python_callable=where_am_i)
