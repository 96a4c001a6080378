"""A Python 3.13 task in a Debian trixie image, used to check pulling an image from a registry."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

with DAG(
    dag_id="docker_pull",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    default_args={"retries": 0},
):

    @task.isolated(environment="py313", backend="docker")
    def where_am_i():
        import pathlib
        import platform

        return {
            "python": platform.python_version(),
            "debian": pathlib.Path("/etc/debian_version").read_text().strip(),
        }

    @task
    def check_target(info):
        assert info["python"].startswith("3.13."), info
        assert info["debian"].startswith(("13", "trixie")), info

    check_target(where_am_i())
