"""The standby containers a Docker task may claim instead of starting its own container.

Per worker machine, user and ``container.standby_key`` (image id and container options) the backend
keeps ``STANDBY_PER_KEY`` containers running ``launch.standby_runtime_command``: created, started and
preloaded before any task wants them, holding nothing of any task. A task claims one by creating
its claim file, ``<build_path>/docker-standby-<uid>/<container id>.claim``, with ``link(2)``, which
fails for every process but one, on any number of worker processes; the file records the claiming
worker process and task instance, which a standby container's labels cannot (they are fixed at
creation). Then the task's request goes in as for a cold container (``standby_run``).

Whoever claimed a container or found none starts one replacement in the background
(``Replenisher``), under a per-key lock so concurrent tasks do not start too many, and waits for
it before the task ends. Standby containers exit after ``[isolation] warm_runtime_idle_seconds``
and the engine removes them; ``sweep.sweep_orphans`` removes claimed ones whose worker is gone and
unclaimed ones that are dead or overstayed, each after claiming it itself, so never one another
worker has just claimed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

import docker
import msgspec
from docker.models.images import Image

from airflow_isolation.operator.backends import ownership
from airflow_isolation.operator.backends.docker import channel_mount
from airflow_isolation.operator.backends.docker import labels as docker_labels
from airflow_isolation.operator.backends.docker.client import client_for
from airflow_isolation.operator.backends.docker.container import standby_container_config, standby_settings
from airflow_isolation.operator.backends.docker.options import DockerOptions
from airflow_isolation.operator.backends.ownership import Owner, TaskIdentity
from airflow_isolation.operator.config.settings import idle_seconds
from airflow_isolation.workspace.flock import held_flock
from airflow_isolation.workspace.warm import private_folder

STANDBY_PER_KEY = 1
"""Waiting containers per key: one per machine and user is enough to take the start off every task
that finds one; concurrent tasks beyond it start cold, as without standby containers."""
CLAIM_MARGIN_SECONDS = 30.0
"""A standby container this close to its idle exit is left alone, so it never exits under a task
(it would only cost a cold start: a container that exits before taking the task never ran it)."""
SWEEP_GRACE_SECONDS = 60.0
"""How long past its expiry (or, not running, past its creation) before a sweep removes one."""


class ClaimRecord(msgspec.Struct, forbid_unknown_fields=True):
    """Whose a claimed container is: what the labels of a cold container say."""

    host: str
    pid_namespace: str
    pid: int
    started: str
    dag_id: str = ""
    task_id: str = ""
    run_id: str = ""
    map_index: int = -1
    try_number: int = 0

    def same_task_instance(self, identity: TaskIdentity) -> bool:
        mine = (self.dag_id, self.task_id, self.run_id, self.map_index)
        return mine == (identity.dag_id, identity.task_id, identity.run_id, identity.map_index)

    def owner_gone(self, owner: Owner) -> bool:
        same_machine = (self.host, self.pid_namespace) == (owner.host, owner.pid_namespace)
        return same_machine and not ownership.process_alive(self.pid, self.started)


def claim_folder() -> Path:
    from airflow_isolation.operator.environments import build_path

    return private_folder(Path(build_path()) / f"docker-standby-{os.getuid()}")


def scope(folder: Path) -> str:
    """Names the claim folder on a standby container: claims of one container must all be made in
    the same folder, so workers with another build path never share standby containers."""
    return hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]


def standby_key(ref: str, image: Image, options: DockerOptions) -> str:
    """Which standby containers a task may claim: same image and settings (``standby_settings``),
    same worker machine, user and claim folder."""
    owner = Owner.current()
    settings = {**standby_settings(ref, image, options), "uid": os.getuid(), "host": owner.host,
                "pid_namespace": owner.pid_namespace, "claims": scope(claim_folder())}  # fmt: skip
    text = json.dumps(settings, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _claim_file(folder: Path, container_id: str) -> Path:
    return folder / f"{container_id}.claim"


def take(folder: Path, container_id: str, record: ClaimRecord) -> bool:
    """Claim ``container_id`` for ``record``; False when another process already has."""
    staged = folder / f".{container_id[:12]}.{uuid.uuid4().hex}.staged"
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(msgspec.json.encode(record))
    try:
        os.link(staged, _claim_file(folder, container_id))  # complete before visible, and exclusive
    except FileExistsError:
        return False
    finally:
        os.unlink(staged)
    return True


def read_claim(folder: Path, container_id: str) -> Optional[ClaimRecord]:
    try:
        return msgspec.json.decode(_claim_file(folder, container_id).read_bytes(), type=ClaimRecord)
    except (OSError, msgspec.DecodeError):
        return None


def release(folder: Path, container_id: str) -> None:
    """Forget the claim once the container is removed."""
    with contextlib.suppress(FileNotFoundError):
        _claim_file(folder, container_id).unlink()


def record_for(identity: Optional[TaskIdentity]) -> ClaimRecord:
    owner = Owner.current()
    record = ClaimRecord(owner.host, owner.pid_namespace, owner.pid, owner.started)
    if identity is not None:
        record = msgspec.structs.replace(
            record, dag_id=identity.dag_id, task_id=identity.task_id, run_id=identity.run_id,
            map_index=identity.map_index, try_number=identity.try_number,
        )  # fmt: skip
    return record


def _expires(labels: Mapping[str, str]) -> float:
    try:
        return float(labels.get(docker_labels.STANDBY_EXPIRES, ""))
    except ValueError:
        return 0.0


def _waiting(client: docker.DockerClient, key: str) -> Sequence[Dict[str, Any]]:
    """Running standby containers of ``key``, oldest first (most likely done preloading), from the
    engine's list alone (no inspect per container)."""
    filters = docker_labels.label_filter({docker_labels.STANDBY: key})
    filters["status"] = ["running"]
    found = client.api.containers(filters=filters)
    return sorted(found, key=lambda item: item.get("Created", 0))


