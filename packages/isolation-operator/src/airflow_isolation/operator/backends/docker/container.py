"""What a task's container looks like: command, environment, labels, limits and mounts.

Nothing secret goes here: everything below is readable with ``docker inspect``. The request (with
its connections and variables) is copied in as a file; the environment is a minimal, fixed one, as
the venv backend's: none of the worker's ``AIRFLOW_*`` settings, and the image's own ``AIRFLOW_HOME``
so an Airflow in the image never reads a configuration meant for the host.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Dict, List

from docker.models.images import Image
from docker.types import Mount

from airflow_isolation.core import launch
from airflow_isolation.operator.backends.base import BackendJob
from airflow_isolation.operator.backends.docker.labels import container_labels
from airflow_isolation.operator.backends.docker.options import DockerOptions
from airflow_isolation.operator.backends.ownership import Owner

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


def container_config(
    ref: str, image: Image, job: BackendJob, options: DockerOptions, request: bytes
) -> Dict[str, Any]:
    """Keyword arguments of ``client.containers.create`` for this run."""
    config: Dict[str, Any] = {
        "image": ref,
        "command": COMMAND,
        "name": container_name(job),
        "labels": container_labels(job.environment, job.identity, Owner.current()),
        "environment": {**container_environment(image, options), **launch.request_environment(request)},
        "working_dir": launch.IMAGE_IO_DIR,
        "init": True,  # PID 1 forwards signals and reaps, so a stop ends the task promptly
        "detach": True,
        "stdin_open": False,
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
