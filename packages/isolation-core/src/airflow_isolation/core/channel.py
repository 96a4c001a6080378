"""The channel back to the host: what a task asks its Airflow at run time, answered by the host.

A native Airflow 3 task asks its supervisor (and through it the API server) for what it reads at
run time: the states and counts of task instances and dag runs (``ExternalTaskSensor``), XComs of
any task and key, variables and connections. An isolated task has no supervisor; the host opens
a channel for that task alone (a connected Unix socket handed to the target as a descriptor,
``launch.CHANNEL_FD_ENV``, never a network port) and answers each ask with its own Airflow, with
the task's own identity, as the task's supervisor would.

An ask is one of the Airflow task SDK's own messages to its supervisor, by its type name and its
JSON fields; an answer is the supervisor's reply the same way. Only reads cross (``READS``):
writes stay what ``write_back`` buffers, and the host refuses any other kind. Each frame is a
4-byte length and a JSON body of at most ``MAX_FRAME_BYTES``: a target that sends more, or a frame
that does not decode, loses the channel (its own task fails; the worker is never at risk).
"""

from __future__ import annotations

import socket
import struct
from typing import Any, Dict, Optional, Union

import msgspec

from airflow_isolation.core.errors import IsolationError

MAX_FRAME_BYTES = 16 * 1024 * 1024
"""The largest ask or answer: an XCom or a variable above it is refused, not truncated."""

READS = frozenset(
    {
        "GetTICount",
        "GetTaskStates",
        "GetDRCount",
        "GetDagRun",
        "GetDagRunState",
        "GetPreviousDagRun",
        "GetPreviousTI",
        "GetPrevSuccessfulDagRun",
        "GetTaskBreadcrumbs",
        "GetTaskRescheduleStartDate",
        "GetDag",
        "GetXCom",
        "GetXComCount",
        "GetXComSequenceItem",
        "GetXComSequenceSlice",
        "GetVariable",
        "GetConnection",
        "GetAssetByName",
        "GetAssetByUri",
        "GetAssetsByAlias",
        "GetAssetEventByAsset",
        "GetAssetEventByAssetAlias",
        "MaskSecret",
        "PullXCom",
    }
)
"""What the host answers: the task SDK's reads, ``MaskSecret`` (a secret the task found, which the
host's log masker then hides too) and ``PULL_XCOM``."""

PULL_XCOM = "PullXCom"
"""An XCom pull by a target without the Airflow 3 task SDK (an Airflow 2 environment): fields
``dag_id``, ``run_id``, ``task_id``, ``key``; answered ``PULLED_XCOM`` with ``values``, every value
of that task's map indexes as the host's Airflow deserialised them (``None`` for none), carried
with ``values``' JSON extensions (tuples, datetimes...), which the target raises back."""
PULLED_XCOM = "PulledXCom"

_LENGTH = struct.Struct(">I")


class ChannelError(IsolationError):
    """The channel broke or was misused: a frame too large, cut short or not an ask or answer."""


class ChannelAsk(msgspec.Struct, forbid_unknown_fields=True):
    kind: str
    """The SDK message's ``type`` (``GetTICount``)."""
    fields: Dict[str, Any] = {}
    """Its fields as JSON (pydantic's ``model_dump(mode="json")``), without ``type``."""


class ChannelAnswer(msgspec.Struct, forbid_unknown_fields=True):
    kind: str = ""
    """The reply's ``type`` (``TICount``, ``ErrorResponse``...); empty for a reply of nothing."""
    fields: Dict[str, Any] = {}
    refused: str = ""
    """Why the host did not ask its Airflow (a write, an unknown kind, an answer too large); the
    target raises it in the task."""


Frame = Union[ChannelAsk, ChannelAnswer]


def encode(frame: Frame, bounded: bool = True) -> bytes:
    """The frame as it travels: its length, then its body; ``ChannelError`` when it is too large
    (``bounded=False`` only for a frame whose size its maker bounds, such as a refusal's)."""
    body = msgspec.json.encode(frame)
    if bounded and len(body) > MAX_FRAME_BYTES:
        raise ChannelError(
            f"a {type(frame).__name__} of {len(body)} bytes is over the channel's {MAX_FRAME_BYTES}"
        )
    return _LENGTH.pack(len(body)) + body


def send(sock: socket.socket, frame: Frame) -> None:
    sock.sendall(encode(frame))


def _read_exactly(sock: socket.socket, size: int) -> Optional[bytes]:
    chunks = []
    left = size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            if left == size:
                return None
            raise ChannelError(f"the channel closed in the middle of a frame ({size - left} of {size} bytes)")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive(sock: socket.socket, kind: type) -> Optional[Any]:
    head = _read_exactly(sock, _LENGTH.size)
    if head is None:
        return None
    (size,) = _LENGTH.unpack(head)
    if size > MAX_FRAME_BYTES:
        raise ChannelError(f"a frame of {size} bytes is over the channel's {MAX_FRAME_BYTES}")
    body = _read_exactly(sock, size) if size else b""
    if body is None:
        raise ChannelError("the channel closed after a frame's length")
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.MsgspecError as exc:
        raise ChannelError(f"a frame that is no {kind.__name__}: {exc}") from None


def receive_ask(sock: socket.socket) -> Optional[ChannelAsk]:
    """The next ask; ``None`` when the target closed its end."""
    ask: Optional[ChannelAsk] = _receive(sock, ChannelAsk)
    return ask


def receive_answer(sock: socket.socket) -> ChannelAnswer:
    answer: Optional[ChannelAnswer] = _receive(sock, ChannelAnswer)
    if answer is None:
        raise ChannelError("the host closed the channel")
    return answer
