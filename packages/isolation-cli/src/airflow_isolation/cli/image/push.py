"""Pushing an environment's built image to a registry, and recording where it went.

The engine reports push failures inside the stream, not as an HTTP error: every status line is
checked for ``error``/``errorDetail``, or a failed push would look like a success. The pushed
references are added to the manifest so workers without the image know where to pull it.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
import msgspec

from airflow_isolation.cli.builds.files import exclusive_lock
from airflow_isolation.cli.errors import CliError
from airflow_isolation.cli.image.builder import LOCK_FILE, write_image_manifest
from airflow_isolation.cli.image.docker_engine import DOCKER_ERRORS, explain
from airflow_isolation.cli.settings import Settings
from airflow_isolation.cli.ui import Steps
from airflow_isolation.workspace.environment import (
    ImageManifest,
    image_manifest_path,
    image_repository,
    read_image_manifest,
    resolve_image,
)

_UNREACHABLE = ("connection refused", "no such host", "i/o timeout", "dial tcp", "network is unreachable")
_AUTH = ("unauthorized", "denied", "authentication required", "no basic auth credentials")


@dataclass(frozen=True)
class PushOutcome:
    manifest: ImageManifest
    references: list[str]
    digest: str


def push_error(line: dict[str, Any]) -> str | None:
    """The error a push status line reports, if any (``errorDetail`` wins: it is the full text)."""
    if "errorDetail" in line or "error" in line:
        detail = line.get("errorDetail") or {}
        message = detail.get("message") if isinstance(detail, dict) else None
        return str(message or line.get("error") or "unknown push error").strip()
    return None


def push_hint(registry: str, message: str) -> str:
    lowered = message.lower()
    if any(marker in lowered for marker in _UNREACHABLE):
        return (
            f"start the registry at {registry} or pass the right --registry HOST:PORT (a local one: "
            "scripts/start_registry.sh serves 127.0.0.1:5000)"
        )
    if "server gave http response to https client" in lowered:
        return (
            f"serve {registry} over TLS, or list it under insecure-registries in the engine's "
            "/etc/docker/daemon.json and restart dockerd"
        )
    if any(marker in lowered for marker in _AUTH):
        return f"log in first: `docker login {registry}` (and check you may push to this repository)"
    return f"check that {registry} is a Docker registry that accepts pushes"


def consume_push(lines: Iterable[dict[str, Any]], reference: str, registry: str, progress: Any) -> str:
    """Walk a push stream, fail on the first error line; returns the pushed digest (if reported)."""
    digest = ""
    for line in lines:
        error = push_error(line)
        if error is not None:
            raise CliError(f"pushing {reference} failed: {error}", push_hint(registry, error))
        aux = line.get("aux")
        if isinstance(aux, dict) and aux.get("Digest"):
            digest = str(aux["Digest"])
        status = str(line.get("status") or "")
        if status:
            layer = str(line.get("id") or "")
            detail = str(line.get("progress") or "")
            progress(" ".join(part for part in (layer, status, detail) if part))
    return digest


def push_image(
    client: docker.DockerClient,
    settings: Settings,
    name: str,
    *,
    registry: str,
    human_tag: str | None,
    steps: Steps,
) -> PushOutcome:
    manifest = resolve_image(settings.environments_path, settings.build_path, name)
    image = _local_image(client, manifest)
    repository = f"{registry}/{image_repository(name)}"
    tags = [manifest.tag, *([human_tag] if human_tag else [])]
    references = []
    digest = ""
    for tag in tags:
        reference = f"{repository}:{tag}"
        created = reference not in image.tags
        try:
            client.api.tag(image.id, repository, tag, force=True)
        except DOCKER_ERRORS as exc:
            raise CliError(f"tagging {reference} failed: {explain(exc)}") from exc
        try:
            digest = _push(client, repository, tag, registry, steps) or digest
        except CliError:
            if created:  # a failed push must not leave a registry-named tag behind
                with suppress(*DOCKER_ERRORS):
                    client.images.remove(reference)
            raise
        references.append(reference)
    updated = record_push(settings, manifest, references, steps)
    return PushOutcome(updated, references, digest)


def _push(client: docker.DockerClient, repository: str, tag: str, registry: str, steps: Steps) -> str:
    reference = f"{repository}:{tag}"
    with steps.live_step(f"pushing {reference}") as progress:
        try:
            stream = client.api.push(repository, tag=tag, stream=True, decode=True)
            return consume_push(stream, reference, registry, progress)
        except DOCKER_ERRORS as exc:
            reason = explain(exc)
            raise CliError(f"pushing {reference} failed: {reason}", push_hint(registry, reason)) from exc


def _local_image(client: docker.DockerClient, manifest: ImageManifest) -> Any:
    for reference in (manifest.image, manifest.image_id):
        if not reference:
            continue
        try:
            return client.images.get(reference)
        except docker.errors.ImageNotFound:
            continue
        except DOCKER_ERRORS as exc:
            raise CliError(f"asking the Docker engine for {reference} failed: {explain(exc)}") from exc
    where = f" (it was pushed to {', '.join(manifest.pushed)})" if manifest.pushed else ""
    raise CliError(
        f"the image {manifest.image} of environment {manifest.name!r} is not in this engine{where}",
        f"build it here with `isolationctl env build {manifest.name} --target image`, or `docker pull` "
        "a pushed reference first",
    )


def record_push(
    settings: Settings, manifest: ImageManifest, references: list[str], steps: Steps
) -> ImageManifest:
    """Add ``references`` to the manifest's ``pushed``, unless a newer build replaced it meanwhile."""
    path = image_manifest_path(settings.build_path, manifest.name)
    with exclusive_lock(path.parent / LOCK_FILE, steps):
        current = read_image_manifest(settings.build_path, manifest.name)
        if current is None or current.content_hash != manifest.content_hash:
            return manifest
        pushed = list(dict.fromkeys([*current.pushed, *references]))
        updated = msgspec.structs.replace(current, pushed=pushed)
        write_image_manifest(settings.build_path, updated)
        return updated
