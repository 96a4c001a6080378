"""The warm-start settings every backend with a warm path shares, and the private folder it keeps.

Airflow configuration ``[isolation]``: ``warm_runtime`` (default ``True``;
``AIRFLOW__ISOLATION__WARM_RUNTIME=False`` turns warm starts off for the worker: the venv
backend's warm runtime and the Docker backend's container pool) and ``warm_runtime_idle_seconds``
(default 600: how long a warm runtime or a pooled container waits for a task before it exits).
A task turns them off for itself with ``backend_options={"warm": False}``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DEFAULT_IDLE_SECONDS = 600.0


def warm_enabled() -> bool:
    from airflow_isolation.operator import compat

    value = compat.get_conf("isolation", "warm_runtime")
    return value is None or value.strip().lower() not in ("false", "0", "no", "off")


def idle_seconds() -> float:
    from airflow_isolation.operator import compat

    value = compat.get_conf("isolation", "warm_runtime_idle_seconds")
    try:
        return float(value) if value else DEFAULT_IDLE_SECONDS
    except ValueError:
        return DEFAULT_IDLE_SECONDS


def private_folder(path: Path) -> Path:
    """``path`` as a 0700 folder of this uid, made if missing; refuses one another uid owns."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionError(f"{path} is not a folder of uid {os.getuid()}: remove it or fix its owner")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path
