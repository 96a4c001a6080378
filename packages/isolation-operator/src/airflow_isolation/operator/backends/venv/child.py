"""What the venv backend's target does between fork and exec: die with its worker, cap its memory.

The target leads its own process group, so ``kill`` (``on_kill``, ``execution_timeout``) reaches
everything it started. That also takes it out of the worker's group: a worker that is killed
outright (``kill -9``, the out-of-memory killer, a node draining its pod) would leave the target
running on, unseen, holding memory and possibly writing to shared systems while the next try runs.
On Linux ``PR_SET_PDEATHSIG`` makes the kernel send the target SIGKILL when the thread that started
it ends; ``VenvBackend.run`` waits for the target on that very thread, so that thread ends first
only when the worker dies.

The setup runs as ``preexec_fn``, between ``fork`` and ``exec`` in a copy of a possibly threaded
worker, so it only calls functions resolved beforehand and takes no lock: one ``prctl``, one
``getppid``, one ``setrlimit``.
"""

from __future__ import annotations

import os
import resource
import signal
from typing import Callable, Optional

from airflow_isolation.core.launch import EXIT_KILLED
from airflow_isolation.core.prctl import PR_SET_PDEATHSIG, PRCTL

_SIGKILL = int(signal.SIGKILL)
DIES_WITH_WORKER = PRCTL is not None
"""Whether targets die with their worker here (Linux); elsewhere only the Docker sweep covers this."""


def _address_space_limit(limit: int) -> tuple[int, int]:
    """``limit`` as both soft and hard limit, never above a hard limit the worker already has."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    return limit, limit


def child_setup(memory_limit: Optional[int]) -> Callable[[], None]:
    """The ``preexec_fn`` of one target."""
    worker = os.getpid()
    limits = _address_space_limit(memory_limit) if memory_limit is not None else None

    def setup() -> None:
        if PRCTL is not None:
            PRCTL(PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)
            if os.getppid() != worker:  # the worker died before prctl took effect
                os._exit(EXIT_KILLED)
        if limits is not None:
            resource.setrlimit(resource.RLIMIT_AS, limits)

    return setup
