"""The target's end of the channel back: Airflow 3's ``SUPERVISOR_COMMS`` stand-in sends reads to
the host and rebuilds its answers as the target SDK's own replies; writes never leave the task."""

from __future__ import annotations

import socket
import threading
from typing import List

import pytest

from airflow_isolation.core import channel
from airflow_isolation.runtime.facets.host_channel import ChannelComms, ChannelRefused
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
    return ChannelComms(target, comms), asks, thread


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
