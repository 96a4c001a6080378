"""The docker and kubernetes backends close every door of the worker (DESIGN.md §8), run as a user
runs a DAG: the probe of ``dags/trust_probe.py`` (``trust_doors.probe``) under ``airflow dags test``,
in a hardened container (every capability dropped, ``no-new-privileges``; Docker also with its
network cut) and in a hardened pod of the cluster built here (no service account token, no
privilege escalation, no capabilities, ``RuntimeDefault`` seccomp). Each fails naming every door it
finds open. The control: the same pod with ``automount_service_account_token=True`` finds the token
(and only the doors that option opens), so a probe that passes is not one that cannot fail; the
venv backend's control, which opens every other door, is in ``test_trust_venv.py``.
"""

from __future__ import annotations

from typing import Any, Dict

import pytest
from harness import TEST_DAGS, DagRunReport, run_dag
from kubernetes_cluster import leftovers, new_leftovers, settings

pytestmark = pytest.mark.usefixtures("airflow_db")

EXPECTED = {
    "docker": {"probe": "success", "probe_network_none": "success"},
    "kubernetes": {"probe": "success"},
}
CELLS = {"docker": "docker_af210", "kubernetes": "kubernetes_af31"}


def _probe(cell: str, env: Dict[str, str]) -> DagRunReport:
    return run_dag(f"trust_probe_{cell}", env, dag_file=TEST_DAGS / "trust_probe.py")


def _open_doors(output: str) -> str:
    return "\n".join(line for line in output.splitlines() if "open doors:" in line)


def _cluster_env(request: pytest.FixtureRequest, env: Dict[str, str]) -> Dict[str, str]:
    return {**env, **settings(request.getfixturevalue("kubernetes_images"))}


@pytest.mark.parametrize("backend", ["docker", "kubernetes"])
def test_a_container_task_finds_every_door_closed(
    backend: str, probe_env: Dict[str, str], request: pytest.FixtureRequest
) -> None:
    env = dict(probe_env)
    api: Any = None
    if backend == "docker":
        request.getfixturevalue("built_images")
    else:
        api = request.getfixturevalue("kubernetes_cluster")
        env = _cluster_env(request, env)
        before = leftovers(api)
    report = _probe(CELLS[backend], env)
    assert report.states == EXPECTED[backend], _open_doors(report.output) or report.output[-8000:]
    assert probe_env["TRUST_PROBE_SECRET"] not in report.output
    if api is not None:
        assert new_leftovers(api, before) == {"pods": [], "secrets": []}, "the run left pods or Secrets"


def test_a_pod_asked_to_mount_its_token_has_it(
    probe_env: Dict[str, str], kubernetes_cluster: Any, request: pytest.FixtureRequest
) -> None:
    """The control of the pod probe: the door it checks is really there to find when opened."""
    api = kubernetes_cluster
    before = leftovers(api)
    report = _probe("kubernetes_af31_token", _cluster_env(request, probe_env))
    assert report.states == {"probe": "failed"}, report.output[-8000:]
    found = _open_doors(report.output)
    assert "Kubernetes service account token" in found, found or report.output[-8000:]
    for door in ("airflow.cfg", "metadata database", "DAGs folder", "another task's request", "environ"):
        assert door not in found, f"{door!r} should stay closed in a pod:\n{found}"
    assert new_leftovers(api, before) == {"pods": [], "secrets": []}, "the run left pods or Secrets"
