"""The host's end of the channel back: reads answered through the host's own supervisor connection,
writes and unknown kinds refused, secrets masked, and a target that breaks the protocol losing
its channel without harm to the worker."""

from __future__ import annotations

import json
import os
import socket
import struct
from typing import Any, List

import msgspec
import pytest

from airflow_isolation.core import channel
from airflow_isolation.operator.channel import HostChannel, host_can_answer
from airflow_isolation.operator.channel.server import answer


class FakeSupervisor:
    """The host task runner's ``SUPERVISOR_COMMS``: records what it is sent, answers from a table."""

    def __init__(self) -> None:
        self.sent: List[Any] = []

    def send(self, msg: Any) -> Any:
        from airflow.sdk.execution_time import comms

        self.sent.append(msg)
        if msg.type == "GetTICount":
            return comms.TICount(count=3)
        if msg.type == "GetConnection":
            return comms.ConnectionResult(
                conn_id=msg.conn_id, conn_type="postgres", host="h", schema="s", login="l", port=5432,
                password="s3cr3t-host-pw", extra=None,
            )  # fmt: skip
        if msg.type == "GetVariable":
            return comms.VariableResult(key=msg.key, value="v4lue-of-a-secret")
        return None


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> FakeSupervisor:
    from airflow.sdk.execution_time import task_runner

    fake = FakeSupervisor()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", fake, raising=False)
    return fake


def test_a_read_is_asked_of_the_hosts_supervisor(supervisor: FakeSupervisor) -> None:
    reply = answer(
        channel.ChannelAsk("GetTICount", {"dag_id": "up", "task_ids": ["t"], "states": ["success"]})
    )
    assert reply == channel.ChannelAnswer("TICount", {"count": 3})
    (sent,) = supervisor.sent
    assert (sent.dag_id, sent.task_ids, sent.states) == ("up", ["t"], ["success"])


@pytest.mark.parametrize(
    ("ask", "refusal"),
    [
        (channel.ChannelAsk("SetXCom", {"key": "k"}), "SetXCom is not a read"),
        (channel.ChannelAsk("PutVariable", {"key": "k", "value": "v"}), "PutVariable is not a read"),
        (channel.ChannelAsk("GetTICount", {"no_dag_id": 1}), "fields this host's Airflow refuses"),
    ],
)
def test_writes_and_malformed_asks_are_refused_without_asking(
    supervisor: FakeSupervisor, ask: channel.ChannelAsk, refusal: str
) -> None:
    assert refusal in answer(ask).refused
    assert supervisor.sent == []


def test_what_a_secret_read_returns_is_masked_on_the_host(supervisor: FakeSupervisor) -> None:
    from airflow_isolation.operator import airflow_compat

    reply = answer(channel.ChannelAsk("GetConnection", {"conn_id": "db"}))
    assert reply.kind == "ConnectionResult" and reply.fields["password"] == "s3cr3t-host-pw"
    assert "s3cr3t-host-pw" not in str(airflow_compat.redact("pw s3cr3t-host-pw"))
    answer(channel.ChannelAsk("GetVariable", {"key": "api_password"}))
    assert "v4lue-of-a-secret" not in str(airflow_compat.redact("v v4lue-of-a-secret"))


def test_a_channel_serves_its_target_until_the_target_closes(supervisor: FakeSupervisor) -> None:
    lines: List[str] = []
    host_channel = HostChannel(lines.append)
    target = socket.socket(fileno=os.dup(host_channel.open()))
    host_channel.handed_over()  # the target holds its end, as a started target does
    try:
        for _ in range(3):
            channel.send(target, channel.ChannelAsk("GetTICount", {"dag_id": "up"}))
            assert channel.receive_answer(target).fields == {"count": 3}
        assert host_channel.asked == 3
    finally:
        target.close()
        host_channel.close()
    assert lines == []


def test_a_target_that_floods_the_channel_loses_it_and_the_worker_goes_on(supervisor: FakeSupervisor) -> None:
    lines: List[str] = []
    host_channel = HostChannel(lines.append)
    target = socket.socket(fileno=os.dup(host_channel.open()))
    host_channel.handed_over()  # the target holds its end, as a started target does
    target.settimeout(10)
    try:
        target.sendall(struct.pack(">I", channel.MAX_FRAME_BYTES * 4) + b"x" * 1024)
        assert target.recv(16) == b"", "the host did not close the channel"
    finally:
        target.close()
        host_channel.close()
    assert any("broke its channel" in line and "over the channel's" in line for line in lines), lines
    assert supervisor.sent == []


