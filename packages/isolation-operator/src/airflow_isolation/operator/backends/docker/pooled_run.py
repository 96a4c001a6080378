"""Handing a task to a claimed pooled container and following it to its end.

The request is copied in exactly as into a cold container (0600, the task user's), then the host
attaches to the container's stdin, stdout and stderr and writes one ``PoolStart`` line with the
request's digest (``airflow_isolation.core.pool_protocol``). The task's output streams from
stdout; the pooled runtime's reports come on stderr. Until the runtime has said ``started`` the
task has not run, so anything failing before that raises ``PoolUnavailable`` and the task starts
cold instead; after it, the run ends as a cold one does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
from typing import Any, Callable, Optional, Tuple

import docker
import docker.errors
from docker.models.containers import Container
from docker.utils.socket import frames_iter

from airflow_isolation.core.integrity import request_digest
from airflow_isolation.core.launch import IMAGE_REQUEST_FILE
from airflow_isolation.core.pool_protocol import PoolReport, PoolStart, parse_report, start_line
from airflow_isolation.operator.backends.docker.archive import put_request
from airflow_isolation.operator.backends.docker.client import ENGINE_ERRORS
from airflow_isolation.operator.backends.docker.log_lines import LineSplitter

_STDERR = 2
_ATTACH = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}


class PoolUnavailable(Exception):
    """The claimed container did not take the task (gone, exited idle, refused): start it cold."""


@dataclasses.dataclass(frozen=True)
class PooledEnd:
    """How the task's process ended, as the pooled runtime saw it (None: it never said)."""

    returncode: Optional[int]
    oom_killed: bool = False


def _raw(sock: Any) -> Any:
    """The socket under the SDK's attach wrapper (a ``SocketIO`` over a Unix socket)."""
    return getattr(sock, "_sock", sock)


def hand_over(
    client: docker.DockerClient,
    container: Container,
    request: bytes,
    owner: Tuple[int, int],
    tail: Callable[[str], None],
) -> PooledEnd:
    """Copy the request in, start the task, stream its output into ``tail``; return how it ended."""
    try:
        put_request(container, IMAGE_REQUEST_FILE, request, owner[0], owner[1])
        sock = client.api.attach_socket(container.id, params=_ATTACH)
    except (*ENGINE_ERRORS, OSError) as exc:
        raise PoolUnavailable(f"it could not take the request ({exc})") from exc
    nonce = secrets.token_hex(16)
    try:
        raw = _raw(sock)
        raw.settimeout(None)
        try:
            raw.sendall(start_line(PoolStart(digest=request_digest(request), nonce=nonce)))
        except OSError as exc:
            raise PoolUnavailable(f"its stdin is closed ({exc})") from exc
        return _follow(sock, nonce, tail)
    finally:
        with contextlib.suppress(Exception):
            sock.close()
        with contextlib.suppress(Exception):
            _raw(sock).close()


def _follow(sock: Any, nonce: str, tail: Callable[[str], None]) -> PooledEnd:
    output, reports = LineSplitter(), LineSplitter()
    started = False

    def report(line: str) -> Optional[PoolReport]:
        found = parse_report(line, nonce)
        if found is None:
            tail(line)
        return found

    for stream, data in frames_iter(sock, False):
        if stream != _STDERR:
            for line in output.feed(data):
                tail(line)
            continue
        for line in reports.feed(data):
            found = report(line)
            if found is None:
                continue
            if found.kind == "started":
                started = True
            else:
                for rest in output.finish():
                    tail(rest)
                return PooledEnd(found.returncode, found.oom_killed)
    for line in output.finish() + reports.finish():
        report(line)
    if not started:
        raise PoolUnavailable("it ended before taking the task")
    return PooledEnd(None)
