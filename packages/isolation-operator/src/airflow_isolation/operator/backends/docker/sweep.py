"""Removing containers the Docker backend left behind (``sweep_orphans``).

The backend removes its container on success, failure, kill and timeout; only a worker that dies
(SIGKILL, OOM, host reboot) leaves one behind. Every Docker run therefore sweeps first: it removes
containers of earlier tries of the same task instance (wherever they ran) and containers created on
this machine by a process that is gone. Standby containers (``docker.standby``) belong to no process
until a task claims them: the claim file says whose they are then, and an unclaimed one is left
alone while it waits (it exits by itself), removed once it is dead or overstayed. Operators can
run the same sweep from cron on each worker::

    python -m airflow_isolation.operator.backends.docker.sweep [--docker-url URL]

or call :func:`sweep_orphans` (also ``airflow_isolation.operator.sweep_orphans``).
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
from typing import Any, Callable, Dict, List, Optional

import docker
import docker.errors
from docker.models.containers import Container

from airflow_isolation.operator.backends.docker import channel_mount, standby
from airflow_isolation.operator.backends.docker import labels as docker_labels
from airflow_isolation.operator.backends.docker.client import connect
from airflow_isolation.operator.backends.ownership import Owner, TaskIdentity

log = logging.getLogger(__name__)


def _remove(container: Container, why: str, report: Callable[[str], None]) -> bool:
    try:
        container.remove(force=True, v=True)
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as exc:  # e.g. removal already in progress
        report(f"could not remove orphaned container {container.name}: {exc.explanation or exc}")
        return False
    report(f"removed orphaned container {container.name} ({why})")
    return True


def _listed(client: docker.DockerClient, filters: Dict[str, Any]) -> List[Container]:
    """The matching containers that still exist once inspected: the SDK inspects each listed
    container, and a concurrent task removing its own container in between must not fail a sweep."""
    return list(client.containers.list(all=True, filters=filters, ignore_removed=True))


def sweep_orphans(
    client: Optional[docker.DockerClient] = None,
    *,
    identity: Optional[TaskIdentity] = None,
    docker_url: Optional[str] = None,
    report: Optional[Callable[[str], None]] = None,
) -> List[str]:
    """Remove orphaned airflow-isolation containers; return the names removed.

    Removes every managed container created on this machine whose creating process is gone, and,
    when ``identity`` is given, every container of that task instance (any try, any host: the
    task instance is starting again, so an earlier try's container is by definition abandoned).
    Containers of other machines are left to their own sweep or to their task's next try.

    :param client: a Docker client; by default one is made for ``docker_url`` (or ``DOCKER_HOST``).
    :param report: called with one line per container removed (default: this module's logger).
    """
    say = report or log.info
    own_client = client is None
    client = client or connect(docker_url)
    owner = Owner.current()
    removed: List[str] = []
    try:
        if identity is not None:
            wanted = docker_labels.label_filter(docker_labels.identity_labels(identity))
            for container in _listed(client, wanted):
                try_number = container.labels.get(docker_labels.TRY_NUMBER, "?")
                if _remove(container, f"left by try {try_number} of this task instance", say):
                    removed.append(container.name)
        host = docker_labels.label_filter({docker_labels.HOST: owner.host})
        for container in _listed(client, host):
            labels = container.labels
            if container.name in removed or not docker_labels.same_machine(owner, labels):
                continue
            if docker_labels.owner_alive(labels):
                continue
            pid = labels.get(docker_labels.OWNER_PID, "?")
            if _remove(container, f"its worker process {pid} on {owner.host} is gone", say):
                removed.append(container.name)
        removed += _sweep_standby(client, owner, identity, say)
        if channel_mount.engine_is_local(docker_url):
            channel_mount.sweep(lambda: _container_names(client))
    finally:
        if own_client:
            client.close()
    return removed


def _container_names(client: docker.DockerClient) -> List[str]:
    return [name.lstrip("/") for item in client.api.containers(all=True) for name in item.get("Names") or ()]


def _created(container: Container) -> float:
    text = str(container.attrs.get("Created") or "")[:19]  # the engine gives nanoseconds
    try:
        return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return 0.0


def _sweep_standby(
    client: docker.DockerClient, owner: Owner, identity: Optional[TaskIdentity], say: Callable[[str], None]
) -> List[str]:
    """Standby containers of this machine, user and claim folder (``docker.standby``): those claimed by
    a worker process that is gone or by an earlier try of ``identity``, and unclaimed ones that are
    dead or overstayed. Another claim folder's are left to its own sweeps: their claims are not here."""
    try:
        folder = standby.claim_folder()
    except OSError as exc:
        say(f"could not check pooled containers: {exc}")
        return []
    wanted = {docker_labels.STANDBY_UID: str(os.getuid()), docker_labels.STANDBY_SCOPE: standby.scope(folder)}
    mine = [
        c
        for c in _listed(client, docker_labels.label_filter(wanted))
        if docker_labels.standby_here(owner, c.labels)
    ]
    removed: List[str] = []
    for container in mine:
        running = container.status == "running"
        why = standby.sweep_verdict(
            folder, container.id, labels=container.labels, running=running, created=_created(container),
            identity=identity,
        )  # fmt: skip
        if why is not None and _remove(container, why, say):
            removed.append(container.name)
        if why is not None:
            standby.release(folder, container.id)
    standby.forget_stale_claims(folder, [c.id for c in mine if c.name not in removed])
    return removed


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_isolation.operator.backends.docker.sweep",
        description="Remove airflow-isolation containers whose worker process on this machine is gone.",
    )
    parser.add_argument("--docker-url", help="Docker engine URL (default: DOCKER_HOST or the local socket)")
    args = parser.parse_args(argv)
    removed = sweep_orphans(docker_url=args.docker_url, report=print)
    print(f"{len(removed)} orphaned container(s) removed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
