from __future__ import annotations

import os
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
from trust_probe_env import listener, probe_env  # noqa: F401 - the trust tests' fixtures

CLUSTER_FIXTURES = {"kubernetes", "kubernetes_cluster", "kubernetes_images"}
SHARED_BUILD_PATH = os.environ.get("ISOLATION_TEST_SHARED_BUILD_PATH") == "1"
"""Set by ``scripts/run_tiers.py`` for the cluster tier, whose session runs beside the real tier's on
the same build path: the warm runtimes and standby containers there are the other session's."""
CLUSTER_IMAGES_READY = os.environ.get("ISOLATION_TEST_CLUSTER_IMAGES_READY")
"""Set for the cluster tier: the file to make once its images are built and pushed."""


@pytest.fixture(scope="session", autouse=True)
def _stop_warm_runtimes() -> Any:
    """The venv backend's warm runtimes and the Docker backend's pooled containers idle out on their
    own; a test session stops the ones its DAG runs started, so none outlives it."""
    from warm_runtimes import stop_warm_runtimes

    yield
    if SHARED_BUILD_PATH:  # the cluster tier's tasks run in pods only
        return
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


@pytest.fixture(scope="session", autouse=True)
def _cluster_images_first(request: pytest.FixtureRequest) -> None:
    """The cluster tier builds and pushes its images before its first test, and says so (also when
    they could not be made): the real tier, one of whose tests removes such an image to make a task
    pull it, starts only then."""
    if not CLUSTER_IMAGES_READY:
        return
    try:
        request.getfixturevalue("kubernetes_images")
    finally:
        Path(CLUSTER_IMAGES_READY).touch()


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects by these marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration-tests" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
            if _needs_cluster(item):
                item.add_marker(pytest.mark.cluster)


def _needs_cluster(item: pytest.Item) -> bool:
    """A test that takes one of the cluster's fixtures, or a cell whose backend is Kubernetes (its
    fixture is requested by name at run time)."""
    callspec = getattr(item, "callspec", None)
    kubernetes_cell = callspec is not None and callspec.params.get("backend") == "kubernetes"
    return kubernetes_cell or bool(CLUSTER_FIXTURES & set(getattr(item, "fixturenames", ())))


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