def _claimable(folder: Path, item: Mapping[str, Any], now: float) -> bool:
    """Unclaimed, and not about to exit: ``CLAIM_MARGIN_SECONDS`` before its expiry, or a quarter
    of its idle time when that is shorter."""
    expires = _expires(item.get("Labels") or {})
    margin = min(CLAIM_MARGIN_SECONDS, (expires - float(item.get("Created") or 0)) / 4)
    return expires - margin > now and not _claim_file(folder, item["Id"]).exists()


def claim(client: docker.DockerClient, key: str, identity: TaskIdentity) -> Optional[str]:
    """The id of a waiting standby container of ``key`` now claimed for this task, or None."""
    folder = claim_folder()
    record = record_for(identity)
    now = time.time()
    for item in _waiting(client, key):
        if _claimable(folder, item, now) and take(folder, item["Id"], record):
            return str(item["Id"])
    return None


def unclaimed(client: docker.DockerClient, key: str) -> int:
    folder = claim_folder()
    now = time.time()
    return sum(1 for item in _waiting(client, key) if _claimable(folder, item, now))


@dataclasses.dataclass
class StandbyRequest:
    """What a replacement standby container is made of."""

    docker_url: Optional[str]
    api_version: str
    ref: str
    image: Image
    environment: str
    options: DockerOptions
    key: str
    preload: Callable[[], Sequence[str]]


class Replenisher:
    """Creates and starts one standby container of a key in a background thread, while the task
    runs; ``join`` waits for it, so nothing of the task outlives its run. Failures are logged,
    never raised: standby containers are an optimisation."""

    def __init__(self, request: StandbyRequest, log: Callable[[str], None]) -> None:
        self._request = request
        self._log = log
        self._thread = threading.Thread(target=self._run, name="isolation-docker-standby", daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        request = self._request
        try:
            with _key_lock(request.key) as locked:
                if not locked:
                    return  # another task is starting this key's replacement right now
                client = client_for(request.docker_url, request.api_version)
                try:
                    if unclaimed(client, request.key) >= STANDBY_PER_KEY:
                        return
                    labels = docker_labels.standby_labels(
                        request.environment, request.key, scope(claim_folder()), Owner.current(), os.getuid(),
                        time.time() + idle_seconds(),
                    )  # fmt: skip
                    config = standby_container_config(
                        request.ref, request.image, request.options, request.preload(), labels
                    )
                    folder = None
                    if channel_mount.engine_is_local(request.options.docker_url):  # whichever task claims it
                        folder = channel_mount.folder_or_none(config["name"], self._log)
                        config = channel_mount.with_channel(config, folder)
                    try:
                        container = client.containers.create(**config)
                        container.start()
                    except Exception:
                        with contextlib.suppress(Exception):
                            client.containers.get(config["name"]).remove(force=True, v=True)
                        channel_mount.remove(folder)
                        raise
                finally:
                    client.close()
        except Exception as exc:
            self._log(
                f"[airflow-isolation] WARNING: could not start a pooled container for the next task "
                f"({type(exc).__name__}: {exc}); tasks of this image start cold meanwhile"
            )


def _key_lock(key: str) -> Any:
    """A non-blocking ``flock`` per key: yields whether this process holds it."""
    return held_flock(claim_folder() / f"{key}.lock", wait=False)


def sweep_verdict(
    folder: Path,
    container_id: str,
    *,
    labels: Mapping[str, str],
    running: bool,
    created: float,
    identity: Optional[TaskIdentity],
) -> Optional[str]:
    """Why a standby container of this user on this machine should go, or None to leave it.

    An unclaimed one is only removed once the sweep has claimed it itself, so a task that claims
    it at the same moment either wins (and the sweep leaves it) or never gets it.
    """
    record = read_claim(folder, container_id)
    now = time.time()
    if record is None:
        if running and now < _expires(labels) + SWEEP_GRACE_SECONDS:
            return None  # waiting for a task, and exits by itself when none comes
        if not running and now < created + SWEEP_GRACE_SECONDS:
            return None  # being started by a replenisher
        if not take(folder, container_id, record_for(None)):
            return None
        return (
            "a pooled container that is not running"
            if not running
            else "a pooled container past its idle time"
        )
    if identity is not None and record.dag_id and record.same_task_instance(identity):
        return f"claimed by try {record.try_number} of this task instance"
    if record.owner_gone(Owner.current()):
        return f"claimed by worker process {record.pid}, which is gone"
    return None


def forget_stale_claims(folder: Path, present: Sequence[str]) -> None:
    """Claim files of containers that are gone, claimed by a worker process that is gone too."""
    owner = Owner.current()
    for path in folder.glob("*.claim"):
        container_id = path.name[: -len(".claim")]
        if container_id in present:
            continue
        record = read_claim(folder, container_id)
        if record is None or record.owner_gone(owner):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
