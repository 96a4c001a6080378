"""Finding the image to run: the environment's built image, pulled from a registry when needed.

The CLI's image manifest names the local image (``airflow-isolation/<name>:<content hash>``) and
the registry references it was pushed under. A worker that built the image runs it as is; other
workers pull the first pushed reference (once: later runs find it locally). Tags are content
hashes, so "present locally" means "up to date" and ``pull="missing"`` is the right default.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Optional, Tuple

import docker
import docker.errors
from docker.models.images import Image
from docker.utils import parse_repository_tag

from airflow_isolation.core.errors import IsolationError
from airflow_isolation.operator import environments
from airflow_isolation.operator.backends.base import LogSink
from airflow_isolation.operator.backends.docker.client import DockerBackendError
from airflow_isolation.operator.backends.docker.options import DockerOptions

_QUIET_PULL_STATUSES = {"Downloading", "Extracting", "Waiting", "Verifying Checksum", "Pulling fs layer"}


@dataclasses.dataclass(frozen=True)
class ImageChoice:
    """Where the image of a run may come from, and how to fix it when it comes from nowhere."""

    local: Optional[str]
    remote: Optional[str]
    build_hint: str
    push_hint: str


def image_choice(environment: str, options: DockerOptions) -> ImageChoice:
    if options.image:
        return ImageChoice(
            options.image,
            options.image,
            f"`docker pull {options.image}` on this worker",
            f"push {options.image} to a registry this worker can reach",
        )
    try:
        manifest = environments.resolve_image(environment)
    except IsolationError as exc:
        raise DockerBackendError(str(exc)) from exc
    return ImageChoice(
        manifest.image,
        manifest.pushed[0] if manifest.pushed else None,
        f"run `isolationctl env build {environment} --target image` on this worker",
        f"run `isolationctl env push {environment} --registry HOST:PORT` where it was built",
    )


def _local(client: docker.DockerClient, ref: Optional[str]) -> Optional[Image]:
    if not ref:
        return None
    try:
        return client.images.get(ref)
    except docker.errors.ImageNotFound:
        return None


def pull(client: docker.DockerClient, ref: str, log: LogSink) -> Image:
    """Pull ``ref``, logging one line per layer and the outcome rather than every progress tick."""
    repository, tag = parse_repository_tag(ref)
    log(f"Pulling image {ref}")
    started = time.monotonic()
    try:
        for event in client.api.pull(repository, tag=tag or "latest", stream=True, decode=True):
            if "error" in event:
                raise docker.errors.APIError(event["error"])
            status = event.get("status", "")
            if status and status not in _QUIET_PULL_STATUSES:
                log(f"  {event.get('id', '')}: {status}" if event.get("id") else f"  {status}")
        image = client.images.get(ref)
    except docker.errors.APIError as exc:
        raise DockerBackendError(
            f"pulling image {ref} failed: {exc.explanation or exc}. Check that the registry is "
            "reachable from this worker, that the image was pushed there, and `docker login` to it "
            "when it needs credentials"
        ) from exc
    log(f"Pulled image {ref} in {time.monotonic() - started:.1f} s")
    return image


def ensure_image(
    client: docker.DockerClient, environment: str, options: DockerOptions, log: LogSink
) -> Tuple[str, Image]:
    """The reference to run and its image, pulled according to ``options.pull``."""
    choice = image_choice(environment, options)
    if options.pull != "always":
        # the pushed reference counts as present too: this worker pulled it on an earlier run
        for ref in (choice.local, choice.remote):
            image = _local(client, ref)
            if ref and image is not None:
                return ref, image
    where = f"image {choice.local or choice.remote} of environment {environment!r}"
    if options.pull == "never":
        raise DockerBackendError(
            f"{where} is not on this worker and backend_options pull='never': "
            f"{choice.build_hint}, or allow pulling with pull='missing'"
        )
    if choice.remote is None:
        if options.pull == "always":
            raise DockerBackendError(
                f"backend_options pull='always' needs a registry image, but {where} was never pushed: "
                f"{choice.push_hint}, or use pull='missing'"
            )
        raise DockerBackendError(
            f"{where} is not on this worker and was never pushed to a registry: {choice.build_hint}, "
            f"or {choice.push_hint}"
        )
    return choice.remote, pull(client, choice.remote, log)
