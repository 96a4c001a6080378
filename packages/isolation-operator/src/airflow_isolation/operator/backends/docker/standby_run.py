"""Handing a task to a claimed standby container and following it to its end.

The request is copied in exactly as into a cold container (0600, the task user's), then the host
attaches to the container's stdin, stdout and stderr and writes one ``StandbyStart`` line with the
request's digest (``airflow_isolation.core.standby_protocol``). The task's output streams from
stdout, with the standby runtime's reports among it. Until the runtime has said ``started`` the
task has not run, so anything failing before that raises ``StandbyUnavailable`` and the task starts
cold instead; after it, the run ends as a cold one does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import select
from typing import Any, Callable, Iterator, Optional, Tuple

import docker
import docker.errors
from docker.models.containers import Container
from docker.utils.socket import next_frame_header, read

from airflow_isolation.core.integrity import request_digest
from airflow_isolation.core.launch import IMAGE_REQUEST_FILE
from airflow_isolation.core.standby_protocol import REPORT_PREFIX, StandbyStart, parse_report, start_line
from airflow_isolation.operator.backends.docker.archive import put_request
from airflow_isolation.operator.backends.docker.client import ENGINE_ERRORS
from airflow_isolation.operator.backends.docker.log_lines import LineSplitter

_STDERR = 2
_ATTACH = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
_ALIVE_CHECK_SECONDS = 2.0
"""How often a container that has not yet taken its task is checked for still running: the engine
keeps an attach to a container that stopped (it waits for a start that never comes)."""


class StandbyUnavailable(Exception):
    """The claimed container did not take the task (gone, exited idle, refused): start it cold."""


@dataclasses.dataclass(frozen=True)
class StandbyExit:
    """How the task's process ended, as the standby runtime saw it (None: it never said)."""

    returncode: Optional[int]
    oom_killed: bool = False


def _raw(sock: Any) -> Any:
    """The socket under the SDK's attach wrapper (a ``SocketIO`` over a Unix socket)."""
    return getattr(sock, "_sock", sock)


@contextlib.contextmanager
def handed_over(
    client: docker.DockerClient,
    container: Container,
    request: bytes,
    owner: Tuple[int, int],
    tail: Callable[[str], None],
    *,
    folder_mounted: bool = False,
) -> Iterator[StandbyExit]:
    """Copy the request in, start the task, stream its output into ``tail``; yield how it ended.

    The attach stays open until the ``with`` block is left: its end closes the container's stdin,
    upon which the standby runtime exits and the engine removes the container, so the result must
    be copied out inside the block."""
    try:
        put_request(container, IMAGE_REQUEST_FILE, request, owner[0], owner[1], folder_mounted=folder_mounted)
        sock = client.api.attach_socket(container.id, params=_ATTACH)
    except (*ENGINE_ERRORS, OSError) as exc:
        raise StandbyUnavailable(f"it could not take the request ({exc})") from exc
    nonce = secrets.token_hex(16)
    try:
        raw = _raw(sock)
        raw.settimeout(None)
        try:
            raw.sendall(start_line(StandbyStart(digest=request_digest(request), nonce=nonce)))
        except OSError as exc:
            raise StandbyUnavailable(f"its stdin is closed ({exc})") from exc
        yield _follow(sock, nonce, tail, lambda: _running(container))
    finally:
        with contextlib.suppress(Exception):
            sock.close()
        with contextlib.suppress(Exception):
            _raw(sock).close()


def _running(container: Container) -> bool:
    try:
        container.reload()
    except (*ENGINE_ERRORS, OSError):
        return False
    return bool(container.status == "running")


def _frames(sock: Any, waiting: Callable[[], bool], alive: Callable[[], bool]) -> Iterator[Tuple[int, bytes]]:
    """The attach's multiplexed frames (as the SDK's ``frames_iter`` reads them); while
    ``waiting()``, a frame is waited for no longer than the container keeps running."""
    raw = _raw(sock)
    while True:
        while waiting() and not select.select([raw], [], [], _ALIVE_CHECK_SECONDS)[0]:
            if not alive():
                raise StandbyUnavailable("it ended before taking the task")
        stream, size = next_frame_header(sock)
        if size < 0:
            return
        while size > 0:
            data = read(sock, size)
            if data is None:
                continue
            if not data:
                return
            size -= len(data)
            yield stream, data


def _follow(sock: Any, nonce: str, tail: Callable[[str], None], alive: Callable[[], bool]) -> StandbyExit:
    """Lines of stdout are the task's output and the runtime's reports; stderr is the runtime's
    own log (imports still going on when the task claimed it). Until the runtime says ``started``,
    a container that stopped ends the wait: it never took the task."""
    streams = {1: LineSplitter(), 2: LineSplitter()}
    started = False

    def waiting() -> bool:
        return not started

    for stream, data in _frames(sock, waiting, alive):
        for line in streams.get(stream, streams[1]).feed(data):
            found = None
            at = line.find(REPORT_PREFIX) if stream != _STDERR else -1
            if at >= 0:  # after the task's last output, which may not have ended its line
                found = parse_report(line[at:], nonce)
                if found is not None and at > 0:
                    tail(line[:at])
            if found is None:
                tail(line)
            elif found.kind == "started":
                started = True
            else:
                for rest in streams[_STDERR].finish():
                    tail(rest)
                return StandbyExit(found.returncode, found.oom_killed)
    for splitter in streams.values():
        for line in splitter.finish():
            tail(line)
    if not started:
        raise StandbyUnavailable("it ended before taking the task")
    return StandbyExit(None)
