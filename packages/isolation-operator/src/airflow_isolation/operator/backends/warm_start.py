"""Try a warm start, else start cold: the one shape every backend with a warm path runs a task in.

A warm path (the venv backend's warm runtime, ``venv.warm``; the Docker backend's standby
containers, ``docker.standby``) either runs the task to its exit, or finds, before the task has run
anywhere, that it cannot: it raises ``ColdStart`` saying why, and the task starts cold, with that
reason logged once. A warm path never raises ``ColdStart`` once a warm target may have taken the
task, so a task never runs twice; it ends the run with its own exit (or error) instead.

Warm starts are tried only when both the task (``backend_options={"warm": ...}``) and the worker
(``[isolation] warm_runtime``, ``warm_settings``) allow them; otherwise the task starts cold
without a word.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from airflow_isolation.operator.backends.base import LogSink
from airflow_isolation.operator.config.settings import warm_enabled

T = TypeVar("T")

COLD_PREFIX = "[airflow-isolation] starting cold: "


class ColdStart(Exception):
    """The warm path cannot take the task, and nothing of it has run: start it cold. The message
    says why, for the task log."""


def warm_else_cold(task_allows: bool, warm: Callable[[], T], cold: Callable[[], T], log: LogSink) -> T:
    """``warm()`` when warm starts are allowed, and ``cold()`` when they are not or it raises
    ``ColdStart``."""
    if task_allows and warm_enabled():
        try:
            return warm()
        except ColdStart as exc:
            log(f"{COLD_PREFIX}{exc}")
    return cold()
