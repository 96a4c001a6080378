"""Where an isolated task runs. ``venv`` is embedded; ``docker`` and ``kubernetes`` plug in here."""

from __future__ import annotations

import importlib
from typing import Dict

from airflow_isolation.operator.backends.base import IsolationBackend

_BACKENDS: Dict[str, str] = {
    "venv": "airflow_isolation.operator.backends.venv.VenvBackend",
}
_PLANNED = ("docker", "kubernetes")


class UnknownBackendError(ValueError):
    pass


def check_backend_name(name: str) -> None:
    if name in _BACKENDS:
        return
    if name in _PLANNED:
        raise UnknownBackendError(
            f"backend {name!r} is not available in this version of airflow-isolation-operator; "
            f"use one of: {', '.join(sorted(_BACKENDS))}"
        )
    raise UnknownBackendError(
        f"unknown backend {name!r}: choose one of {', '.join(sorted(_BACKENDS))} (backend='venv' runs "
        "the task in the environment's virtualenv on the worker)"
    )


def get_backend(name: str) -> IsolationBackend:
    check_backend_name(name)
    module_name, _, class_name = _BACKENDS[name].rpartition(".")
    backend: IsolationBackend = getattr(importlib.import_module(module_name), class_name)()
    return backend


__all__ = ["IsolationBackend", "UnknownBackendError", "check_backend_name", "get_backend"]
