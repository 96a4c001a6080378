"""Whose a run is: the task instance it belongs to, the worker process that owns it, and the names
of the labels every backend marks what it creates with.

Every backend leaves something behind when a worker dies outright (a venv run's folder and
processes, a container, a pod's request Secrets), and every backend finds it again the same way:
by the task identity (the next try of the same task instance removes an earlier try's leftovers)
and by the owner (a process on the same machine whose PID and start time no longer match).

A label name is defined once here; each platform renders it in the syntax it requires: Docker
labels use reverse-DNS keys (``io.airflow-isolation.<name>``), Kubernetes label and annotation keys
a ``prefix/name`` form (``airflow-isolation/<name>``). Kubernetes also accepts the reverse-DNS form
as a plain key, which its objects use for ``managed``, the one label every platform's objects carry.
"""

from __future__ import annotations

import dataclasses
import os
import socket

from airflow_isolation.core import procfs
from airflow_isolation.core.schema import TaskContext
from airflow_isolation.workspace.environment import LABEL_PREFIX

KUBERNETES_PREFIX = "airflow-isolation/"

MANAGED = "managed"
ENVIRONMENT = "environment"
DAG_ID = "dag-id"
TASK_ID = "task-id"
RUN_ID = "run-id"
MAP_INDEX = "map-index"
TRY_NUMBER = "try-number"
HOST = "host"
OWNER_PID = "owner-pid"
OWNER_STARTED = "owner-started"
OWNER_PID_NAMESPACE = "owner-pidns"
REQUEST = "request"
"""On a Kubernetes Secret holding (a part of) a request."""
POD = "pod"
"""On a request Secret: the pod it belongs to."""
STANDBY = "standby"
"""On a standby container (Docker): the key of the image and container options it waits with."""
STANDBY_HOST = "standby-host"
"""On a standby container, instead of ``host``: sweeps that do not know standby containers (an
older version on another worker, during an upgrade) list by ``host`` and would take it for an orphan."""
STANDBY_UID = "standby-uid"
"""On a standby container: the worker user whose tasks may claim it."""
STANDBY_SCOPE = "standby-scope"
"""On a standby container: which claim folder (worker build path) its claims are made in."""
STANDBY_EXPIRES = "standby-expires"
"""On a standby container: when (Unix time) it exits unless a task has claimed it."""


def reverse_dns_key(name: str) -> str:
    """``io.airflow-isolation.<name>``: Docker labels (and a plain Kubernetes key)."""
    return f"{LABEL_PREFIX}{name}"


def kubernetes_key(name: str) -> str:
    """``airflow-isolation/<name>``: a Kubernetes label or annotation key."""
    return f"{KUBERNETES_PREFIX}{name}"


@dataclasses.dataclass(frozen=True)
class TaskIdentity:
    """Which task instance a run belongs to: backends label what they create with it, so a later
    try (or an operator running a sweep) can find what a dead worker left behind."""

    dag_id: str
    task_id: str
    run_id: str
    map_index: int = -1
    try_number: int = 1

    @classmethod
    def of(cls, context: TaskContext) -> TaskIdentity:
        """The identity in a request's task context, which is where the task instance is read."""
        return cls(
            dag_id=str(context.dag_id),
            task_id=str(context.task_id),
            run_id=str(context.run_id),
            map_index=context.map_index,
            try_number=context.try_number,
        )


@dataclasses.dataclass(frozen=True)
class Owner:
    """The worker process that created a run's leftovers.

    From the same host it tells whether the owner is gone: the PID namespace keeps two workers
    sharing a hostname (``--network host`` containers) from judging each other's PIDs, and the start
    time keeps a recycled PID from passing for the owner.
    """

    host: str
    pid_namespace: str
    pid: int
    started: str

    @classmethod
    def current(cls) -> Owner:
        pid = os.getpid()
        return cls(socket.gethostname(), procfs.pid_namespace(), pid, procfs.start_time(pid))


def process_alive(pid: int, started: str) -> bool:
    """Whether process ``pid``, started at ``started`` (empty: unknown), still runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    return not started or procfs.start_time(pid) in ("", started)
