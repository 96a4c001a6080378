"""Connecting to the Docker engine, and the error every Docker backend failure is raised as."""

from __future__ import annotations

from typing import Optional

import docker
import docker.errors
import requests

from airflow_isolation.operator import airflow_compat as compat


class DockerBackendError(compat.AirflowException):
    """The Docker backend could not run the task (engine, image or container trouble)."""


ENGINE_ERRORS = (docker.errors.DockerException, requests.RequestException)


def client_for(docker_url: Optional[str], version: Optional[str] = None) -> docker.DockerClient:
    """A client for ``docker_url`` (default: ``DOCKER_HOST`` or the local socket), not yet used."""
    kwargs = {"version": version} if version else {}
    return docker.DockerClient(base_url=docker_url, **kwargs) if docker_url else docker.from_env(**kwargs)


def connect(docker_url: Optional[str]) -> docker.DockerClient:
    """A client that has answered a ping, so an unreachable engine fails before anything else."""
    where = docker_url or "DOCKER_HOST or the local socket"
    try:
        client = client_for(docker_url)
        client.ping()
    except ENGINE_ERRORS as exc:
        raise DockerBackendError(
            f"cannot reach the Docker engine ({where}): {exc}. Start Docker on this worker and give "
            "the worker's user access to its socket, or set backend_options={'docker_url': ...} "
            "(or DOCKER_HOST) to a running engine"
        ) from exc
    return client
