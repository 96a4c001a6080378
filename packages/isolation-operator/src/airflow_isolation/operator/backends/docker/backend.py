"""Running the target in a container of the environment's image.

One run: sweep orphans, find (or pull) the image, create a labelled container, copy the request in,
start it, stream its output into the task log, wait, inspect how it ended, copy the result out and
remove the container. The container is removed in a ``finally``, so success, failure, errors and
Airflow's ``execution_timeout`` (raised inside ``execute``) all clean up; ``kill`` (``on_kill``)
removes it from another thread or a signal handler while ``run`` waits on its output.

With warm starts on (``backend_options={"warm": ...}``, ``[isolation] warm_runtime``) a run first
claims a started, preloaded container of the same image and options waiting on standby
(``docker.standby``) and hands it the request (``docker.standby_run``) instead of creating one; it
ends, reports and is removed as a cold one. Either way the run starts a replacement for the next
task in the background and waits for it before it returns.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.images import Image

from airflow_isolation.core.launch import (
    EXIT_KILLED,
    IMAGE_PYTHON,
    IMAGE_REQUEST_FILE,
    IMAGE_RESULT_FILE,
    IMAGE_VENV,
)
from airflow_isolation.operator.backends.base import (
    BackendJob,
    IsolationBackend,
    LogSink,
    LogTail,
    TargetExit,
)
from airflow_isolation.operator.backends.docker import channel_mount, standby
from airflow_isolation.operator.backends.docker.archive import put_request, read_file
from airflow_isolation.operator.backends.docker.client import (
    ENGINE_ERRORS,
    DockerBackendError,
    client_for,
    connect,
)
from airflow_isolation.operator.backends.docker.container import (
    container_config,
    container_name,
    image_user,
    io_volume,
)
from airflow_isolation.operator.backends.docker.image import ensure_image
from airflow_isolation.operator.backends.docker.log_lines import split_lines
from airflow_isolation.operator.backends.docker.options import PRIVILEGED_WARNING, DockerOptions
from airflow_isolation.operator.backends.docker.standby_run import (
    StandbyExit,
    StandbyUnavailable,
    handed_over,
)
from airflow_isolation.operator.backends.docker.sweep import sweep_orphans
from airflow_isolation.operator.backends.docker.user import container_owner
from airflow_isolation.operator.backends.warm_start import (
    STARTED_WARM,
    TASK_TURNED_OFF,
    ColdStart,
    warm_else_cold,
)
from airflow_isolation.operator.environments import environments_path
from airflow_isolation.workspace.environment import load_definition

STOP_GRACE_SECONDS = 5
"""How long a stopped target has for the operator's ``on_kill`` before the engine sends SIGKILL."""
KILLED_DETAIL = "was stopped by on_kill (the task was cancelled or timed out) and its container removed"


NO_RUNTIME = (
    f"could not start: the image has no airflow-isolation runtime at {IMAGE_PYTHON}. Build "
    "environment images with `isolationctl env build NAME --target image`, or install "
    f"airflow-isolation-runtime into a venv at {IMAGE_VENV}"
)


def describe_exit(
    state: Dict[str, Any], exit_code: int, options: DockerOptions, tail: Sequence[str] = ()
) -> Optional[str]:
    """What Docker knows about how the container ended, beyond the exit code."""
    if exit_code == 127 and any(IMAGE_PYTHON in line for line in tail):
        return NO_RUNTIME  # the container's init could not exec the runtime
    if state.get("OOMKilled"):
        if options.mem_limit is None:
            return (
                "was killed by the out-of-memory killer (no mem_limit set: the worker itself ran out "
                "of memory): set mem_limit in backend_options and run it where that much is free"
            )
        return (
            f"was killed by the out-of-memory killer (memory limit {options.mem_limit_text}): raise "
            "mem_limit in backend_options"
        )
    if exit_code == EXIT_KILLED:
        return (
            "was killed with SIGKILL (signal 9, exit code 137), not by the container's out-of-memory "
            "killer: something killed its process or stopped its container (`docker kill`/`stop`/`rm`, "
            "a `kill -9` inside or outside the container, the engine restarting)"
        )
    if state.get("Error"):
        return f"exited with code {exit_code} ({state['Error']})"
    return None


def _preload(environment: str) -> List[str]:
    """The environment definition's ``preload`` list; none for a task run by ``image`` alone."""
    try:
        return list(load_definition(environments_path(), environment).preload)
    except Exception:
        return []


@dataclasses.dataclass
class _RunState:
    """What ``run``'s cleanup needs, whichever path the run took."""

    where: str
    container: Optional[Container] = None
    claims: Optional[Path] = None
    """The claim folder, when ``container`` is a claimed standby container."""
    replenisher: Optional[standby.Replenisher] = None
    """Starting the standby container for the next task, which the run waits for before it ends."""
    ended: bool = False
    channel_folder: Optional[Path] = None
    """The container's folder of the channel back (``docker.channel_mount``), removed at the end."""


