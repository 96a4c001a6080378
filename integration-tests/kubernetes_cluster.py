"""The real Kubernetes cluster the ``backend="kubernetes"`` integration tests run pods on.

Opt-in: without ``KUBECONFIG`` naming a cluster the tests skip, and ``ISOLATION_REQUIRE_KUBERNETES=1``
(set by ``.ci/run``) makes that a failure. Pods run in ``ISOLATION_TEST_NAMESPACE`` (default
``default``; made if missing) and pull the environments' images from ``ISOLATION_TEST_REGISTRY``,
where ``isolationctl env push`` put them: the tasks find them through ``[isolation] image_registry``
and the push manifest, as a user's cluster pulls from theirs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List

import pytest

NAMESPACE = os.environ.get("ISOLATION_TEST_NAMESPACE", "default")
REQUEST_SECRETS = "airflow-isolation/request=true"
MANAGED_PODS = "io.airflow-isolation.managed=true"
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
        "AIRFLOW__ISOLATION__KUBERNETES_NAMESPACE": NAMESPACE,
        "AIRFLOW__ISOLATION__IMAGE_REGISTRY": registry,
    }


def leftovers(api: Any) -> Dict[str, List[str]]:
    """The isolation pods and request Secrets that exist in the test namespace now (every test
    takes this snapshot first, so it also makes sure the namespace is there)."""
    ensure_namespace(api)
    pods = api.list_namespaced_pod(NAMESPACE, label_selector=MANAGED_PODS).items
    secrets = api.list_namespaced_secret(NAMESPACE, label_selector=REQUEST_SECRETS).items
    return {
        "pods": sorted(p.metadata.name for p in pods if p.metadata.deletion_timestamp is None),
        "secrets": sorted(s.metadata.name for s in secrets),
    }


def new_leftovers(api: Any, before: Dict[str, List[str]]) -> Dict[str, List[str]]:
    now = leftovers(api)
    return {kind: [name for name in names if name not in before[kind]] for kind, names in now.items()}
