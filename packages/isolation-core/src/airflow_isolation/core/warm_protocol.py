"""What the venv backend and a warm runtime say to each other over the warm runtime's Unix socket.

A warm runtime is a long-lived interpreter of one environment build that has imported the runtime
(and Airflow) once and forks one child per task. It never sees a request, a secret or a context:
the host sends only where the request and result files are, the request's digest, the child's
environment (the cold target's: no ``AIRFLOW_*``, the run marker), its working folder and its
limits, with its output pipe and a lifeline as file descriptors (``SCM_RIGHTS``). The child opens
the request itself, exactly as a cold runtime does.

One connection carries one task: ``WarmStart`` (host) → ``WarmReply(kind="started", pid)`` →
``WarmReply(kind="exited", returncode)`` once the child has exited but before it is reaped, so its
PID, which is also its process group's, stays the child's while the host stops what it left →
``WarmRelease`` (host), after which the warm runtime reaps it. Frames are a 4-byte big-endian
length and a msgpack body.
"""

from __future__ import annotations

import socket
import struct
from typing import Dict, List, Literal, Optional, Sequence, Tuple, Union

import msgspec

MAX_FRAME = 1 << 20
MAX_FDS = 4
_LENGTH = struct.Struct(">I")


class WarmStart(msgspec.Struct, tag="start", forbid_unknown_fields=True):
    """Run one task. The file descriptors that come with it: the child's stdout/stderr, then the
    read end of the lifeline (EOF there means the worker is gone)."""

    request: str
    result: str
    digest: str
    env: Dict[str, str]
    cwd: str
    memory_limit: Optional[int] = None
    """``RLIMIT_AS`` in bytes, applied in the child (never above the hard limit it inherited)."""
    claim: str = ""
    """A file the child creates exclusively before it reads the request: whoever creates it owns
    the run, so a host unsure whether a child started can rule it out and start cold instead. A
    runtime that keeps the child's tree (:data:`KEEPS_TREE`) writes the child's exit code into it
    once the result is written and every process below the child is stopped, then closes its
    output and exits: a host that finds the code there at the end of the output knows the task
    has ended without waiting for the kernel to tear the child's address space down."""


class WarmRelease(msgspec.Struct, tag="release", forbid_unknown_fields=True):
    """The host has stopped what the child left: reap it."""


KEEPS_TREE = "keeps-tree"
"""Said in a ``started`` reply's ``reason``: the child is a child subreaper that stops every process
below it before it exits, and the warm runtime kills what a child killed outright leaves, so the
host need not search the machine for the run's processes once the child has exited."""


class WarmReply(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["started", "exited", "refused"]
    pid: int = 0
    returncode: int = 0
    """As ``subprocess`` reports it: the exit code, or minus the signal that ended the child."""
    reason: str = ""
    """``refused``: why. ``started``: what the runtime guarantees beyond this protocol's first
    version, as space-separated words (:data:`KEEPS_TREE`); a field of its own would break hosts
    that predate it, which refuse unknown fields, while they ignore this one in a ``started``."""

    def says(self, word: str) -> bool:
        return word in self.reason.split()


HostMessage = Union[WarmStart, WarmRelease]
_host_decoder = msgspec.msgpack.Decoder(HostMessage)
_reply_decoder = msgspec.msgpack.Decoder(WarmReply)
_encoder = msgspec.msgpack.Encoder()


class WarmProtocolError(Exception):
    """A frame that is too big, truncated or not one of the messages above."""


def send(sock: socket.socket, message: Union[HostMessage, WarmReply], fds: Sequence[int] = ()) -> None:
    body = _encoder.encode(message)
    frame = _LENGTH.pack(len(body)) + body
    if fds:
        sent = socket.send_fds(sock, [frame], list(fds))
        frame = frame[sent:]
    if frame:
        sock.sendall(frame)


def _receive(sock: socket.socket, with_fds: bool) -> Tuple[Optional[bytes], List[int]]:
    """One frame's body and the descriptors that came with it; ``None`` at a clean end of stream."""
    fds: List[int] = []
    if with_fds:
        head, fds, _, _ = socket.recv_fds(sock, _LENGTH.size, MAX_FDS)
    else:
        head = sock.recv(_LENGTH.size)
    if not head:
        return None, fds
    head += _exactly(sock, _LENGTH.size - len(head))
    (length,) = _LENGTH.unpack(head)
    if length > MAX_FRAME:
        raise WarmProtocolError(f"a frame of {length} bytes is over the {MAX_FRAME} byte limit")
    return _exactly(sock, length), fds


def _exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise WarmProtocolError("the connection closed in the middle of a frame")
        data += chunk
    return data


def receive_host_message(sock: socket.socket) -> Tuple[Optional[HostMessage], List[int]]:
    body, fds = _receive(sock, with_fds=True)
    if body is None:
        return None, fds
    try:
        return _host_decoder.decode(body), fds
    except msgspec.DecodeError as exc:
        raise WarmProtocolError(f"not a warm runtime message: {exc}") from exc


def receive_reply(sock: socket.socket) -> Optional[WarmReply]:
    body, _ = _receive(sock, with_fds=False)
    if body is None:
        return None
    try:
        return _reply_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise WarmProtocolError(f"not a warm runtime reply: {exc}") from exc