@dataclasses.dataclass(frozen=True)
class _Run:
    client: docker.DockerClient
    ref: str
    image: Image
    options: DockerOptions
    request: bytes
    tail: LogTail
    log: LogSink


class DockerBackend(IsolationBackend):
    """One instance runs one task.

    ``kill`` may run in a signal handler (Airflow's SIGTERM handler calls ``on_kill``) on the very
    thread that is inside ``run``. So it takes no lock and uses its own client, sharing no
    connection pool (and none of its locks) with the stream ``run`` is reading. ``run`` and ``kill``
    each write their own attribute before reading the other's, so one of them always sees the other.
    """

    name = "docker"

    def __init__(self) -> None:
        self._container_id: Optional[str] = None
        self._killer: Optional[docker.DockerClient] = None
        self._killed = False

    def run(self, request: bytes, job: BackendJob, log: LogSink) -> TargetExit:
        options: DockerOptions = job.options if job.options is not None else DockerOptions()
        client = connect(options.docker_url)
        killer = self._killer = client_for(options.docker_url, client.api.api_version)
        tail = LogTail(log)
        state = _RunState(where=f"docker, environment {job.environment!r}")
        try:
            sweep_orphans(client, identity=job.identity, report=log)
            if options.privileged:
                log(f"WARNING: {PRIVILEGED_WARNING}")
            ref, image = ensure_image(client, job.environment, options, log)
            run = _Run(
                client=client, ref=ref, image=image, options=options, request=request, tail=tail, log=log
            )
            target_exit = warm_else_cold(
                None if options.warm else TASK_TURNED_OFF,
                lambda: self._run_standby(state, run, job),
                lambda: self._run_cold(state, run, job),
                log,
            )
            if target_exit is not None:
                return target_exit
        except Exception as exc:
            if self._killed:
                pass  # whatever broke, it broke because the container was removed: report the kill
            elif isinstance(exc, ENGINE_ERRORS):
                raise DockerBackendError(
                    f"the Docker engine failed while running the task ({state.where}): {exc}"
                ) from exc
            else:
                raise
        finally:
            self._container_id = None
            self._clean_up(state, log)
            if state.replenisher is not None:
                state.replenisher.join()
            client.close()
            killer.close()
        return TargetExit(None, EXIT_KILLED, list(tail.lines), state.where, KILLED_DETAIL)

    def _run_cold(self, state: _RunState, run: _Run, job: BackendJob) -> Optional[TargetExit]:
        """Create, fill and start a container of its own (the cold start)."""
        channel = job.channel if channel_mount.engine_is_local(run.options.docker_url) else None
        folder = channel_mount.folder_or_none(container_name(job), run.log) if channel else None
        state.channel_folder = folder
        container = state.container = self._create(
            run.client, run.ref, run.image, job, run.options, request=run.request, channel_folder=folder
        )
        if channel is not None and folder is not None:
            channel.listen(channel_mount.socket_in(folder))
        state.where = f"docker container {container.name} of {run.ref}"
        uid, gid = container_owner(container, run.options.user or image_user(run.image))
        mounted = io_volume(run.options)
        put_request(container, IMAGE_REQUEST_FILE, run.request, uid, gid, folder_mounted=mounted)
        self._start(container, run.ref)
        run.log(f"Started container {container.name} of {run.ref}")
        for line in split_lines(container.logs(stream=True, follow=True, stdout=True, stderr=True)):
            run.tail(line)
        state.ended = True
        return None if self._killed else self._cold_exit(container, run.tail, state.where, run.options)

    def _clean_up(self, state: _RunState, log: LogSink) -> None:
        container = state.container
        channel_mount.remove(state.channel_folder)
        if container is None:
            return
        if not state.ended:  # execution_timeout, or a failure of ours: the task gets its SIGTERM
            self._stop(container)
        self._remove(container, log)
        if state.claims is not None:
            self._removed(container)
            standby.release(state.claims, container.id)

    # --- standby containers (docker.standby): a started, preloaded container instead of a new one

    @staticmethod
    def _claim_standby(state: _RunState, run: _Run, job: BackendJob) -> str:
        """A claimed standby container's id (``ColdStart`` when there is none), with the replacement
        for the next task being started in ``state``."""
        try:
            key = standby.standby_key(run.ref, run.image, run.options)
            claimed = standby.claim(run.client, key, job.identity)
        except Exception as exc:
            raise ColdStart(f"the container pool is unavailable ({exc})") from exc
        request = standby.StandbyRequest(
            docker_url=run.options.docker_url, api_version=run.client.api.api_version, ref=run.ref,
            image=run.image, environment=job.environment, options=run.options, key=key,
            preload=lambda: _preload(job.environment),
        )  # fmt: skip
        state.replenisher = standby.Replenisher(request, run.log)
        if claimed is None:
            raise ColdStart(
                "no pooled container of this image and these container options is waiting on this worker "
                "(one is being started for the next task)"
            )
        return claimed

    def _run_standby(self, state: _RunState, run: _Run, job: BackendJob) -> Optional[TargetExit]:
        """Hand the task to a claimed standby container; if it does not take it, remove the
        container and raise ``ColdStart``."""
        claimed = self._container_id = self._claim_standby(state, run, job)
        state.claims = standby.claim_folder()
        try:
            container = state.container = run.client.containers.get(claimed)
            if self._killed:
                raise DockerBackendError("the task was stopped (on_kill) before its container started")
            owner = container_owner(container, run.options.user or image_user(run.image))
            folder = state.channel_folder = channel_mount.mounted_folder(container.name)
            if job.channel is not None and folder is not None:
                job.channel.listen(channel_mount.socket_in(folder))
            run.log(
                f"{STARTED_WARM}pooled container {container.name} of {run.ref} (started ahead, preloaded)"
            )
            mounted = io_volume(run.options)
            handing = handed_over(run.client, container, run.request, owner, run.tail, folder_mounted=mounted)
            with handing as end:
                state.ended = True
                state.where = f"docker pooled container {container.name} of {run.ref}"
                if self._killed:
                    return None
                return self._standby_exit(container, end, run.tail, state.where, run.options)
        except (StandbyUnavailable, docker.errors.NotFound) as exc:
            if self._killed or state.ended:  # once it took the task, the task never runs again
                raise
            self._container_id = None
            if state.container is not None:  # nothing ran in it: removed without a stop
                self._remove(state.container, run.log)
            standby.release(state.claims, claimed)
            state.container = state.claims = None
            raise ColdStart(f"pooled container {claimed[:12]} refused ({exc})") from exc

    @staticmethod
    def _removed(container: Container) -> None:
        """Until a standby container is gone: the engine may be removing it itself (``AutoRemove``),
        and then ``remove`` returns before the removal is done."""
        with contextlib.suppress(Exception):  # gone already
            container.wait(condition="removed", timeout=60)

    @staticmethod
    def _standby_exit(
        container: Container, end: StandbyExit, tail: LogTail, where: str, options: DockerOptions
    ) -> TargetExit:
        result = read_file(container, IMAGE_RESULT_FILE)
        exit_code = EXIT_KILLED if end.returncode is None else end.returncode
        state = {"OOMKilled": end.oom_killed}
        detail = None if result is not None else describe_exit(state, exit_code, options, tail.lines)
        return TargetExit(result, exit_code, list(tail.lines), where, detail)

    @staticmethod
    def _cold_exit(container: Container, tail: LogTail, where: str, options: DockerOptions) -> TargetExit:
        exit_code = int(container.wait().get("StatusCode", -1))
        container.reload()
        result = read_file(container, IMAGE_RESULT_FILE)
        state = container.attrs.get("State") or {}
        detail = None if result is not None else describe_exit(state, exit_code, options, tail.lines)
        return TargetExit(result, exit_code, list(tail.lines), where, detail)

    def _create(
        self,
        client: docker.DockerClient,
        ref: str,
        image: Image,
        job: BackendJob,
        options: DockerOptions,
        *,
        request: bytes,
        channel_folder: Optional[Path] = None,
    ) -> Container:
        config = channel_mount.with_channel(
            container_config(ref, image, job, options, request), channel_folder
        )
        try:
            container = client.containers.create(**config)
        except docker.errors.APIError as exc:
            raise DockerBackendError(
                f"the Docker engine refused to create a container of {ref}: {exc.explanation or exc}. "
                "Check backend_options (mounts, network_mode, user, limits)"
            ) from exc
        self._container_id = container.id
        if self._killed:
            raise DockerBackendError("the task was stopped (on_kill) before its container started")
        return container

    @staticmethod
    def _start(container: Container, ref: str) -> None:
        try:
            container.start()
        except docker.errors.APIError as exc:
            text = str(exc.explanation or exc)
            hint = (
                NO_RUNTIME if IMAGE_PYTHON in text else "check backend_options (mounts, network_mode, user)"
            )
            raise DockerBackendError(f"the container of {ref} did not start: {text}. {hint}") from exc

    @staticmethod
    def _stop(container: Container) -> None:
        with contextlib.suppress(Exception):  # gone already; the removal reports what matters
            container.stop(timeout=STOP_GRACE_SECONDS)

    @staticmethod
    def _remove(container: Container, log: LogSink) -> None:
        try:
            container.remove(force=True, v=True)  # with its anonymous /isolation volume (read_only)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code == 409:  # removal already in progress (on_kill got there first)
                return
            log(
                f"WARNING: could not remove container {container.name} ({exc.explanation or exc}); "
                "the next run's sweep (airflow_isolation.operator.sweep_orphans) will remove it"
            )
        except Exception as exc:  # never hide the run's own outcome or error
            log(f"WARNING: could not remove container {container.name}: {exc}")

    def kill(self) -> None:
        self._killed = True
        container_id, killer = self._container_id, self._killer
        if container_id is None or killer is None:
            return
        with contextlib.suppress(Exception):  # SIGTERM first, so the target runs the operator's on_kill
            killer.api.stop(container_id, timeout=STOP_GRACE_SECONDS)
        with contextlib.suppress(Exception):  # already gone, or run() is removing it
            killer.api.remove_container(container_id, force=True, v=True)
