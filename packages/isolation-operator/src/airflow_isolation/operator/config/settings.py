"""Settings a task does not name, read from Airflow's ``[isolation]`` configuration on the host.

Every option is an :class:`~airflow_isolation.workspace.settings_table.Option` of the settings
table, read by :func:`read` with the option's type and default; this module only adds what a
value means here. Paths are ``airflow_isolation.operator.environments``.

Backend order: Airflow configuration ``[isolation] default_backend``
(``AIRFLOW__ISOLATION__DEFAULT_BACKEND``), then ``default_backend`` in the project's
``isolation.toml`` when ``AIRFLOW__ISOLATION__SETTINGS_FILE`` points at one, then ``venv``. The
settings file is only read when that variable names it: a worker must not change behaviour
because of the directory it happens to be started in.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Optional, TypeVar

from airflow_isolation.operator import airflow_compat as compat
from airflow_isolation.workspace.project_settings import (
    BACKENDS,
    SETTINGS_FILE_VAR,
    ProjectSettings,
    find_settings_file,
    load_settings,
)
from airflow_isolation.workspace.settings_table import (
    DEFAULT_BACKEND,
    IMAGE_PULL_POLICY,
    IMAGE_REGISTRY,
    KUBERNETES_CONN_ID,
    KUBERNETES_NAMESPACE,
    KUBERNETES_SWEEP_GRACE_SECONDS,
    SECTION,
    VENV_SANDBOX,
    WARM_RUNTIME,
    WARM_RUNTIME_IDLE_SECONDS,
    InvalidSetting,
    Option,
)

T = TypeVar("T")


class BackendSettingError(ValueError):
    pass


def raw(option: Option[Any]) -> Optional[str]:
    """The option's text in Airflow's configuration (its variable, then ``airflow.cfg``); ``None``
    when unset or empty."""
    return compat.get_conf(SECTION, option.name)


def read(option: Option[T]) -> T:
    """The option as Airflow's configuration sets it, typed, else its default."""
    return option.value(raw(option))


def default_backend() -> str:
    configured = raw(DEFAULT_BACKEND)
    if configured:
        if configured not in BACKENDS:
            raise BackendSettingError(
                f"Airflow configuration [isolation] default_backend = {configured!r} is not a backend: "
                f"use one of {', '.join(BACKENDS)} (or pass backend=... to the task)"
            )
        return configured
    project = project_settings()
    return project.default_backend if project is not None else DEFAULT_BACKEND.default


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
        namespace=read(KUBERNETES_NAMESPACE),
        conn_id=read(KUBERNETES_CONN_ID),
        image_registry=read(IMAGE_REGISTRY),
        image_pull_policy=read(IMAGE_PULL_POLICY),
        sweep_grace_seconds=_seconds(KUBERNETES_SWEEP_GRACE_SECONDS),
    )


def _seconds(option: Option[Optional[float]]) -> Optional[float]:
    value = raw(option)
    try:
        seconds = option.value(value)
    except InvalidSetting:
        seconds = -1.0
    if seconds is not None and seconds < 0:
        raise BackendSettingError(
            f"Airflow configuration [isolation] {option.name} = {value!r} is not a number of seconds (>= 0)"
        )
    return seconds


def warm_enabled() -> bool:
    """``[isolation] warm_runtime``: warm starts for this worker (the venv backend's warm runtime
    and the Docker backend's standby containers). A task turns them off for itself with
    ``backend_options={"warm": False}``."""
    return read(WARM_RUNTIME)


def idle_seconds() -> float:
    """``[isolation] warm_runtime_idle_seconds``: how long a warm runtime or a standby container
    waits for a task before it exits."""
    return read(WARM_RUNTIME_IDLE_SECONDS)


def venv_sandbox() -> str:
    """``[isolation] venv_sandbox``: auto, required or off (``workspace.sandbox.decision``)."""
    from airflow_isolation.workspace.sandbox.decision import SandboxModeError, check_mode

    try:
        return check_mode(read(VENV_SANDBOX).strip().lower())
    except SandboxModeError as exc:
        raise BackendSettingError(str(exc)) from None
