"""Labels on every container the Docker backend creates, in Docker's reverse-DNS syntax.

The names, the task identity and the owner they record are ``ownership``'s; this module only spells
them as Docker labels (``io.airflow-isolation.<name>``) and reads them back from a container.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional

from airflow_isolation.operator.backends import ownership
from airflow_isolation.operator.backends.ownership import Owner, TaskIdentity, reverse_dns_key

MANAGED = reverse_dns_key(ownership.MANAGED)
ENVIRONMENT = reverse_dns_key(ownership.ENVIRONMENT)
DAG_ID = reverse_dns_key(ownership.DAG_ID)
TASK_ID = reverse_dns_key(ownership.TASK_ID)
RUN_ID = reverse_dns_key(ownership.RUN_ID)
MAP_INDEX = reverse_dns_key(ownership.MAP_INDEX)
TRY_NUMBER = reverse_dns_key(ownership.TRY_NUMBER)
HOST = reverse_dns_key(ownership.HOST)
OWNER_PID = reverse_dns_key(ownership.OWNER_PID)
OWNER_STARTED = reverse_dns_key(ownership.OWNER_STARTED)
OWNER_PID_NAMESPACE = reverse_dns_key(ownership.OWNER_PID_NAMESPACE)
STANDBY = reverse_dns_key(ownership.STANDBY)
STANDBY_HOST = reverse_dns_key(ownership.STANDBY_HOST)
STANDBY_UID = reverse_dns_key(ownership.STANDBY_UID)
STANDBY_EXPIRES = reverse_dns_key(ownership.STANDBY_EXPIRES)
STANDBY_SCOPE = reverse_dns_key(ownership.STANDBY_SCOPE)


def owner_labels(owner: Owner) -> Dict[str, str]:
    return {
        HOST: owner.host,
        OWNER_PID_NAMESPACE: owner.pid_namespace,
        OWNER_PID: str(owner.pid),
        OWNER_STARTED: owner.started,
    }


def same_machine(owner: Owner, labels: Mapping[str, str]) -> bool:
    """Whether ``owner`` can judge the owner of a container with ``labels`` by its PID."""
    return labels.get(HOST) == owner.host and labels.get(OWNER_PID_NAMESPACE, "") == owner.pid_namespace


def owner_alive(labels: Mapping[str, str]) -> bool:
    """Whether the process that created the container still runs (call on the same machine only)."""
    try:
        pid = int(labels.get(OWNER_PID, ""))
    except ValueError:
        return False
    return ownership.process_alive(pid, labels.get(OWNER_STARTED, ""))


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
        **owner_labels(owner),
    }


def standby_labels(  # noqa: PLR0917 - each is one label
    environment: str, key: str, scope: str, owner: Owner, uid: int, expires: float
) -> Dict[str, str]:
    """A standby container belongs to no task and no worker process until claimed (the claim file
    says whose it is then): only the machine, the user and the key of what it may run."""
    return {
        MANAGED: "true",
        ENVIRONMENT: environment,
        STANDBY_HOST: owner.host,
        OWNER_PID_NAMESPACE: owner.pid_namespace,
        STANDBY: key,
        STANDBY_SCOPE: scope,
        STANDBY_UID: str(uid),
        STANDBY_EXPIRES: f"{expires:.0f}",
    }


def standby_here(owner: Owner, labels: Mapping[str, str]) -> bool:
    """Whether a standby container was made for workers of ``owner``'s machine (and PID namespace)."""
    return (
        labels.get(STANDBY_HOST) == owner.host and labels.get(OWNER_PID_NAMESPACE, "") == owner.pid_namespace
    )


def label_filter(labels: Optional[Mapping[str, str]] = None) -> Dict[str, List[str]]:
    """A ``containers.list`` filter matching managed containers with all of ``labels``."""
    wanted = {MANAGED: "true", **(labels or {})}
    return {"label": [f"{key}={value}" for key, value in wanted.items()]}
