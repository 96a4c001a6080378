"""Finding, from the host, a process a task reported from inside its sandbox.

A sandboxed target (``workspace.sandbox``) has a PID namespace of its own, so the PID it sees is
not the host's. A task reports a record, ``f"{os.getpid()} {os.readlink('/proc/self/ns/pid')}"``: its PID
*and* its namespace (the link, the same from both sides), and ``host_pid`` finds the host process whose
namespace and innermost PID are those. Unsandboxed, the namespace is the host's own and the PID is
the host PID, so the tests read the same either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from airflow_isolation.core import procfs


def host_pid(record: str) -> Optional[int]:
    """The host PID of the running process ``record`` names, or None when none runs any more (a
    zombie counts as gone)."""
    pid_text, namespace = record.split(" ", 1)
    pid = procfs.in_namespace(namespace, int(pid_text))
    return None if pid is None or procfs.state(pid) in ("Z", "") else pid


def read_host_pid(path: Path) -> int:
    """The host PID of the process whose record is in ``path``, which must still run."""
    record = path.read_text()
    pid = host_pid(record)
    assert pid is not None, f"no running process is {record!r}"
    return pid
