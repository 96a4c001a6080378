"""The Kubernetes backend against a real cluster: runs when ``KUBECONFIG`` names one, else skips
(fails under ``ISOLATION_REQUIRE_KUBERNETES=1``).

The cluster pulls from ``ISOLATION_TEST_REGISTRY`` (default 127.0.0.1:5000, right for kind with a
local registry), where the py313 environment's image is pushed with ``isolationctl``; the namespace
is ``ISOLATION_TEST_NAMESPACE`` (default ``default``). See ``kubernetes_cluster.py``.
"""

from __future__ import annotations

from typing import Any, Dict

import pytest
from kubernetes_cluster import request_secrets, run_task


def add(a: int, b: int) -> Dict[str, Any]:
    import datetime as dt

    return {"sum": a + b, "when": dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)}


def boom() -> None:
    raise ValueError("kaboom in a pod")


def test_callable_runs_in_a_pod_and_cleans_up(kubernetes: Any) -> None:
    before = set(request_secrets(kubernetes))
    result = run_task(add, op_args=[2, 3])
    assert result["sum"] == 5 and result["when"].year == 2024
    assert set(request_secrets(kubernetes)) <= before


def test_failure_in_a_pod_keeps_the_remote_traceback(kubernetes: Any) -> None:
    from airflow_isolation.operator.exchange.result_handler import IsolatedTaskFailed

    before = set(request_secrets(kubernetes))
    with pytest.raises(IsolatedTaskFailed, match="kaboom in a pod"):
        run_task(boom)
    assert set(request_secrets(kubernetes)) <= before
