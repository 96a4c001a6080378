"""Running the target in a container of the environment's image.

One run: sweep orphans, find (or pull) the image, create a labelled container, copy the request in,
start it, stream its output into the task log, wait, inspect how it ended, copy the result out and
remove the container. The container is removed in a ``finally``, so success, failure, errors and
Airflow's ``execution_timeout`` (raised inside ``execute``) all clean up; ``kill`` (``on_kill``)
removes it from another thread or a signal handler while ``run`` waits on its output.
"""

from __future__ import annotations

import codecs
import contextlib
from typing import Any, Dict, Iterable, Iterator, Optional, Sequence

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
    RunOutcome,
)
from airflow_isolation.operator.backends.docker.archive import put_request, read_file
from airflow_isolation.operator.backends.docker.client import (
    ENGINE_ERRORS,
    DockerBackendError,
    client_for,
    connect,
)
from airflow_isolation.operator.backends.docker.container import container_config, image_user
from airflow_isolation.operator.backends.docker.image import ensure_image
from airflow_isolation.operator.backends.docker.options import DockerOptions
from airflow_isolation.operator.backends.docker.sweep import sweep_orphans
from airflow_isolation.operator.backends.docker.user import container_owner

STOP_GRACE_SECONDS = 5
"""How long a stopped target has for the operator's ``on_kill`` before the engine sends SIGKILL."""
KILLED_DETAIL = "was stopped by on_kill (the task was cancelled or timed out) and its container removed"


def split_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Lines from a stream of byte chunks that may cut lines (and UTF-8 sequences) anywhere."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        *lines, pending = pending.split("\n")
        for line in lines:
            yield line.rstrip("\r")
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending.rstrip("\r")


NO_RUNTIME = (
    f"could not start: the image has no airflow-isolation runtime at {IMAGE_PYTHON}. Build "
    "environment images with `isolationctl env build NAME --target image`, or install "
    f"airflow-isolation-runtime into a venv at {IMAGE_VENV}"
)


def describe_end(
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

    def run(self, request: bytes, job: BackendJob, log: LogSink) -> RunOutcome:
        options: DockerOptions = job.options if job.options is not None else DockerOptions()
        client = connect(options.docker_url)
        killer = self._killer = client_for(options.docker_url, client.api.api_version)
        tail = LogTail(log)
        where = f"docker, environment {job.environment!r}"
        container: Optional[Container] = None
        ended = False
        try:
            sweep_orphans(client, identity=job.identity, report=log)
            ref, image = ensure_image(client, job.environment, options, log)
            container = self._create(client, ref, image, job, options, request=request)
            where = f"docker container {container.name} of {ref}"
            uid, gid = container_owner(container, options.user or image_user(image))
            put_request(container, IMAGE_REQUEST_FILE, request, uid, gid)
            self._start(container, ref)
            log(f"Started container {container.name} of {ref}")
            for line in split_lines(container.logs(stream=True, follow=True, stdout=True, stderr=True)):
                tail(line)
            ended = True
            if not self._killed:
                return self._outcome(container, tail, where, options)
        except Exception as exc:
            if self._killed:
                pass  # whatever broke, it broke because the container was removed: report the kill
            elif isinstance(exc, ENGINE_ERRORS):
                raise DockerBackendError(
                    f"the Docker engine failed while running the task ({where}): {exc}"
                ) from exc
            else:
                raise
        finally:
            self._container_id = None
            if container is not None:
                if not ended:  # execution_timeout, or a failure of ours: the task gets its SIGTERM
                    self._stop(container)
                self._remove(container, log)
            client.close()
            killer.close()
        return RunOutcome(None, EXIT_KILLED, list(tail.lines), where, KILLED_DETAIL)

    @staticmethod
    def _outcome(container: Container, tail: LogTail, where: str, options: DockerOptions) -> RunOutcome:
        exit_code = int(container.wait().get("StatusCode", -1))
        container.reload()
        result = read_file(container, IMAGE_RESULT_FILE)
        state = container.attrs.get("State") or {}
        detail = None if result is not None else describe_end(state, exit_code, options, tail.lines)
        return RunOutcome(result, exit_code, list(tail.lines), where, detail)

    def _create(
        self,
        client: docker.DockerClient,
        ref: str,
        image: Image,
        job: BackendJob,
        options: DockerOptions,
        *,
        request: bytes,
    ) -> Container:
        try:
            container = client.containers.create(**container_config(ref, image, job, options, request))
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
            container.remove(force=True)
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
            killer.api.remove_container(container_id, force=True)
