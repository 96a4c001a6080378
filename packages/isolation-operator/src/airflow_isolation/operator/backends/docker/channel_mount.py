"""The channel back to the host, in a container: a folder of the worker mounted into it.

A descriptor cannot cross into a container, so the host listens on a Unix socket in a folder made
for that one container (named by a hash of the container's name, in a 0700 folder of the worker's
user under the build path or ``/tmp``, so no one else on the machine reaches it) and bind-mounted at
``launch.IMAGE_CHANNEL_DIR``; the runtime connects to it (``launch.CHANNEL_SOCKET_ENV``). The host
listens once the task is the container's and serves its first connection only. A standby container
is made with its folder and the same variable, which say nothing of any task; the task that claims
it listens there. Only an engine on this machine shares its folders: for another, no channel.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional

from airflow_isolation.core import launch
from airflow_isolation.workspace.warm import private_folder

STALE_SECONDS = 600.0
"""A folder whose container is gone is removed by a later task's sweep once it is this old (a new
one's container may not exist yet)."""


def engine_is_local(docker_url: Optional[str]) -> bool:
    """An engine that sees this machine's folders (its Unix socket), where a bind mount is ours."""
    url = docker_url or os.environ.get("DOCKER_HOST", "")
    return not url or url.startswith("unix://")


SOCKET_PATH_LIMIT = 100
"""A Unix socket's path is at most 107 bytes (``sun_path``), with some margin."""


def root() -> Path:
    """The worker's folder of channel folders: under the build path, or under ``/tmp`` when that
    would make a socket path too long."""
    from airflow_isolation.operator.environments import build_path

    name = f"airflow-isolation-channels-{os.getuid()}"
    under_build = Path(build_path()) / name
    longest = len(str(under_build / ("x" * _NAME_LENGTH) / launch.CHANNEL_SOCKET_NAME))
    return private_folder(under_build if longest <= SOCKET_PATH_LIMIT else Path("/tmp") / name)


_NAME_LENGTH = 16


def _name(container_name: str) -> str:
    """A container's folder, short whatever its name (the socket path must stay short)."""
    return hashlib.sha256(container_name.encode()).hexdigest()[:_NAME_LENGTH]


def folder_for(container_name: str) -> Path:
    """The folder of one container (made, traversable by the container's user, whatever uid)."""
    folder = root() / _name(container_name)
    folder.mkdir(exist_ok=True)
    os.chmod(folder, 0o711)
    return folder


def folder_or_none(container_name: str, log: Callable[[str], None]) -> Optional[Path]:
    """``folder_for``, or ``None`` (said in the log) when the worker cannot make it: the task then
    runs without its channel, and what needs one fails naming why."""
    try:
        return folder_for(container_name)
    except Exception as exc:  # an unwritable build path, a folder another user holds...
        log(f"[airflow-isolation] no channel back to the host for this container: {exc}")
        return None


def socket_in(folder: Path) -> Path:
    return folder / launch.CHANNEL_SOCKET_NAME


def with_channel(config: Dict[str, Any], folder: Optional[Path]) -> Dict[str, Any]:
    """``config`` (for ``containers.create``) with the folder mounted and the runtime told where."""
    if folder is None:
        return config
    from docker.types import Mount

    mount = Mount(target=launch.IMAGE_CHANNEL_DIR, source=str(folder), type="bind", read_only=False)
    socket_path = f"{launch.IMAGE_CHANNEL_DIR}/{launch.CHANNEL_SOCKET_NAME}"
    return {
        **config,
        "mounts": [*(config.get("mounts") or []), mount],
        "environment": {**config.get("environment", {}), launch.CHANNEL_SOCKET_ENV: socket_path},
    }


def mounted_folder(container_name: str) -> Optional[Path]:
    """A claimed standby container's folder, when it was made with one."""
    folder = root() / _name(container_name)
    return folder if folder.is_dir() else None


def remove(folder: Optional[Path]) -> None:
    """A container's folder, once the container is done with it."""
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def sweep(present: Callable[[], Iterable[str]]) -> List[str]:
    """Remove the folders of containers that are gone (after ``STALE_SECONDS``); their names.
    ``present`` lists the engine's container names, asked only when some folder is that old, so a
    task start pays no engine call for it."""
    with contextlib.suppress(OSError):
        stale = [
            folder for folder in root().iterdir() if time.time() - folder.stat().st_mtime > STALE_SECONDS
        ]
        if not stale:
            return []
        names = {_name(name) for name in present()}
        removed = []
        for folder in stale:
            if folder.name not in names:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
        return removed
    return []
