"""Choosing, fetching and probing the parent image of an environment's image.

The base image is the user's choice; everything else (which wheels fit, whether apt exists) is read
from the image itself by running a throwaway container, so a wrong choice fails here, before any
download, with the fix named.
"""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors

from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.image.docker_engine import DOCKER_ERRORS, explain
from airflow_isolation.cli.resolve.python_finder import parse_request
from airflow_isolation.cli.ui import Steps
from airflow_isolation.workspace.environment import LABEL_PREFIX, EnvironmentDefinition
from airflow_isolation.workspace.project_settings import ProjectSettings

DEFAULT_BASE_IMAGE = "python:{python}-slim-bookworm"
"""The documented public default: Debian bookworm with the definition's Python."""
PROBE_LABEL = LABEL_PREFIX + "probe"
_PROBE = (
    "import json, platform, shutil, sys\n"
    "libc, libc_version = platform.libc_ver()\n"
    "print(json.dumps({'python': platform.python_version(), 'machine': platform.machine(),\n"
    "    'libc': libc, 'libc_version': libc_version, 'apt': bool(shutil.which('apt-get')),\n"
    "    'implementation': sys.implementation.name}))\n"
)


@dataclass(frozen=True)
class BaseImageChoice:
    """The image reference and which setting it came from (for messages and the fix)."""

    reference: str
    source: str


@dataclass(frozen=True)
class BaseProbe:
    """What the base image's ``python3`` says about itself."""

    python_version: str
    machine: str
    libc: str
    libc_version: str
    has_apt: bool


def choose_base_image(
    option: str | None, definition: EnvironmentDefinition, project: ProjectSettings
) -> BaseImageChoice:
    """``--base-image`` > the definition's ``base_image`` > ``isolation.toml`` > the public default."""
    if option:
        return BaseImageChoice(option, "--base-image")
    if definition.base_image:
        return BaseImageChoice(definition.base_image, "base_image in environment.toml")
    if project.base_image:
        return BaseImageChoice(project.base_image, f"base_image in {project.source}")
    python = ".".join(str(part) for part in parse_request(definition.python))
    return BaseImageChoice(DEFAULT_BASE_IMAGE.format(python=python), "the default for python " + python)


def ensure_base_image(
    client: docker.DockerClient, choice: BaseImageChoice, platform: str | None, steps: Steps
) -> Any:
    """The local image, pulled first when missing; a clear error when it cannot be had."""
    try:
        return client.images.get(choice.reference)
    except docker.errors.ImageNotFound:
        pass
    except DOCKER_ERRORS as exc:
        raise _unavailable(choice, explain(exc)) from exc
    try:
        with steps.step(f"pulling base image {choice.reference}"):
            client.images.pull(choice.reference, platform=platform)
            return client.images.get(choice.reference)
    except DOCKER_ERRORS as exc:
        raise _unavailable(choice, explain(exc)) from exc


def _unavailable(choice: BaseImageChoice, reason: str) -> CliError:
    return CliError(
        f"base image {choice.reference} (from {choice.source}) is not available locally and could not "
        f"be pulled: {reason}",
        "pull or build it first (`docker pull IMAGE`), or pass --base-image with an image this engine "
        "has (`docker images`); set a default with base_image in isolation.toml",
    )


def probe_base_image(
    client: docker.DockerClient, image_id: str, choice: BaseImageChoice, platform: str | None
) -> BaseProbe:
    """Run ``python3`` in a throwaway, networkless container; it is removed whatever happens."""
    api = client.api
    container_id = None
    try:
        container = api.create_container(
            image_id,
            command=["-c", _PROBE],
            entrypoint=["python3"],
            network_disabled=True,
            labels={PROBE_LABEL: "1"},
            environment={"PYTHONDONTWRITEBYTECODE": "1"},
            platform=platform,
        )
        container_id = container["Id"]
        api.start(container_id)
        status = api.wait(container_id, timeout=120)
        stdout = api.logs(container_id, stdout=True, stderr=False).decode(errors="replace")
        stderr = api.logs(container_id, stdout=False, stderr=True).decode(errors="replace")
    except DOCKER_ERRORS as exc:
        reason = explain(exc)
        if "executable file not found" in reason or "no such file or directory" in reason:
            raise CliError(
                f"base image {choice.reference} (from {choice.source}) has no python3 on its PATH",
                "use an image that ships CPython, e.g. python:3.11-slim-bookworm, or install python3 in "
                "your base image",
            ) from exc
        if "does not match the specified platform" in reason:
            raise CliError(
                f"base image {choice.reference} is not a {platform} image ({reason})",
                f"pull that variant first (`docker pull --platform {platform} {choice.reference}`), or drop "
                "--platform to build for the image's own platform",
            ) from exc
        if "exec format error" in reason:
            raise CliError(
                f"base image {choice.reference} does not run on this engine's CPU ({reason})",
                "pass --platform matching the engine (linux/amd64 here) or install qemu binfmt support",
            ) from exc
        raise CliError(f"probing base image {choice.reference} failed: {reason}") from exc
    finally:
        if container_id is not None:
            with suppress(*DOCKER_ERRORS):
                api.remove_container(container_id, force=True)
    if status.get("StatusCode") != 0:
        tail = [line for line in stderr.splitlines() if line.strip()][-10:]
        raise CliError(
            f"python3 in base image {choice.reference} failed (exit code {status.get('StatusCode')})",
            "use an image whose python3 runs, e.g. python:3.11-slim-bookworm",
            details=tail,
        )
    return parse_probe(stdout, choice)


def parse_probe(stdout: str, choice: BaseImageChoice) -> BaseProbe:
    try:
        data = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, ValueError) as exc:
        raise CliError(
            f"python3 in base image {choice.reference} printed no probe result ({stdout.strip()[:200]!r})"
        ) from exc
    if data.get("implementation") != "cpython":
        raise CliError(
            f"python3 in base image {choice.reference} is {data.get('implementation')}, not CPython",
            "use an image that ships CPython, e.g. python:3.11-slim-bookworm",
        )
    return BaseProbe(
        python_version=str(data["python"]),
        machine=str(data["machine"]),
        libc=str(data["libc"]),
        libc_version=str(data["libc_version"]),
        has_apt=bool(data["apt"]),
    )


def check_python(probe: BaseProbe, choice: BaseImageChoice, requested: str, name: str) -> str | None:
    """Refuse a base image whose Python ``X.Y`` is not the definition's; a patch difference only
    earns the returned warning (official images move to the newest patch release)."""
    wanted = parse_request(requested)
    actual = tuple(int(part) for part in probe.python_version.split(".")[:3] if part.isdigit())
    if actual[:2] != wanted[:2]:
        short = ".".join(str(part) for part in wanted[:2])
        raise CliError(
            f"base image {choice.reference} (from {choice.source}) has Python {probe.python_version} but "
            f"environment {name!r} asks for python = {requested!r}",
            f"use a base image with Python {short}, e.g. --base-image python:{short}-slim-bookworm, or "
            "change `python` in environment.toml",
        )
    if len(wanted) == 3 and actual[:3] != wanted:
        return (
            f"base image {choice.reference} has Python {probe.python_version}, not exactly {requested}; "
            "building with the image's Python"
        )
    return None
