"""Answering what an isolated task asks its Airflow, with the host's own Airflow.

The host's task runner holds a supervisor connection (Airflow 3's ``SUPERVISOR_COMMS``) for the
task the ``IsolatedOperator`` is: each ask of the target is rebuilt as the host SDK's own message
and sent there, so it is answered by the API server with this task's identity and rights, through
the host's secrets backends, exactly as the same read of a native task. Only ``channel.READS``
are forwarded. A variable or connection that comes back is masked in the host's log before the
target gets it (the target masks it in its own output too).

One thread serves one run's socket and ends when the target closes its end or the run ends. A
target that breaks the protocol (a frame too large, one that does not decode) loses the channel,
and its next ask fails its own task; nothing it sends can fail the worker.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from pathlib import Path
from typing import Any, Callable, Optional

from airflow_isolation.core import channel
from airflow_isolation.operator import airflow_compat

_ACCEPT_TURN_SECONDS = 0.2


def host_can_answer() -> bool:
    """This host runs Airflow 3 and is a task runner with its supervisor connection (a worker's task
    process, or ``airflow dags test``)."""
    if airflow_compat.AIRFLOW_MAJOR < 3:
        return False
    try:
        from airflow.sdk.execution_time import task_runner
    except ImportError:
        return False
    return getattr(task_runner, "SUPERVISOR_COMMS", None) is not None


class HostChannel:
    """One run's channel: ``open`` gives the target's descriptor, ``close`` ends it."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self._log = log
        self._host: Optional[socket.socket] = None
        self._target: Optional[socket.socket] = None
        self._listener: Optional[socket.socket] = None
        self._listening: Optional[Path] = None
        self._thread: Optional[threading.Thread] = None
        self._closing = threading.Event()
        self.asked = 0

    def listen(self, path: Path) -> None:
        """For a target in a container: listen at ``path`` (in a folder mounted into that container
        alone) and serve the first connection, then stop listening, so no one else can connect."""
        if self._host is not None or self._listener is not None:
            self.close()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        os.chmod(path, 0o666)  # the container's user may be any uid; the folder above is the worker's
        listener.listen(1)
        self._listener, self._listening = listener, path
        self._thread = threading.Thread(target=self._accept, name="isolation-host-channel", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        """A blocked ``accept`` is not woken by closing its socket on Linux: it waits in short
        turns, until the target connects or the run ends (``close``)."""
        listener = self._listener
        assert listener is not None
        listener.settimeout(_ACCEPT_TURN_SECONDS)
        try:
            while not self._closing.is_set():
                try:
                    conn, _ = listener.accept()
                except socket.timeout:
                    continue
                conn.settimeout(None)
                self._host = conn
                break
        except OSError:
            return
        finally:
            self._stop_listening()
        if self._host is not None and not self._closing.is_set():
            self._serve()

    def _stop_listening(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.close()
        if self._listening is not None:
            with contextlib.suppress(OSError):
                self._listening.unlink()
        self._listening = None

    def open(self) -> int:
        """The target's end, inheritable, to hand to the target and close here once it is started
        (``handed_over``)."""
        if self._host is not None:  # a warm start that did not take the task: a fresh channel for the next
            self.close()
        host, target = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        target.set_inheritable(True)
        self._host, self._target = host, target
        self._thread = threading.Thread(target=self._serve, name="isolation-host-channel", daemon=True)
        self._thread.start()
        return target.fileno()

    def handed_over(self) -> None:
        """The target holds its end now: the host keeps only its own, so the channel ends when the
        target does."""
        if self._target is not None:
            self._target.close()
            self._target = None

    def close(self) -> None:
        self._closing.set()
        self.handed_over()
        if self._thread is not None and self._listener is not None:
            self._thread.join(timeout=10)  # still listening: it stops within a turn, serving no one
        if self._host is not None:
            with contextlib.suppress(OSError):
                self._host.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._host is not None:
            self._host.close()
        self._host = self._thread = self._listener = None
        self._closing = threading.Event()

    def _serve(self) -> None:
        sock = self._host
        assert sock is not None
        try:
            while True:
                ask = channel.receive_ask(sock)
                if ask is None:
                    return
                self.asked += 1
                sock.sendall(self._bounded(answer(ask)))
        except channel.ChannelError as exc:
            self._log(f"[airflow-isolation] the task broke its channel to the host, which is closed: {exc}")
        except OSError:
            pass  # the run ended (close) or the target went away
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _bounded(reply: channel.ChannelAnswer) -> bytes:
        """The reply's frame, or a refusal's when the reply is over the channel's bound."""
        try:
            return channel.encode(reply)
        except channel.ChannelError as exc:
            refusal = channel.ChannelAnswer(
                refused=f"the answer to this {reply.kind or 'ask'} is too large ({exc}): pass large "
                "data through storage, not XComs or variables"
            )
            return channel.encode(refusal, bounded=False)  # a few hundred bytes of the host's own


def answer(ask: channel.ChannelAsk) -> channel.ChannelAnswer:
    """The host Airflow's reply to one ask, or why it was not asked."""
    if ask.kind not in channel.READS:
        return channel.ChannelAnswer(
            refused=f"{ask.kind} is not a read: an isolated task's writes travel with its result (write_back)"
        )
    if ask.kind == channel.PULL_XCOM:
        return _pull_xcom(ask.fields)
    from airflow.sdk.execution_time import comms
    from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS

    message_class: Any = getattr(comms, ask.kind, None)
    if message_class is None:
        return channel.ChannelAnswer(refused=f"this host's Airflow does not know {ask.kind}")
    try:
        message = message_class.model_validate({**ask.fields, "type": ask.kind})
    except Exception as exc:  # pydantic's ValidationError, whatever the version
        return channel.ChannelAnswer(refused=f"{ask.kind} with fields this host's Airflow refuses: {exc}")
    if ask.kind == "MaskSecret":
        airflow_compat.mask_secret(message.value, message.name)
        return channel.ChannelAnswer()
    reply = SUPERVISOR_COMMS.send(message)
    if reply is None:
        return channel.ChannelAnswer()
    fields = reply.model_dump(mode="json")
    kind = str(fields.pop("type", type(reply).__name__))
    _mask(kind, fields)
    return channel.ChannelAnswer(kind=kind, fields=fields)


def _mask(kind: str, fields: dict[str, Any]) -> None:
    """As the task SDK masks what it reads: a connection's password and extra, a variable whose
    name says it is secret (the masker judges the name)."""
    if kind == "ConnectionResult":
        for name in ("password", "extra"):
            if fields.get(name):
                airflow_compat.mask_secret(fields[name])
    elif kind == "VariableResult" and fields.get("value") is not None:
        airflow_compat.mask_secret(fields["value"], fields.get("key"))


def _pull_xcom(fields: dict[str, Any]) -> channel.ChannelAnswer:
    """An Airflow 2 target's ``xcom_pull``: the host's Airflow reads and deserialises the values
    (its XCom backend included), which travel with the wire's JSON extensions."""
    import msgspec
    from airflow.sdk.execution_time.xcom import XCom

    from airflow_isolation.core.values import Lowerer, json_enc_hook

    try:
        where = {name: str(fields[name]) for name in ("dag_id", "run_id", "task_id", "key")}
    except KeyError as exc:
        return channel.ChannelAnswer(refused=f"{channel.PULL_XCOM} without {exc}")
    values = XCom.get_all(**where)
    try:
        lowered = Lowerer("json").lower(None if values is None else list(values), "xcom")
    except Exception as exc:  # a value the wire cannot carry: said, as for any XCom
        return channel.ChannelAnswer(refused=f"the XCom {where['key']!r} of {where['task_id']!r}: {exc}")
    plain = msgspec.json.decode(msgspec.json.encode(lowered, enc_hook=json_enc_hook))
    return channel.ChannelAnswer(kind=channel.PULLED_XCOM, fields={"values": plain})