def test_an_answer_over_the_bound_is_refused_not_sent(
    supervisor: FakeSupervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(channel, "MAX_FRAME_BYTES", 48)
    big = channel.ChannelAnswer("VariableResult", {"key": "k", "value": json.dumps(["x"] * 50)})
    frame = HostChannel._bounded(big)
    assert "over the channel's 48" in msgspec.json.decode(frame[4:], type=channel.ChannelAnswer).refused


def test_no_channel_without_a_supervisor(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.execution_time import task_runner

    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", None, raising=False)
    assert host_can_answer() is False
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", FakeSupervisor(), raising=False)
    assert host_can_answer() is True


SENSOR = "airflow.providers.standard.sensors.external_task.ExternalTaskSensor"


def test_an_operator_that_needs_the_channel_is_refused_at_parse_time_where_none_opens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_isolation.operator import IsolatedOperator, airflow_compat

    image = {"image": "some/image:1"}
    IsolatedOperator(task_id="venv", environment="plain", operator=SENSOR, external_dag_id="up")
    IsolatedOperator(
        task_id="docker", environment="plain", operator=SENSOR, external_dag_id="up", backend="docker",
        backend_options=image,
    )  # fmt: skip
    with pytest.raises(
        airflow_compat.AirflowException, match=r"in_a_pod: ExternalTaskSensor .*'docker' or 'venv'"
    ):
        IsolatedOperator(
            task_id="in_a_pod", environment="plain", operator=SENSOR, external_dag_id="up",
            backend="kubernetes", backend_options=image,
        )  # fmt: skip
    monkeypatch.setattr(airflow_compat, "AIRFLOW_MAJOR", 2)
    with pytest.raises(airflow_compat.AirflowException, match="run ExternalTaskSensor natively"):
        IsolatedOperator(task_id="on_2", environment="plain", operator=SENSOR, external_dag_id="up")


def test_an_airflow_2_targets_pull_is_read_and_deserialised_by_the_host(
    supervisor: FakeSupervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    from airflow.sdk.execution_time.xcom import XCom

    from airflow_isolation.core.values import Raiser

    when = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)
    asked: List[dict] = []

    def get_all(**where: Any) -> Any:
        asked.append(where)
        return [{"at": when, "pair": (1, 2)}]

    monkeypatch.setattr(XCom, "get_all", staticmethod(get_all))
    where = {"dag_id": "d", "run_id": "r", "task_id": "t", "key": "k"}
    reply = answer(channel.ChannelAsk(channel.PULL_XCOM, where))
    assert reply.kind == channel.PULLED_XCOM and asked == [where]
    assert Raiser(what="answer").raise_json(reply.fields["values"]) == [{"at": when, "pair": (1, 2)}]
    assert "without 'run_id'" in answer(channel.ChannelAsk(channel.PULL_XCOM, {"dag_id": "d"})).refused


def test_a_container_connects_once_to_the_socket_the_host_listens_on(
    supervisor: FakeSupervisor, tmp_path: Any
) -> None:
    """The socket serves its first connection, then is gone: no second process can connect."""
    path = tmp_path / "channel.sock"
    host_channel = HostChannel(lambda line: None)
    host_channel.listen(path)
    assert oct(path.stat().st_mode & 0o777) == "0o666"
    target = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    target.settimeout(10)
    target.connect(str(path))
    try:
        channel.send(target, channel.ChannelAsk("GetTICount", {"dag_id": "up"}))
        assert channel.receive_answer(target).fields == {"count": 3}
        assert not path.exists(), "the socket still listens after its one connection"
    finally:
        target.close()
        host_channel.close()


def test_a_channel_nobody_connected_to_closes_promptly(tmp_path: Any) -> None:
    import time

    path = tmp_path / "channel.sock"
    host_channel = HostChannel(lambda line: None)
    host_channel.listen(path)
    began = time.monotonic()
    host_channel.close()
    assert time.monotonic() - began < 2 and not path.exists()
