"""Settings a task does not name: its default backend, and where environments and builds live.

Paths: Airflow configuration ``[isolation] environments_path`` / ``build_path``, then the same keys
of the ``isolation.toml`` named by ``AIRFLOW__ISOLATION__SETTINGS_FILE``, then the defaults. Backend
order: Airflow configuration ``[isolation] default_backend`` (``AIRFLOW__ISOLATION__DEFAULT_BACKEND``),
then ``default_backend`` in the project's ``isolation.toml`` when ``AIRFLOW__ISOLATION__SETTINGS_FILE``
points at one, then ``venv``. The settings file is only read when that variable names it: a worker
must not change behaviour because of the directory it happens to be started in.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

from airflow_isolation.operator import airflow_compat as compat
from airflow_isolation.workspace.project_settings import (
    BACKENDS,
    SETTINGS_FILE_VAR,
    ProjectSettings,
    find_settings_file,
    load_settings,
)

FALLBACK_BACKEND = "venv"


class BackendSettingError(ValueError):
    pass


def default_backend() -> str:
    configured = compat.get_conf("isolation", "default_backend")
    if configured:
        if configured not in BACKENDS:
            raise BackendSettingError(
                f"Airflow configuration [isolation] default_backend = {configured!r} is not a backend: "
                f"use one of {', '.join(BACKENDS)} (or pass backend=... to the task)"
            )
        return configured
    project = project_settings()
    return project.default_backend if project is not None else FALLBACK_BACKEND


def project_settings() -> Optional[ProjectSettings]:
    """The ``isolation.toml`` named by ``AIRFLOW__ISOLATION__SETTINGS_FILE``, if any."""
    if not os.environ.get(SETTINGS_FILE_VAR):
        return None
    return load_settings(find_settings_file())


@dataclasses.dataclass(frozen=True)
class KubernetesSettings:
    """What a deployment sets once for every Kubernetes task, in Airflow configuration ``[isolation]``:
    ``kubernetes_namespace``, ``kubernetes_conn_id``, ``image_registry`` (where ``isolationctl env
    push`` put the images) and ``image_pull_policy``. A task's ``backend_options`` override them.
    ``kubernetes_sweep_grace_seconds``: how old an unowned request Secret must be before a run's
    sweep deletes it (``kubernetes.sweep``)."""

    namespace: Optional[str]
    conn_id: Optional[str]
    image_registry: Optional[str]
    image_pull_policy: Optional[str]
    sweep_grace_seconds: Optional[float] = None


def kubernetes_settings() -> KubernetesSettings:
    return KubernetesSettings(
        namespace=compat.get_conf("isolation", "kubernetes_namespace"),
        conn_id=compat.get_conf("isolation", "kubernetes_conn_id"),
        image_registry=compat.get_conf("isolation", "image_registry"),
        image_pull_policy=compat.get_conf("isolation", "image_pull_policy"),
        sweep_grace_seconds=_seconds("kubernetes_sweep_grace_seconds"),
    )


def _seconds(key: str) -> Optional[float]:
    value = compat.get_conf("isolation", key)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise BackendSettingError(
            f"Airflow configuration [isolation] {key} = {value!r} is not a number of seconds (>= 0)"
        )
    return seconds
