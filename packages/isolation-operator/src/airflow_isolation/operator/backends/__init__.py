"""Where an isolated task runs: ``venv``, ``docker`` and ``kubernetes`` (the KubernetesPodOperator).

Each backend is registered with two dotted paths: its class, imported only when a task runs, and a
parser for its ``backend_options``, run when the DAG is parsed. Parsers import nothing heavy (no
Docker SDK), so a DAG processor without Docker still reports a misspelt option at parse time.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from typing import Any, Dict, Mapping, Optional

from airflow_isolation.operator.backends.base import BackendJob, IsolationBackend, TargetExit
from airflow_isolation.operator.backends.options import BackendOptionsError
from airflow_isolation.operator.backends.ownership import TaskIdentity


@dataclasses.dataclass(frozen=True)
class _Registered:
    backend: str
    options_parser: str
    needs_module: Optional[str] = None
    install_hint: str = ""
    opens_channel: bool = False
    """It hands its targets the channel back to the host (``BackendJob.channel``)."""


_BACKENDS: Dict[str, _Registered] = {
    "venv": _Registered(
        "airflow_isolation.operator.backends.venv.backend.VenvBackend",
        "airflow_isolation.operator.backends.venv.options.parse_venv_options",
        opens_channel=True,
    ),
    "docker": _Registered(
        "airflow_isolation.operator.backends.docker.backend.DockerBackend",
        "airflow_isolation.operator.backends.docker.options.parse_docker_options",
        needs_module="docker",
        install_hint="pip install 'airflow-isolation-operator[docker]'",
        opens_channel=True,
    ),
    "kubernetes": _Registered(
        "airflow_isolation.operator.backends.kubernetes.backend.KubernetesBackend",
        "airflow_isolation.operator.backends.kubernetes.options.parse_kubernetes_options",
        needs_module="airflow.providers.cncf.kubernetes",
        install_hint="pip install 'airflow-isolation-operator[kubernetes]'",
    ),
}


class UnknownBackendError(ValueError):
    pass


def opens_channel(name: str) -> bool:
    """Whether backend ``name`` hands its targets the channel back to the host."""
    registered = _BACKENDS.get(name)
    return registered is not None and registered.opens_channel


def channel_backends() -> list[str]:
    """The backends that hand their targets the channel back, for messages that name the fix."""
    return sorted(name for name, registered in _BACKENDS.items() if registered.opens_channel)


def check_backend_name(name: str) -> None:
    """Refuse an unknown backend, or one whose client library is missing, at DAG parse time."""
    registered = _BACKENDS.get(name)
    if registered is None:
        known = ", ".join(sorted(_BACKENDS))
        raise UnknownBackendError(
            f"unknown backend {name!r}: choose one of {known} (backend='venv' runs the task in the "
            "environment's virtualenv on the worker, backend='docker' in a container of its image, "
            "backend='kubernetes' in a pod)"
        )
    if registered.needs_module and importlib.util.find_spec(registered.needs_module) is None:
        raise UnknownBackendError(
            f"backend {name!r} needs the Python package {registered.needs_module!r}, which is not "
            f"installed here: {registered.install_hint}"
        )


def _load(dotted: str) -> Any:
    module_name, _, attribute = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def parse_backend_options(name: str, options: Optional[Mapping[str, Any]], where: str) -> Any:
    """Validate ``backend_options`` for ``name`` into the object its backend expects.

    ``where`` names the task in the error (``IsolatedOperator 'extract'``).
    """
    check_backend_name(name)
    if options is not None and not isinstance(options, Mapping):
        raise BackendOptionsError(
            f"{where}: backend_options must be a dict of option names to values, got {options!r}"
        )
    try:
        return _load(_BACKENDS[name].options_parser)(dict(options or {}))
    except BackendOptionsError as exc:
        raise BackendOptionsError(f"{where}: backend_options for backend {name!r}: {exc}") from None


def get_backend(name: str) -> IsolationBackend:
    check_backend_name(name)
    backend: IsolationBackend = _load(_BACKENDS[name].backend)()
    return backend


__all__ = [
    "BackendJob",
    "BackendOptionsError",
    "IsolationBackend",
    "TargetExit",
    "TaskIdentity",
    "UnknownBackendError",
    "check_backend_name",
    "get_backend",
    "parse_backend_options",
]
