from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import (
    BASE_IMAGES,
    BUILD_PATH,
    airflow_cli,
    build_environment,
    build_image,
    docker_client,
    push_image,
    require_base_image,
    require_registry,
)


@pytest.fixture(scope="session", autouse=True)
def _stop_warm_runtimes() -> Any:
    """The venv backend's warm runtimes and the Docker backend's pooled containers idle out on their
    own; a test session stops the ones its DAG runs started, so none outlives it."""
    from warm_runtimes import stop_warm_runtimes

    yield
    stop_warm_runtimes(BUILD_PATH)
    import docker
    from docker_standby import remove_standby_containers

    try:
        client = docker.from_env()
        client.ping()
    except Exception:  # no engine: no pooled containers either
        return
    remove_standby_containers(client, BUILD_PATH)
    client.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration-tests" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A migrated metadata database in the test AIRFLOW_HOME (set in the root conftest)."""
    proc = airflow_cli("db", "migrate", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="session")
def built_envs() -> list[str]:
    names = ["af210", "af31", "plain"]
    for name in names:
        build_environment(name)
    return names


@pytest.fixture(scope="session")
def built_images() -> list[str]:
    """Images of the environments the Docker conformance DAGs use, built with ``isolationctl``."""
    client = docker_client()
    names = {"af210": "3.11", "py313": "3.13"}
    for name, python in names.items():
        require_base_image(client, BASE_IMAGES[python])
        build_image(name, BASE_IMAGES[python])
    return list(names)


@pytest.fixture(scope="session")
def kubernetes_cluster() -> Any:
    """The cluster's CoreV1Api, or a skip (a failure under ``ISOLATION_REQUIRE_KUBERNETES=1``)."""
    import kubernetes_cluster

    return kubernetes_cluster.core_api()


@pytest.fixture(scope="session")
def kubernetes_images(kubernetes_cluster: Any) -> str:
    """The registry the cluster pulls from, holding every image the cluster tests run (built once
    per session; an unchanged environment's build is a cache hit)."""
    import kubernetes_cluster as cluster

    client = docker_client()
    registry = require_registry()
    for name, python in cluster.IMAGES.items():
        require_base_image(client, BASE_IMAGES[python])
        build_image(name, BASE_IMAGES[python])
        push_image(name, registry)
    return registry


@pytest.fixture
def kubernetes(kubernetes_cluster: Any, kubernetes_images: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The cluster's ``CoreV1Api``, with this process's ``[isolation]`` settings pointing at it."""
    import kubernetes_cluster as cluster

    for name, value in cluster.settings(kubernetes_images).items():
        monkeypatch.setenv(name, value)
    cluster.ensure_namespace(kubernetes_cluster)
    return kubernetes_cluster
