"""Isolated Kubernetes tasks run by a real deployment: scheduler (LocalExecutor), dag-processor,
api-server and triggerer (``deployment.py``), pods on the cluster ``KUBECONFIG`` names.

One deployment serves the module: ``kubernetes_fanout`` runs twenty mapped pods at once,
``kubernetes_deferrable`` a task that waits for its pod in the triggerer. Either way every XCom must
come back right and nothing may be left in the namespace: no pod, no request Secret.
"""

from __future__ import annotations

import shutil
import time
from typing import Any, Dict, Iterator, Set

import pytest
from deployment import Deployment, airflow_deployment
from harness import TEST_DAGS
from kubernetes_cluster import leftovers, new_leftovers, settings

WIDTH = 20
SETTINGS = {
    "AIRFLOW__CORE__PARALLELISM": str(WIDTH + 4),
    "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(WIDTH + 4),
    "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
}
NOTHING_LEFT = {"pods": [], "secrets": []}


@pytest.fixture(scope="module")
def airflow(kubernetes_images: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("kubernetes-deployment")
    dags = home / "dags"
    dags.mkdir()
    shutil.copy(TEST_DAGS / "kubernetes_deployment.py", dags)
    configured = {**SETTINGS, **settings(kubernetes_images)}
    with airflow_deployment(home / "airflow", dags, configured) as deployment:
        deployment.wait_until_serving("kubernetes_fanout")
        deployment.wait_until_serving("kubernetes_deferrable")
        yield deployment


def _run(airflow: Deployment, dag_id: str, run_id: str, seen: Dict[str, Set[str]]) -> str:
    """Trigger ``dag_id`` and wait for its end, recording every state each task was seen in."""
    airflow.trigger(dag_id, run_id, {})

    def ended() -> bool:
        for task, state in airflow.task_states(dag_id, run_id).items():
            seen.setdefault(task, set()).add(state)
        return airflow.run_state(dag_id, run_id) in ("success", "failed")

    airflow.wait_for(f"the run {run_id} of {dag_id} ending", ended, timeout=900)
    return str(airflow.run_state(dag_id, run_id))


def _settled(api: Any, before: Dict[str, Any], timeout: float = 60) -> Dict[str, Any]:
    """What the runs left, once pods the KPO deleted have had time to go (deletion is graceful)."""
    deadline = time.monotonic() + timeout
    while True:
        left = new_leftovers(api, before)
        if left == NOTHING_LEFT or time.monotonic() > deadline:
            return left
        time.sleep(1)


def test_twenty_isolated_pods_at_once(airflow: Deployment, kubernetes_cluster: Any) -> None:
    before = leftovers(kubernetes_cluster)
    seen: Dict[str, Set[str]] = {}
    began = time.monotonic()
    state = _run(airflow, "kubernetes_fanout", "fanout_1", seen)
    states = airflow.task_states("kubernetes_fanout", "fanout_1")
    print(f"\n{WIDTH} isolated pods: run took {time.monotonic() - began:.0f} s")
    failed = [task for task, task_state in states.items() if task_state != "success"]
    assert state == "success", f"{states}\n{airflow.log_tails('kubernetes_fanout', 'fanout_1', failed)}"
    assert states == {**{f"work[{i}]": "success" for i in range(WIDTH)}, "collect": "success"}
    assert _settled(kubernetes_cluster, before) == NOTHING_LEFT, "the run left pods or Secrets behind"


def test_deferrable_task_waits_in_the_triggerer(airflow: Deployment, kubernetes_cluster: Any) -> None:
    before = leftovers(kubernetes_cluster)
    seen: Dict[str, Set[str]] = {}
    state = _run(airflow, "kubernetes_deferrable", "deferred_1", seen)
    states = airflow.task_states("kubernetes_deferrable", "deferred_1")
    logs = airflow.log_tails("kubernetes_deferrable", "deferred_1", states, lines=60)
    triggerer = airflow.tail("triggerer")
    assert "deferred" in seen.get("in_triggerer", set()), f"never seen deferred: {seen}\n{logs}"
    assert state == "success", f"{states}\n{logs}\n--- triggerer\n{triggerer}"
    assert states == {"in_triggerer": "success", "check_deferred": "success"}
    assert _settled(kubernetes_cluster, before) == NOTHING_LEFT, "the run left its pod or Secret behind"
