"""Try a warm start, else start cold: the one shape every backend with a warm path runs a task in.

A warm path (the venv backend's warm runtime, ``venv.warm``; the Docker backend's standby
containers, ``docker.standby``) either runs the task to its exit, or finds, before the task has run
anywhere, that it cannot: it raises ``ColdStart`` saying why, and the task starts cold, with that
reason logged once. A warm path never raises ``ColdStart`` once a warm target may have taken the
task, so a task never runs twice; it ends the run with its own exit (or error) instead.

Warm starts are tried only when both the task (``backend_options={"warm": ...}``) and the worker
(``[isolation] warm_runtime``, ``warm_settings``) allow them; otherwise the task starts cold and its
log says which one turned them off. Every task log says how its task started: the warm path logs
its own ``STARTED_WARM`` line once the task is in a warm target, so a user reading one task's log
(on a Celery worker, say) never has to guess.
"""

from __future__ import annotations

from typing import Callable, Optional, TypeVar

from airflow_isolation.operator.backends.base import LogSink
from airflow_isolation.operator.config.settings import warm_enabled

T = TypeVar("T")

COLD_PREFIX = "[airflow-isolation] starting cold: "
STARTED_WARM = "[airflow-isolation] started warm: "
WORKER_TURNED_OFF = "warm starts are off on this worker ([isolation] warm_runtime = False)"


class ColdStart(Exception):
    """The warm path cannot take the task, and nothing of it has run: start it cold. The message
    says why, for the task log."""


def warm_else_cold(
    task_refuses: Optional[str], warm: Callable[[], T], cold: Callable[[], T], log: LogSink
) -> T:
    """``warm()`` when warm starts are allowed, and ``cold()`` when they are not or it raises
    ``ColdStart``; ``task_refuses`` is why this task itself starts cold (its options), or ``None``."""
    if task_refuses is not None:
        log(f"{COLD_PREFIX}{task_refuses}")
    elif not warm_enabled():
        log(f"{COLD_PREFIX}{WORKER_TURNED_OFF}")
    else:
        try:
            return warm()
        except ColdStart as exc:
            log(f"{COLD_PREFIX}{exc}")
    return cold()


TASK_TURNED_OFF = "this task turns warm starts off (backend_options={'warm': False})"
