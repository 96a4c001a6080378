"""The package is a real Airflow provider: listed by `airflow providers list`, `@task.isolated` works."""

from __future__ import annotations

import json

from harness import airflow_cli


def test_providers_list_shows_isolation() -> None:
    proc = airflow_cli("providers", "list", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    packages = {p["package_name"]: p for p in json.loads(proc.stdout[proc.stdout.index("[") :])}
    assert "airflow-isolation-operator" in packages, sorted(packages)


def test_task_isolated_decorator_is_registered() -> None:
    from airflow.sdk import task

    assert callable(task.isolated)
