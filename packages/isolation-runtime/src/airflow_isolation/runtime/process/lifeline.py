"""Ending with the worker when the kernel cannot tie the process to it.

A warm child, and a cold target started through ``sudo`` (``run_as_user``, whose setuid clears
the parent-death signal), get the read end of a pipe whose other end only their worker holds
(``core.launch.LIFELINE_FD_ENV``, a warm start's ``lifeline`` descriptor). The kernel signals a
pipe's ``O_ASYNC`` reader when its last writer goes away, and SIGIO's default action ends the
process: the whole process group gets it, with no thread and no polling.
"""

from __future__ import annotations

import fcntl
import os
import signal

from airflow_isolation.core import launch


def die_with_worker(lifeline: int) -> None:
    """SIGIO to this process's whole group when the worker's end of ``lifeline`` closes.

    In a sandbox whose PID namespace does not hold the group's leader, the group has no number
    (``getpgid`` says 0): then SIGIO goes to this process alone, whose end ends the sandbox and
    everything in it (the sandbox's first process exits with its command)."""
    group = os.getpgid(0)
    fcntl.fcntl(lifeline, fcntl.F_SETOWN, -group if group > 0 else os.getpid())
    fcntl.fcntl(lifeline, fcntl.F_SETFL, fcntl.fcntl(lifeline, fcntl.F_GETFL) | os.O_ASYNC)
    signal.signal(signal.SIGIO, signal.SIG_DFL)


def arm_from_environment() -> None:
    """The lifeline the host named in ``ISOLATION_LIFELINE_FD``, if any (taken out of the
    environment, so nothing the task starts inherits the name of a descriptor it does not hold)."""
    value = os.environ.pop(launch.LIFELINE_FD_ENV, None)
    if value is not None and value.isdigit():
        die_with_worker(int(value))
