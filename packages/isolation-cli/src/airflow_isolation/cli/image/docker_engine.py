"""Connecting to the Docker engine, with one clear error when it is not there.

Only image builds, pushes and ``doctor`` need Docker; venv builds never import this module's
client. The first request uses a short timeout so a dead engine is reported quickly; afterwards
the client waits long enough for a silent ``RUN pip install`` step of a big image.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlparse

import docker
import docker.errors
import requests

from airflow_isolation.cli.errors import CliError

PING_TIMEOUT = 15
BUILD_TIMEOUT = 3600
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
ENGINE_HINT = (
    "start the Docker engine (`sudo systemctl start docker` or `dockerd &`), or set DOCKER_HOST to a "
    "reachable engine"
)
DOCKER_ERRORS: tuple[type[BaseException], ...] = (
    docker.errors.DockerException,
    requests.exceptions.RequestException,
    OSError,
)
"""What the SDK raises when the engine misbehaves or the connection breaks."""


@dataclass(frozen=True)
class Engine:
    """A connected client and what it connected to, for messages."""

    client: docker.DockerClient
    address: str
    version: str
    api_version: str

    @property
    def is_local(self) -> bool:
        """Image builds serve wheels on this machine's 127.0.0.1: the engine must run here."""
        parsed = urlparse(self.address)
        return parsed.scheme in ("unix", "npipe", "http+unix") or parsed.hostname in (
            "localhost",
            "127.0.0.1",
            "::1",
        )


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET


def connect() -> Engine:
    """The local Docker engine, or a :class:`CliError` naming the address and how to fix it."""
    address = engine_address()
    try:
        client = docker.from_env(timeout=PING_TIMEOUT)
        client.ping()
        version = client.version()
    except DOCKER_ERRORS as exc:
        raise CliError(f"cannot reach the Docker engine at {address} ({_reason(exc)})", ENGINE_HINT) from exc
    client.api.timeout = BUILD_TIMEOUT
    return Engine(
        client=client,
        address=address,
        version=str(version.get("Version", "?")),
        api_version=str(version.get("ApiVersion", "?")),
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "Connection aborted" in text or "No such file or directory" in text:
        return "no engine answers there"
    return text.splitlines()[0][:300]


def explain(exc: BaseException) -> str:
    """The engine's own explanation of an API error (its message), else the exception text."""
    if isinstance(exc, docker.errors.APIError) and exc.explanation:
        return str(exc.explanation).strip()
    return str(exc).strip() or type(exc).__name__
