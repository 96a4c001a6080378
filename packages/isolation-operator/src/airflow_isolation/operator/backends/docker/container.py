"""What a task's container looks like: command, environment, labels, limits and mounts.

Nothing secret goes here: everything below is readable with ``docker inspect``. The request (with
its connections and variables) is copied in as a file; the environment is a minimal, fixed one, as
the venv backend's: none of the worker's ``AIRFLOW_*`` settings, and the image's own ``AIRFLOW_HOME``
so an Airflow in the image never reads a configuration meant for the host.

Every container, cold or standby (both are made from ``_settings``), is hardened (``hardening``):
every capability dropped but those ``cap_add`` asks for, ``no-new-privileges``, and, with
``read_only``, a read-only root filesystem with the few writable places the runtime needs.
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


def _mounts(options: DockerOptions, io_volume: bool) -> List[Mount]:
    mounts = [
        Mount(
            target=m.target,
            source=m.source or None,
            type=m.type,
            read_only=m.read_only,
        )
        for m in options.mounts
    ]
    if io_volume:  # anonymous: removed with the container (``remove(v=True)``, ``auto_remove``)
        mounts.append(Mount(target=launch.IMAGE_IO_DIR, source=None, type="volume"))
    return mounts


NO_NEW_PRIVILEGES = "no-new-privileges"
READ_ONLY_TMPFS = "rw,nosuid,nodev,exec,mode=1777"
"""``exec`` stays: the task may already run what it writes to ``/isolation``, so ``noexec`` on
``/tmp`` would only break libraries that build code there (cffi, numba) and close no door."""


def hardening(options: DockerOptions) -> Dict[str, Any]:
    """The settings that keep the task's code from the worker (DESIGN.md §8), whatever the task.

    * ``cap_drop: ALL`` (``cap_add`` gives named ones back): root in the container can then not
      override file permissions, change owners, trace processes, mount or use raw sockets; the
      runtime needs none of it, since the engine itself copies the request in (``put_archive``,
      owned by the task's user, ``user.container_owner``) and the result out.
    * ``no-new-privileges``: a setuid binary of the image (``sudo``, ``su``) cannot give those
      capabilities back, nor a file capability.
    * ``read_only``: the root filesystem read-only; an anonymous volume at ``/isolation`` (the
      engine copies into volumes of a read-only container, never into its root filesystem or a
      tmpfs), and tmpfs for ``/tmp`` (shipped DAG-folder modules go there) and the image's Airflow
      home (Airflow writes its ``airflow.cfg`` at import). A ``mounts`` entry of the same target
      takes that place.

    ``privileged`` is the explicit opt-out: the engine gives a privileged container everything
    whatever else is set, so nothing is dropped then rather than pretending.
    """
    if options.privileged:
        return {"privileged": True}
    settings: Dict[str, Any] = {"cap_drop": ["ALL"], "security_opt": [NO_NEW_PRIVILEGES]}
    if options.cap_add:
        settings["cap_add"] = [c.upper().removeprefix("CAP_") for c in options.cap_add]
    if options.read_only:
        taken = {m.target.rstrip("/") for m in options.mounts}
        settings["read_only"] = True
        settings["tmpfs"] = {
            path: READ_ONLY_TMPFS for path in ("/tmp", launch.IMAGE_AIRFLOW_HOME) if path not in taken
        }
        settings["io_volume"] = io_volume(options)
    return settings


def io_volume(options: DockerOptions) -> bool:
    """Whether ``/isolation`` is a volume of the container (``read_only``, not ``privileged``)."""
    return options.read_only and not options.privileged


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
        **hardening(options),
    }
    io_volume = bool(config.pop("io_volume", False))
    optional = {
        "user": options.user,
        "nano_cpus": options.nano_cpus,
        "mem_limit": options.memory_bytes,
        "shm_size": options.shm_bytes,
        "network_mode": options.network_mode,
        "mounts": _mounts(options, io_volume) or None,
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
