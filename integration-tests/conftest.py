from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import (
    BASE_IMAGES,
    airflow_cli,
    build_environment,
    build_image,
    docker_client,
    require_base_image,
)


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
def kubernetes_cluster() -> tuple[Any, str]:
    """The cluster's ``CoreV1Api`` and the registry it pulls the environment image from, pushed once
    per session (skips without ``KUBECONFIG``, see ``kubernetes_support``)."""
    from kubernetes_support import push_environment_image, require_cluster

    api = require_cluster()
    return api, push_environment_image()


@pytest.fixture
def kubernetes(kubernetes_cluster: tuple[Any, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The cluster's ``CoreV1Api``, with this process's ``[isolation]`` settings pointing at it."""
    from kubernetes_support import settings_env

    api, registry = kubernetes_cluster
    for name, value in settings_env(registry).items():
        monkeypatch.setenv(name, value)
    return api
