"""The sandbox of venv targets: what a task running on the worker's own machine may reach of it.

A venv target is a process of the worker's user on the worker's machine, so without more it could
read the environment of every process of that user (``/proc/<pid>/environ`` holds each
``AIRFLOW_CONN_*``), ``airflow.cfg`` with its keys, the metadata database file and other tasks'
requests (DESIGN.md §8). The sandbox is bubblewrap (``bwrap``, what Flatpak runs its apps in:
maintained, small, and in every distribution), not namespace code of our own: each cold target,
and each build's warm runtime with the tasks it forks, runs in a ``bwrap`` with its own user, PID,
mount, IPC and UTS namespaces (``bubblewrap``), which sees

- the system directories, the base Python and the environment's venv, read-only;
- a private ``/tmp`` and home, its own ``/proc`` (only its own processes) and a minimal ``/dev``;
- the task's run folder (cold), the paths the task mounts (``profile.BindMount``);
- the network, unless the task cuts it (``profile.SandboxProfile.network``);
- an allowlisted environment (``environment``), on every start, sandboxed or not.

When the sandbox's first process ends the kernel ends every process in it, so nothing a task
started outlives it, even when its worker is killed outright. Whether a worker can have it is
``availability``; what ``[isolation] venv_sandbox`` makes of that, ``decision``.
"""

from airflow_isolation.workspace.sandbox.availability import Availability, availability
from airflow_isolation.workspace.sandbox.bubblewrap import sandbox_command, signal_exit_code
from airflow_isolation.workspace.sandbox.decision import (
    MODES,
    Decision,
    SandboxModeError,
    SandboxUnavailable,
    decide,
)
from airflow_isolation.workspace.sandbox.environment import task_environment
from airflow_isolation.workspace.sandbox.profile import SANDBOX_HOME, BindMount, SandboxProfile

__all__ = [
    "MODES",
    "SANDBOX_HOME",
    "Availability",
    "BindMount",
    "Decision",
    "SandboxModeError",
    "SandboxProfile",
    "SandboxUnavailable",
    "availability",
    "decide",
    "sandbox_command",
    "signal_exit_code",
    "task_environment",
]
