"""The warm runtime of an environment build, seen from the host: where it listens, starting it,
finding it and stopping it.

One warm runtime (``python -m airflow_isolation.runtime.warm``, see ``core.warm_protocol``) per
machine, user and build: its socket is named after the uid and a digest of the build's folder,
content hash and build time, so a rebuild gets a new one (the old one idles out) and nothing is
ever shared between users or builds (``paths``). It is started detached, in a session of its own,
with the cold target's environment (the allowlist, no run marker, no request digest), in the
sandbox when the worker has it, under a
flock so concurrent starts make one (``spawn``); it is found again by its command line
(``command``, ``processes``).

The venv backend starts it on a task's first use; ``isolationctl env warm`` starts it ahead of the
first task, ``env warm --stop`` stops it and ``isolationctl doctor`` shows it: one implementation,
here, so both agree on the socket. How long it waits for a task before it exits is
``[isolation] warm_runtime_idle_seconds`` (``workspace.settings_table``), read by each caller.
"""

from airflow_isolation.workspace.warm.command import WARM_MODULE
from airflow_isolation.workspace.warm.errors import WarmUnavailable
from airflow_isolation.workspace.warm.paths import build_key, private_folder, socket_folder, socket_path
from airflow_isolation.workspace.warm.processes import WarmProcess, running, stop, warm_runtime_processes
from airflow_isolation.workspace.warm.spawn import (
    START_TIMEOUT_SECONDS,
    connect,
    connect_or_start,
    start,
    variant,
)

__all__ = [
    "START_TIMEOUT_SECONDS",
    "WARM_MODULE",
    "WarmProcess",
    "WarmUnavailable",
    "build_key",
    "connect",
    "connect_or_start",
    "private_folder",
    "running",
    "socket_folder",
    "socket_path",
    "start",
    "stop",
    "variant",
    "warm_runtime_processes",
]
