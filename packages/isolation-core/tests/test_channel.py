"""The channel's frames: bounded, and a broken or oversized frame is an error, never a hang."""

from __future__ import annotations

import socket
import struct

import pytest

from airflow_isolation.core import channel


def _pair() -> tuple[socket.socket, socket.socket]:
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)


def test_an_ask_and_its_answer_cross_unchanged() -> None:
    host, target = _pair()
    ask = channel.ChannelAsk("GetTICount", {"dag_id": "d", "states": ["success"], "map_index": None})
    channel.send(target, ask)
    assert channel.receive_ask(host) == ask
    reply = channel.ChannelAnswer("TICount", {"count": 2})
    channel.send(host, reply)
    assert channel.receive_answer(target) == reply


def test_a_closed_end_is_none_for_the_host_and_an_error_for_the_target() -> None:
    host, target = _pair()
    target.close()
    assert channel.receive_ask(host) is None
    host2, target2 = _pair()
    host2.close()
    with pytest.raises(channel.ChannelError, match="closed the channel"):
        channel.receive_answer(target2)


def test_an_oversized_frame_is_refused_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    host, target = _pair()
    target.sendall(struct.pack(">I", channel.MAX_FRAME_BYTES + 1))
    with pytest.raises(channel.ChannelError, match="over the channel's"):
        channel.receive_ask(host)
    monkeypatch.setattr(channel, "MAX_FRAME_BYTES", 64)
    with pytest.raises(channel.ChannelError, match="over the channel's 64"):
        channel.send(target, channel.ChannelAsk("GetVariable", {"key": "k" * 100}))


@pytest.mark.parametrize(
    ("sent", "error"),
    [
        (struct.pack(">I", 10) + b"abc", "closed in the middle of a frame"),
        (struct.pack(">I", 5) + b"nojsn", "no ChannelAsk"),
        (struct.pack(">I", 2) + b"{}", "no ChannelAsk"),
        (b"\x00\x00", "closed in the middle of a frame"),
    ],
)
def test_a_broken_frame_is_an_error(sent: bytes, error: str) -> None:
    host, target = _pair()
    target.sendall(sent)
    target.close()
    with pytest.raises(channel.ChannelError, match=error):
        channel.receive_ask(host)


def test_only_reads_and_masking_are_in_scope() -> None:
    assert "GetTICount" in channel.READS and "GetXCom" in channel.READS
    for write in ("SetXCom", "PutVariable", "DeleteVariable", "TriggerDagRun", "SucceedTask", "DeleteXCom"):
        assert write not in channel.READS
