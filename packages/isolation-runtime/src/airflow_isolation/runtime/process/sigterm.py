"""SIGTERM in the target: run the operator's ``on_kill``, then end the task as terminated.

Airflow's own task runners do the same (2.10's ``TaskInstance`` signal handler, the 3.x Task SDK's
``_on_term``), and operators rely on it to release what lives outside their process: a
BashOperator stops its shell's process group (which ``setsid`` took out of ours), a
KubernetesPodOperator deletes its pod, a DockerOperator stops its container. Every backend's kill
starts with SIGTERM (the venv backend signals the target's group, the docker backend stops the
container, Kubernetes deletes the pod with a grace period), so an isolated task gets the same
chance a native one does.

The handler raises ``TaskTerminated`` in the task's frame, so ``finally`` blocks run and the run
ends with a result like any failure, before the host's SIGKILL deadline.
"""

from __future__ import annotations

import contextlib
import os
import signal
from types import FrameType
from typing import Any, Callable, Iterator, Optional


class TaskTerminated(Exception):
    """The target received SIGTERM while the task ran."""


@contextlib.contextmanager
def on_sigterm(operator: Optional[Any], log: Callable[[str], None]) -> Iterator[None]:
    """While the task runs, SIGTERM calls ``operator.on_kill()`` and raises ``TaskTerminated``;
    ``log`` writes the runtime's own lines."""
    runtime_pid = os.getpid()

    def handle(signum: int, frame: Optional[FrameType]) -> None:
        if os.getpid() != runtime_pid:  # a child forked by the task inherited this handler
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # on_kill runs once, however many signals come
        log("received SIGTERM: stopping the task" + (" (on_kill)" if operator is not None else ""))
        on_kill = getattr(operator, "on_kill", None)
        if callable(on_kill):
            try:
                on_kill()
            except Exception as exc:  # the task ends as terminated all the same
                log(f"on_kill failed: {type(exc).__name__}: {exc}")
        raise TaskTerminated(
            "the target received SIGTERM and stopped the task: execution_timeout, a manual stop or "
            "clear, or the worker shutting down"
        )

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
