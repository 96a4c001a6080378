"""Labels on every container the Docker backend creates, and who owns a labelled container.

A container belongs to the worker process that created it: its ``host`` (hostname), its PID
namespace and its PID and start time. That is enough to tell, from the same host, whether the owner
is gone: the PID namespace keeps two workers sharing a hostname (``--network host`` containers)
from judging each other's PIDs, and the start time keeps a recycled PID from passing for the owner.
The task identity labels let the next try of a task instance find what a dead worker left behind.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from typing import Dict, List, Mapping, Optional

from airflow_isolation.core.environment import LABEL_PREFIX
from airflow_isolation.operator.backends.base import TaskIdentity

MANAGED = LABEL_PREFIX + "managed"
ENVIRONMENT = LABEL_PREFIX + "environment"
DAG_ID = LABEL_PREFIX + "dag-id"
TASK_ID = LABEL_PREFIX + "task-id"
RUN_ID = LABEL_PREFIX + "run-id"
MAP_INDEX = LABEL_PREFIX + "map-index"
TRY_NUMBER = LABEL_PREFIX + "try-number"
HOST = LABEL_PREFIX + "host"
OWNER_PID = LABEL_PREFIX + "owner-pid"
OWNER_STARTED = LABEL_PREFIX + "owner-started"
OWNER_PID_NAMESPACE = LABEL_PREFIX + "owner-pidns"


def _proc_start_time(pid: int) -> str:
    """Start time of ``pid`` in clock ticks since boot (Linux); empty where /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return ""
    # the command name (field 2) may hold spaces and parentheses; fields after it are plain
    return stat.rpartition(")")[2].split()[19]


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


@dataclasses.dataclass(frozen=True)
class Owner:
    host: str
    pid_namespace: str
    pid: int
    started: str

    @classmethod
    def current(cls) -> Owner:
        pid = os.getpid()
        return cls(socket.gethostname(), _pid_namespace(), pid, _proc_start_time(pid))

    def labels(self) -> Dict[str, str]:
        return {
            HOST: self.host,
            OWNER_PID_NAMESPACE: self.pid_namespace,
            OWNER_PID: str(self.pid),
            OWNER_STARTED: self.started,
        }

    def same_machine(self, labels: Mapping[str, str]) -> bool:
        """Whether this process can judge the owner of a container with ``labels`` by its PID."""
        return labels.get(HOST) == self.host and labels.get(OWNER_PID_NAMESPACE, "") == self.pid_namespace


def owner_alive(labels: Mapping[str, str]) -> bool:
    """Whether the process that created the container still runs (call on the same machine only)."""
    try:
        pid = int(labels.get(OWNER_PID, ""))
    except ValueError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    started = labels.get(OWNER_STARTED, "")
    return not started or _proc_start_time(pid) in ("", started)


def identity_labels(identity: TaskIdentity) -> Dict[str, str]:
    """The task instance, all tries: what a new try sweeps."""
    return {
        DAG_ID: identity.dag_id,
        TASK_ID: identity.task_id,
        RUN_ID: identity.run_id,
        MAP_INDEX: str(identity.map_index),
    }


def container_labels(environment: str, identity: TaskIdentity, owner: Owner) -> Dict[str, str]:
    return {
        MANAGED: "true",
        ENVIRONMENT: environment,
        **identity_labels(identity),
        TRY_NUMBER: str(identity.try_number),
        **owner.labels(),
    }


def label_filter(labels: Optional[Mapping[str, str]] = None) -> Dict[str, List[str]]:
    """A ``containers.list`` filter matching managed containers with all of ``labels``."""
    wanted = {MANAGED: "true", **(labels or {})}
    return {"label": [f"{key}={value}" for key, value in wanted.items()]}
