"""What a task's container looks like: command, environment, labels, limits and mounts.

Nothing secret goes here: everything below is readable with ``docker inspect``. The request (with
its connections and variables) is copied in as a file; the environment is a minimal, fixed one, as
the venv backend's: none of the worker's ``AIRFLOW_*`` settings, and the image's own ``AIRFLOW_HOME``
so an Airflow in the image never reads a configuration meant for the host.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Dict, List, Sequence

from docker.models.images import Image
from docker.types import Mount

from airflow_isolation.core import launch
from airflow_isolation.operator.backends.base import BackendJob
from airflow_isolation.operator.backends.docker.labels import ENVIRONMENT, container_labels
from airflow_isolation.operator.backends.docker.options import DockerOptions
from airflow_isolation.operator.backends.ownership import Owner
from airflow_isolation.operator.config.settings import idle_seconds

COMMAND = launch.runtime_command(launch.IMAGE_PYTHON, launch.IMAGE_REQUEST_FILE, launch.IMAGE_RESULT_FILE)
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]+")


def container_name(job: BackendJob) -> str:
    """Readable in ``docker ps`` and unique: ``airflow-isolation-<dag>.<task>-<random>``."""
    identity = job.identity
    task = f"{identity.dag_id}.{identity.task_id}" + (
        f".{identity.map_index}" if identity.map_index >= 0 else ""
    )
    return f"airflow-isolation-{_NAME_UNSAFE.sub('-', task)[:80]}-{uuid.uuid4().hex[:8]}"


def container_environment(image: Image, options: DockerOptions) -> Dict[str, str]:
    """The image's venv activated, the image's Airflow home, and the user's (non-secret) ``env``."""
    image_env = dict(
        item.split("=", 1) for item in (image.attrs.get("Config") or {}).get("Env") or [] if "=" in item
    )
    search_path = image_env.get("PATH") or _DEFAULT_PATH
    venv = launch.venv_environment(launch.IMAGE_VENV, launch.IMAGE_AIRFLOW_HOME, search_path)
    return {**venv, **options.env}


def _mounts(options: DockerOptions) -> List[Mount]:
    return [
        Mount(
            target=m.target,
            source=m.source or None,
            type=m.type,
            read_only=m.read_only,
        )
        for m in options.mounts
    ]


def image_user(image: Image) -> str:
    return str((image.attrs.get("Config") or {}).get("User") or "")


def _settings(ref: str, image: Image, options: DockerOptions) -> Dict[str, Any]:
    """What a task's container runs with, whatever the task: image, environment, limits, mounts."""
    config: Dict[str, Any] = {
        "image": ref,
        "environment": container_environment(image, options),
        "working_dir": launch.IMAGE_IO_DIR,
        "init": True,  # PID 1 forwards signals and reaps, so a stop ends the task promptly
        "detach": True,
        "tty": False,
        "privileged": options.privileged,
    }
    optional = {
        "user": options.user,
        "nano_cpus": options.nano_cpus,
        "mem_limit": options.memory_bytes,
        "shm_size": options.shm_bytes,
        "network_mode": options.network_mode,
        "mounts": _mounts(options) or None,
        "extra_hosts": dict(options.extra_hosts) or None,
    }
    config.update({key: value for key, value in optional.items() if value is not None})
    return config


def container_config(
    ref: str, image: Image, job: BackendJob, options: DockerOptions, request: bytes
) -> Dict[str, Any]:
    """Keyword arguments of ``client.containers.create`` for this run."""
    config = _settings(ref, image, options)
    config.update(
        command=COMMAND,
        name=container_name(job),
        labels=container_labels(job.environment, job.identity, Owner.current()),
        stdin_open=False,
    )
    config["environment"] = {**config["environment"], **launch.request_environment(request)}
    return config


def standby_settings(ref: str, image: Image, options: DockerOptions) -> Dict[str, Any]:
    """What a standby container must share with a task to run it: the image (by id, so a rebuilt
    image under the same tag is another), the engine, and every setting of ``_settings``."""
    return {**_settings(ref, image, options), "image_id": image.id, "docker_url": options.docker_url}


def standby_container_config(
    ref: str, image: Image, options: DockerOptions, preload: Sequence[str], labels: Dict[str, str]
) -> Dict[str, Any]:
    """Keyword arguments of ``client.containers.create`` for a standby container (``docker.standby``).

    It waits on stdin (attached by the task that claims it) and the engine removes it when it
    exits, idle or done, so no host process has to be there for it to go.
    """
    config = _settings(ref, image, options)
    environment = labels.get(ENVIRONMENT, "")
    config.update(
        command=launch.standby_runtime_command(launch.IMAGE_PYTHON, idle_seconds(), preload),
        name=f"airflow-isolation-standby-{_NAME_UNSAFE.sub('-', environment)[:60]}-{uuid.uuid4().hex[:8]}",
        labels=labels,
        stdin_open=True,
        detach=False,  # with stdin_open, the SDK sets StdinOnce: stdin closes when the task's attach ends
        auto_remove=True,
    )
    return config
