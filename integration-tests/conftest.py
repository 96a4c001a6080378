from __future__ import annotations

import sys
from pathlib import Path

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
