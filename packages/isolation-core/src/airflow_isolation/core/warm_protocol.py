"""What the venv backend and a warm runtime say to each other over the warm runtime's Unix socket.

A warm runtime is a long-lived interpreter of one environment build that has imported the runtime
(and Airflow) once and forks one child per task. It never sees a request, a secret or a context:
the host sends only the request's digest, the child's environment, its working folder and its
limits, with the task's descriptors (``SCM_RIGHTS``, :data:`START_DESCRIPTORS`): its output pipe,
a lifeline, and the request, result and claim files, opened by the host. The warm runtime passes
them on unread, and the child reads its request from its own descriptor: no path names a task's
request anywhere a task can look, so tasks sharing one warm runtime (and its sandbox, see
``workspace.sandbox``) cannot open each other's.

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
MAX_FDS = 8
_LENGTH = struct.Struct(">I")


START_DESCRIPTORS = ("output", "lifeline", "request", "result", "claim")
"""The descriptors that come with a ``WarmStart``, in this order: the child's stdout/stderr (write
end of a pipe), the read end of the lifeline (EOF there means the worker is gone), the request
file (read), the result file (write, empty) and the claim file (read and write, empty)."""

CHANNEL_DESCRIPTOR = "channel"
"""The descriptor after :data:`START_DESCRIPTORS` when ``WarmStart.channel`` says one comes: the
task's end of its channel back to the host (``core.channel``)."""


def descriptors_of(start: WarmStart) -> int:
    """How many descriptors come with ``start``."""
    return len(START_DESCRIPTORS) + (1 if start.channel else 0)


CLAIM_TAKEN_COLD = b"cold"
"""What a host writes into the claim file once it holds the claim's lock and starts the task cold."""


class WarmStart(msgspec.Struct, tag="start", forbid_unknown_fields=True):
    """Run one task, whose files come as descriptors (:data:`START_DESCRIPTORS`).

    The claim: whoever first holds an exclusive ``flock`` on the claim file while it is still empty
    owns the run. The child takes it before it reads the request and holds it until it exits; a
    host unsure whether a child started takes it and writes :data:`CLAIM_TAKEN_COLD`, so a child
    that comes later finds it taken and exits, and the task is never run twice. A runtime that
    keeps the child's tree (:data:`KEEPS_TREE`) writes the child's exit code into the claim file
    once the result is written and every process below the child is stopped, then closes its
    output and exits: a host that finds the code there at the end of the output knows the task has
    ended without waiting for the kernel to tear the child's address space down.
    """

    digest: str
    env: Dict[str, str]
    cwd: str = ""
    """The child's working folder; ``""``: a private one the child makes in its temp folder and
    removes when the task ends (a sandboxed warm runtime sees no folder of the host)."""
    memory_limit: Optional[int] = None
    """``RLIMIT_AS`` in bytes, applied in the child (never above the hard limit it inherited)."""
    channel: bool = False
    """A :data:`CHANNEL_DESCRIPTOR` follows the others (a runtime older than this field refuses
    the start, and the task starts cold)."""


class WarmRelease(msgspec.Struct, tag="release", forbid_unknown_fields=True):
    """The host has stopped what the child left: reap it."""


KEEPS_TREE = "keeps-tree"
PID_NAMESPACE_WORD = "pid-namespace="
"""``started``: followed by the runtime's PID namespace (``pid:[4026532301]``, the link
``/proc/self/ns/pid``, the same seen from the worker). A sandboxed runtime's ``pid`` is a number of
that namespace, so the worker looks up the child's own PID there (``procfs.inner_pid``) before it
ever signals it: a PID of another namespace names an unrelated process of the worker's."""
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

    @property
    def pid_namespace(self) -> str:
        """The runtime's ``PID_NAMESPACE_WORD``, ``""`` from runtimes that predate it."""
        for word in self.reason.split():
            if word.startswith(PID_NAMESPACE_WORD):
                return word[len(PID_NAMESPACE_WORD) :]
        return ""


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
