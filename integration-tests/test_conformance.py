"""Host Airflow 3.x running the same tasks on an Airflow 2.10 target, a different Airflow 3.x
target, and targets without Airflow, in venvs, in Docker containers and in Kubernetes pods (on the
cluster ``KUBECONFIG`` names, see ``kubernetes_cluster.py``); every check runs as a
real task in a real DAG run (the compatibility matrix, ``test_matrix``, holds every cell of host
x target x Python to the same expectations)."""

from __future__ import annotations

import pytest
from conformance_expectations import CONNECTIONS, check_conformance
from harness import host_env, run_dag
from kubernetes_cluster import leftovers, new_leftovers, settings

CELLS = [("af210", "venv"), ("af31", "venv"), ("plain", "venv"), ("af210", "docker"), ("py313", "docker")]
CELLS += [("af210", "kubernetes"), ("af31", "kubernetes"), ("py313", "kubernetes")]
WITHOUT_AIRFLOW = {"plain", "py313"}
FIXTURES = {"venv": "built_envs", "docker": "built_images", "kubernetes": "kubernetes_images"}


@pytest.mark.parametrize(("env_name", "backend"), CELLS, ids=[f"{env}-{backend}" for env, backend in CELLS])
def test_conformance(env_name: str, backend: str, airflow_db: None, request: pytest.FixtureRequest) -> None:
    built = request.getfixturevalue(FIXTURES[backend])
    extra = dict(CONNECTIONS)
    if backend == "kubernetes":
        api = request.getfixturevalue("kubernetes_cluster")
        before = leftovers(api)
        extra.update(settings(built))
    dag_id = f"conformance_{env_name}" + ("" if backend == "venv" else f"_{backend}")
    report = run_dag(dag_id, host_env(extra=extra))
    check_conformance(report, has_airflow=env_name not in WITHOUT_AIRFLOW)
    if backend == "kubernetes":
        assert new_leftovers(api, before) == {"pods": [], "secrets": []}, "the run left pods or Secrets"
