"""What the real-cluster tests of the Kubernetes backend share: the cluster (or the reason there is
none), the environment image pushed where the cluster pulls, a task run as the task runner runs it,
and what a run left in the namespace.

The cluster is opt-in: without ``KUBECONFIG`` the tests skip, and under
``ISOLATION_REQUIRE_KUBERNETES=1`` (``.ci/run``) they fail. The namespace is
``ISOLATION_TEST_NAMESPACE`` (default ``default``; created when missing).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest
from harness import (
    BASE_IMAGES,
    BUILD_PATH,
    TEST_ENVIRONMENTS,
    build_image,
    docker_client,
    push_image,
    require_base_image,
    require_registry,
)

NAMESPACE = os.environ.get("ISOLATION_TEST_NAMESPACE", "default")
ENVIRONMENT = "py313"
"""No Airflow in it: callables need none, and it builds and pulls quickly."""
REQUEST_SELECTOR = "airflow-isolation/request=true"


def require_cluster() -> Any:
    """A ``CoreV1Api`` of the cluster ``KUBECONFIG`` names, with the test namespace there."""
    kubeconfig = os.environ.get("KUBECONFIG")
    if not kubeconfig or not Path(kubeconfig).exists():
        # Opt-in by design (issue 4): no cluster can be had on most CI machines, so
        # ISOLATION_REQUIRE_REAL does not cover it; ISOLATION_REQUIRE_KUBERNETES=1 makes it required.
        if os.environ.get("ISOLATION_REQUIRE_KUBERNETES") == "1":
            pytest.fail("a Kubernetes cluster is required (ISOLATION_REQUIRE_KUBERNETES=1): set KUBECONFIG")
        pytest.skip("no Kubernetes cluster: set KUBECONFIG to run this suite")
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    config.load_kube_config()
    api = client.CoreV1Api()
    try:
        api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
    except ApiException as exc:
        if exc.status != 409:
            raise
    api.list_namespaced_pod(NAMESPACE, limit=1)
    return api


def push_environment_image() -> str:
    """Build the environment's image and push it where the cluster pulls; the registry's address."""
    require_base_image(docker_client(), BASE_IMAGES["3.13"])
    registry = require_registry()
    build_image(ENVIRONMENT, BASE_IMAGES["3.13"])
    push_image(ENVIRONMENT, registry)
    return registry


def settings_env(registry: str) -> Dict[str, str]:
    """The ``[isolation]`` settings every run of these tests uses, as environment variables."""
    return {
        "AIRFLOW__ISOLATION__ENVIRONMENTS_PATH": str(TEST_ENVIRONMENTS),
        "AIRFLOW__ISOLATION__BUILD_PATH": str(BUILD_PATH),
        "AIRFLOW__ISOLATION__KUBERNETES_NAMESPACE": NAMESPACE,
        "AIRFLOW__ISOLATION__IMAGE_REGISTRY": registry,
    }


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
    found = api.list_namespaced_secret(NAMESPACE, label_selector=REQUEST_SELECTOR)
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
