"""The real components tests need, and what happens when one is absent.

Every suite (package tests and integration tests) asks here, so the rule is one rule: a missing
engine, image or registry skips the test on a developer's machine and fails it under
``ISOLATION_REQUIRE_REAL=1``, which ``.ci/run`` sets.
"""

from __future__ import annotations

import os
import urllib.request
from typing import Any

import pytest

REQUIRE_REAL = os.environ.get("ISOLATION_REQUIRE_REAL") == "1"
REGISTRY = os.environ.get("ISOLATION_TEST_REGISTRY", "127.0.0.1:5000")


def missing(component: str) -> None:
    """Skip when a real component is absent, unless CI requires every component to be real."""
    if REQUIRE_REAL:
        pytest.fail(f"{component} is required (ISOLATION_REQUIRE_REAL=1) but not available")
    pytest.skip(f"{component} not available")


def docker_engine(timeout: int = 300) -> Any:
    """A client of the real Docker engine."""
    try:
        import docker

        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:  # any reason the engine is unusable means "absent"
        missing(f"a Docker engine ({exc})")
    return client


def require_image(client: Any, tag: str) -> None:
    import docker.errors

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        missing(f"the image {tag} (base images: scripts/build_base_image.sh SUITE TAG)")


def require_registry(address: str = REGISTRY) -> str:
    try:
        urllib.request.urlopen(f"http://{address}/v2/", timeout=5).close()
    except OSError as exc:
        missing(f"a registry on {address} ({exc}; start one with scripts/start_registry.sh)")
    return address
