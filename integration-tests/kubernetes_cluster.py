"""The real Kubernetes cluster the ``backend="kubernetes"`` integration tests run pods on.

Opt-in: without ``KUBECONFIG`` naming a cluster the tests skip, and ``ISOLATION_REQUIRE_KUBERNETES=1``
(set by ``.ci/run``) makes that a failure. Pods run in ``ISOLATION_TEST_NAMESPACE`` (default
``default``; made if missing) and pull the environments' images from ``ISOLATION_TEST_REGISTRY``,
where ``isolationctl env push`` put them: the tasks find them through ``[isolation] image_registry``
and the push manifest, as a user's cluster pulls from theirs.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest
from harness import BUILD_PATH, TEST_ENVIRONMENTS

NAMESPACE = os.environ.get("ISOLATION_TEST_NAMESPACE", "default")
REQUEST_SECRETS = "airflow-isolation/request=true"
MANAGED_PODS = "io.airflow-isolation.managed=true"
ENVIRONMENT = "py313"
"""The environment single-task tests run in: no Airflow, which callables do not need."""
IMAGES = {"af210": "3.11", "af31": "3.11", "py313": "3.13"}
"""The environments whose images the cluster tests run, and the Python of each one's base image."""


def core_api() -> Any:
    """A client of the cluster ``KUBECONFIG`` names, once the test namespace exists."""
    kubeconfig = os.environ.get("KUBECONFIG")
    if not kubeconfig or not Path(kubeconfig).exists():
        # Opt-in by design (issue 4): not every CI machine can run a cluster, so ISOLATION_REQUIRE_REAL
        # does not cover it; ISOLATION_REQUIRE_KUBERNETES=1 makes a missing cluster a failure.
        if os.environ.get("ISOLATION_REQUIRE_KUBERNETES") == "1":
            pytest.fail("a Kubernetes cluster is required (ISOLATION_REQUIRE_KUBERNETES=1): set KUBECONFIG")
        pytest.skip("no Kubernetes cluster: set KUBECONFIG to run this suite")
    from kubernetes import client, config

    config.load_kube_config()
    api = client.CoreV1Api()
    ensure_namespace(api)
    return api


def ensure_namespace(api: Any) -> None:
    """Make the test namespace if it is missing (a cluster shared by several runs may be new)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        api.read_namespace(NAMESPACE)
    except ApiException as exc:
        if exc.status != 404:
            raise
        api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))


def settings(registry: str) -> Dict[str, str]:
    """The ``[isolation]`` settings of a host whose tasks run pods in the test namespace."""
    return {
        "AIRFLOW__ISOLATION__ENVIRONMENTS_PATH": str(TEST_ENVIRONMENTS),
        "AIRFLOW__ISOLATION__BUILD_PATH": str(BUILD_PATH),
        "AIRFLOW__ISOLATION__KUBERNETES_NAMESPACE": NAMESPACE,
        "AIRFLOW__ISOLATION__IMAGE_REGISTRY": registry,
    }


def leftovers(api: Any) -> Dict[str, List[str]]:
    """The isolation pods and request Secrets that exist in the test namespace now (every test
    takes this snapshot first, so it also makes sure the namespace is there)."""
    ensure_namespace(api)
    pods = api.list_namespaced_pod(NAMESPACE, label_selector=MANAGED_PODS).items
    return {
        "pods": sorted(p.metadata.name for p in pods if p.metadata.deletion_timestamp is None),
        "secrets": request_secrets(api),
    }


def new_leftovers(api: Any, before: Dict[str, List[str]]) -> Dict[str, List[str]]:
    now = leftovers(api)
    return {kind: [name for name in names if name not in before[kind]] for kind, names in now.items()}


class StubTaskInstance:
    """What the KubernetesPodOperator reads of a task instance: its identity (the pod's labels,
    which reattaching matches) and ``xcom_push``."""

    task_id, map_index, try_number, max_tries = "isolated", -1, 1, 0

    def __init__(self, dag_id: str, run_id: str) -> None:
        import pendulum

        self.dag_id, self.run_id, self.start_date = dag_id, run_id, pendulum.now("UTC")
        self.pushed: Dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value

    def xcom_pull(self, *args: Any, **kwargs: Any) -> Any:
        return None


def new_dag_id() -> str:
    return f"k8s_{uuid.uuid4().hex[:8]}"


def run_task(
    python_callable: Any, *, dag_id: Optional[str] = None, run_id: Optional[str] = None, **kwargs: Any
) -> Any:
    """Run ``python_callable`` in a pod as Airflow's task runner runs ``execute`` (execution_timeout
    and ``on_kill`` included)."""
    from airflow.sdk.execution_time.task_runner import _run_execute_callable

    from airflow_isolation.operator.operator import IsolatedOperator

    op = IsolatedOperator(task_id="isolated", environment=ENVIRONMENT, backend="kubernetes",
                          python_callable=python_callable, **kwargs)  # fmt: skip
    ti = StubTaskInstance(dag_id or new_dag_id(), run_id or f"manual__{uuid.uuid4().hex}")
    context = {"ti": ti, "task_instance": ti, "run_id": ti.run_id, "dag": None, "params": {}}
    return _run_execute_callable(context, op.execute, op)


def request_secrets(api: Any) -> List[str]:
    found = api.list_namespaced_secret(NAMESPACE, label_selector=REQUEST_SECRETS)
    return sorted(s.metadata.name for s in found.items)


def pods_of(api: Any, dag_id: str) -> List[Any]:
    return list(api.list_namespaced_pod(NAMESPACE, label_selector=f"dag_id={dag_id}").items)


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 120) -> Any:
    """Poll the API server until ``condition()`` is truthy (a deleted pod lingers for its grace
    period, a pod's phase changes on the kubelet's schedule)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def assert_nothing_left(api: Any, dag_id: str, secrets_before: List[str]) -> None:
    """No pod of ``dag_id`` and no request Secret but those there before the run."""
    wait_for(lambda: not pods_of(api, dag_id), f"deletion of the pods of {dag_id}")
    assert set(request_secrets(api)) <= set(secrets_before), "a request Secret was left behind"


def delete_pods_of(api: Any, dag_id: str) -> None:
    for pod in pods_of(api, dag_id):
        api.delete_namespaced_pod(pod.metadata.name, NAMESPACE, grace_period_seconds=0)
