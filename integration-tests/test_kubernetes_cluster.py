"""The Kubernetes backend against a real cluster, one task at a time in this process: runs when
``KUBECONFIG`` names one, else skips (fails under ``ISOLATION_REQUIRE_KUBERNETES=1``).

The cluster pulls from ``ISOLATION_TEST_REGISTRY`` (default 127.0.0.1:5000, right for kind with a
local registry), where the py313 environment's image is pushed with ``isolationctl``; the namespace
is ``ISOLATION_TEST_NAMESPACE`` (default ``default``). See ``kubernetes_cluster.py``.
"""

from __future__ import annotations

import uuid
from typing import Any, Dict

import pytest
from harness import BUILD_PATH, TEST_ENVIRONMENTS
from kubernetes_cluster import NAMESPACE, ensure_namespace, settings


def add(a: int, b: int) -> Dict[str, Any]:
    import datetime as dt

    return {"sum": a + b, "when": dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)}


def boom() -> None:
    raise ValueError("kaboom in a pod")


@pytest.fixture
def configured(kubernetes_images: str, kubernetes_cluster: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AIRFLOW__ISOLATION__ENVIRONMENTS_PATH", str(TEST_ENVIRONMENTS))
    monkeypatch.setenv("AIRFLOW__ISOLATION__BUILD_PATH", str(BUILD_PATH))
    for name, value in settings(kubernetes_images).items():
        monkeypatch.setenv(name, value)
    ensure_namespace(kubernetes_cluster)
    return kubernetes_cluster


def _run(python_callable: Any, **kwargs: Any) -> Any:
    from airflow.sdk.execution_time.task_runner import _run_execute_callable

    from airflow_isolation.operator.operator import IsolatedOperator

    dag_id = f"k8s_{uuid.uuid4().hex[:8]}"
    op = IsolatedOperator(task_id="isolated", environment="py313", backend="kubernetes",
                          python_callable=python_callable, **kwargs)  # fmt: skip

    class TI:
        task_id, map_index, try_number, max_tries = "isolated", -1, 1, 0
        run_id = f"manual__{uuid.uuid4().hex}"

        def __init__(self) -> None:
            import pendulum

            self.dag_id, self.start_date, self.pushed = dag_id, pendulum.now("UTC"), {}

        def xcom_push(self, key: str, value: Any) -> None:
            self.pushed[key] = value

        def xcom_pull(self, *args: Any, **kwargs: Any) -> Any:
            return None

    ti = TI()
    context = {"ti": ti, "task_instance": ti, "run_id": ti.run_id, "dag": None, "params": {}}
    return _run_execute_callable(context, op.execute, op)


def _leftover_secrets(api: Any) -> list[str]:
    found = api.list_namespaced_secret(NAMESPACE, label_selector="airflow-isolation/request=true")
    return [s.metadata.name for s in found.items]


def test_callable_runs_in_a_pod_and_cleans_up(configured: Any) -> None:
    before = set(_leftover_secrets(configured))
    result = _run(add, op_args=[2, 3])
    assert result["sum"] == 5 and result["when"].year == 2024
    assert set(_leftover_secrets(configured)) <= before


def test_failure_in_a_pod_keeps_the_remote_traceback(configured: Any) -> None:
    from airflow_isolation.operator.result_handler import IsolatedTaskFailed

    before = set(_leftover_secrets(configured))
    with pytest.raises(IsolatedTaskFailed, match="kaboom in a pod"):
        _run(boom)
    assert set(_leftover_secrets(configured)) <= before
