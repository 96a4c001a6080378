"""The target's end of the channel back: Airflow 3's ``SUPERVISOR_COMMS`` stand-in sends reads to
the host and rebuilds its answers as the target SDK's own replies; writes never leave the task."""

from __future__ import annotations

import socket
import threading
from typing import List

import pytest

from airflow_isolation.core import channel
from airflow_isolation.runtime.facets.host_channel import ChannelComms, ChannelRefused, HostAsker
from airflow_isolation.runtime.facets.xcom import XComNotShippedError, XComRecorder
from airflow_isolation.runtime.task.outcome import WRITE_BACK_HINT


def _host(sock: socket.socket, answers: List[channel.ChannelAnswer], asks: List[channel.ChannelAsk]) -> None:
    for reply in answers:
        ask = channel.receive_ask(sock)
        assert ask is not None
        asks.append(ask)
        channel.send(sock, reply)


def _comms(
    answers: List[channel.ChannelAnswer],
) -> tuple[ChannelComms, List[channel.ChannelAsk], threading.Thread]:
    from airflow.sdk.execution_time import comms

    host, target = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    asks: List[channel.ChannelAsk] = []
    thread = threading.Thread(target=_host, args=(host, answers, asks), daemon=True)
    thread.start()
    return ChannelComms(HostAsker(target), comms), asks, thread


def test_a_read_goes_to_the_host_and_comes_back_as_the_sdks_reply() -> None:
    from airflow.sdk.execution_time.comms import GetTICount, TICount

    comms, asks, thread = _comms([channel.ChannelAnswer("TICount", {"count": 4})])
    reply = comms.send(GetTICount(dag_id="up", task_ids=["t"], states=["success"]))
    thread.join(10)
    assert isinstance(reply, TICount) and reply.count == 4
    assert asks == [channel.ChannelAsk("GetTICount", {
        "dag_id": "up", "map_index": None, "task_ids": ["t"], "task_group_id": None,
        "logical_dates": None, "run_ids": None, "states": ["success"],
    })]  # fmt: skip


def test_the_hosts_refusal_is_raised_in_the_task() -> None:
    from airflow.sdk.execution_time.comms import GetVariable

    comms, _, thread = _comms([channel.ChannelAnswer(refused="the answer is too large")])
    with pytest.raises(ChannelRefused, match="too large"):
        comms.send(GetVariable(key="big"))
    thread.join(10)


def test_a_write_never_leaves_the_task() -> None:
    from airflow.sdk.execution_time.comms import PutVariable

    comms, asks, _ = _comms([])
    with pytest.raises(ChannelRefused) as refused:
        comms.send(PutVariable(key="k", value="v", description=None))
    assert "PutVariable" in str(refused.value) and WRITE_BACK_HINT in str(refused.value)
    assert asks == []


def test_xcom_pull_asks_the_host_only_for_what_the_request_did_not_carry() -> None:
    from runtime_test_support import task_context

    ctx = task_context()
    recorder = XComRecorder()
    with pytest.raises(XComNotShippedError):
        recorder.pull(ctx, "elsewhere", None, "return_value", None)
    asked: List[tuple] = []
    recorder.fallback = lambda *where: asked.append(where) or {"from": "host"}
    assert recorder.pull(ctx, "up", None, "return_value", None) == {"v": 7}  # shipped upstream
    assert recorder.pull(ctx, "elsewhere", None, "custom", None) == {"from": "host"}
    assert recorder.pull(ctx, "t2", "other_dag", "k", None, run_id="r9") == {"from": "host"}
    assert asked == [("d", "r", "elsewhere", "custom"), ("other_dag", "r9", "t2", "k")]


def test_without_a_channel_a_host_read_names_the_fix() -> None:
    from runtime_test_support import task_context

    from airflow_isolation.runtime.task.task_instance import IsolatedTaskInstance

    ti = IsolatedTaskInstance(task_context(), XComRecorder())
    with pytest.raises(
        AttributeError, match=r"get_ti_count asks the Airflow running the task.*run the operator natively"
    ):
        ti.get_ti_count(dag_id="up")
    with pytest.raises(AttributeError, match="has no attribute 'nothing_like_it'"):
        ti.nothing_like_it  # noqa: B018


def test_an_airflow_2_target_pulls_an_xcom_the_host_deserialised() -> None:
    """Values keep their types across (the wire's JSON extensions); one map index is one value."""
    import datetime as dt

    import msgspec

    from airflow_isolation.core.values import Lowerer, json_enc_hook

    def carried(values: object) -> object:
        return msgspec.json.decode(msgspec.json.encode(Lowerer("json").lower(values), enc_hook=json_enc_hook))

    when = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)
    answers = [
        channel.ChannelAnswer(channel.PULLED_XCOM, {"values": carried([{"at": when, "pair": (1, 2)}])}),
        channel.ChannelAnswer(channel.PULLED_XCOM, {"values": carried([1, 2])}),
        channel.ChannelAnswer(channel.PULLED_XCOM, {"values": None}),
    ]
    host, target = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    asks: List[channel.ChannelAsk] = []
    thread = threading.Thread(target=_host, args=(host, answers, asks), daemon=True)
    thread.start()
    asker = HostAsker(target)
    assert asker.pull_xcom("d", "r", "t", "k") == {"at": when, "pair": (1, 2)}
    assert asker.pull_xcom("d", "r", "mapped", "return_value") == [1, 2]
    assert asker.pull_xcom("d", "r", "none", "k") is None
    thread.join(10)
    assert asks[0] == channel.ChannelAsk(
        channel.PULL_XCOM, {"dag_id": "d", "run_id": "r", "task_id": "t", "key": "k"}
    )
