"""What the task asks its Airflow at run time, answered by the host over its channel.

Airflow 3 task code asks its supervisor through ``task_runner.SUPERVISOR_COMMS``: the task
instance's ``get_ti_count``/``get_dr_count``/``get_task_states``/``get_dagrun_state``,
``xcom_pull`` of any task and key, ``Variable.get``/``Connection.get`` past the secrets backends,
and triggers such as ``ExternalTaskSensor``'s ``WorkflowTrigger`` through the same static methods.
Here ``SUPERVISOR_COMMS`` is a stand-in that sends each read over the channel the host opened for
this task (``core.channel``), so that code runs unchanged and gets the host Airflow's answers, as
for a native task. A write is refused in the task: writes stay what ``write_back`` buffers.

An Airflow 2 target has no task SDK to stand in for: there the channel answers what its own
calls reach at run time, ``xcom_pull`` of any task (``channel.PULL_XCOM``) and the variables and
connections no task shipped (a secrets backend after the request's, ``task/secrets_backend.py``).
Only when the host said it opened a channel (``RunOptions.host_channel``) and its descriptor came
(``launch.CHANNEL_FD_ENV``); otherwise the task has no way back, and what needs one fails naming
the fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import types
from typing import Any, ClassVar, Dict, Iterator, Optional

from airflow_isolation.core import channel, launch
from airflow_isolation.core.facets import BY_NAME, Facet
from airflow_isolation.runtime.facets.base import TargetFacet
from airflow_isolation.runtime.task.outcome import WRITE_BACK_HINT

ANSWER_SECONDS = 300.0
"""How long the task waits for one answer before its ask fails (the host answers as fast as its
supervisor does; a host that never answers must not hang the task)."""

TASK_INSTANCE_READS = (
    "get_ti_count",
    "get_dr_count",
    "get_task_states",
    "get_dagrun_state",
    "get_dag",
    "get_task_breadcrumbs",
)
"""Static methods of Airflow 3's ``RuntimeTaskInstance`` that only ask the supervisor; the task
instance stand-in gets them, so ``context["ti"].get_ti_count(...)`` works as natively."""
TASK_INSTANCE_OWN_READS = ("get_previous_dagrun", "get_previous_ti")
"""Its methods that read the task instance too (its dag, task and run)."""
NO_CHANNEL = (
    "context['ti'].{name} asks the Airflow running the task, and this run has no channel back to its "
    "host: the venv and docker backends (with an engine on the worker) open one when the host and the "
    "environment run Airflow 3. On the kubernetes backend, or an Airflow 2 environment, run the operator "
    "natively (an ExternalTaskSensor needs no packages of its own), or pass what it reads as templated "
    "arguments"
)
"""What a run without the channel says when the task asks for what only the host can answer."""


class ChannelRefused(Exception):
    """The host did not ask its Airflow (a write, an unknown kind, an answer too large)."""


class HostAsker:
    """One run's end of the channel: an ask, then its answer, one at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()

    def ask(self, kind: str, fields: Dict[str, Any]) -> channel.ChannelAnswer:
        with self._lock:
            channel.send(self._sock, channel.ChannelAsk(kind=kind, fields=fields))
            answer = channel.receive_answer(self._sock)
        if answer.refused:
            raise ChannelRefused(answer.refused)
        return answer

    def pull_xcom(self, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
        """``xcom_pull`` without the task SDK (Airflow 2): the host reads and deserialises it."""
        from airflow_isolation.core.values import Raiser

        where = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "key": key}
        return _as_pulled(
            Raiser(what="answer").raise_json(self.ask(channel.PULL_XCOM, where).fields.get("values"))
        )


class ChannelComms:
    """``SUPERVISOR_COMMS`` for an isolated task: reads go to the host, anything else is refused."""

    def __init__(self, asker: HostAsker, comms: types.ModuleType) -> None:
        self._asker = asker
        self._comms = comms

    def send(self, msg: Any) -> Any:
        kind = str(getattr(msg, "type", type(msg).__name__))
        if kind not in channel.READS:
            raise ChannelRefused(
                f"{kind}: an isolated task asks its host's Airflow only for reads; {WRITE_BACK_HINT}"
            )
        answer = self._asker.ask(kind, msg.model_dump(mode="json", exclude={"type"}))
        if not answer.kind:
            return None
        reply = getattr(self._comms, answer.kind, None)
        if reply is None:
            raise ChannelRefused(f"the host answered {kind} with {answer.kind}, unknown to this Airflow")
        return reply.model_validate({**answer.fields, "type": answer.kind})

    async def asend(self, msg: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, self.send, msg)


def _channel_socket() -> Optional[socket.socket]:
    """The descriptor a venv target inherits, or the socket a container connects to."""
    fd = os.environ.pop(launch.CHANNEL_FD_ENV, "")
    path = os.environ.pop(launch.CHANNEL_SOCKET_ENV, "")
    if fd.isdigit():
        sock = socket.socket(fileno=int(fd))
    elif path and os.path.exists(path):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            return None
    else:
        return None
    sock.settimeout(ANSWER_SECONDS)
    return sock


class HostChannelFacet(TargetFacet):
    facet: ClassVar[Facet] = BY_NAME["host_channel"]

    def __init__(self, run: Any) -> None:
        super().__init__(run)
        self.comms: Optional[ChannelComms] = None
        self._sock: Optional[socket.socket] = None

    @contextlib.contextmanager
    def _opened(self) -> Iterator[None]:
        sock = _channel_socket()
        if sock is not None and not self.run.request.options.host_channel:
            sock.close()
            sock = None
        self._sock = sock
        try:
            yield
        finally:
            if self.comms is not None:
                from airflow.sdk.execution_time import task_runner

                task_runner.SUPERVISOR_COMMS = None
            if self._sock is not None:
                self._sock.close()

    def scope(self) -> Any:
        return self._opened()

    def install(self) -> None:
        info = self.run.airflow
        if self._sock is None or info is None:
            return
        asker = HostAsker(self._sock)
        self.run.log("the host's Airflow answers what the task asks at run time (channel open)")
        if info.major < 3:
            from airflow_isolation.runtime.task.secrets_backend import ask_the_host_too

            ask_the_host_too(asker)
            self.run.xcoms.fallback = asker.pull_xcom
            return
        from airflow.sdk.execution_time import comms, task_runner
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        self.comms = ChannelComms(asker, comms)
        task_runner.SUPERVISOR_COMMS = self.comms
        ti = self.run.context["ti"]
        for name in TASK_INSTANCE_READS:
            if hasattr(RuntimeTaskInstance, name):
                object.__setattr__(ti, name, getattr(RuntimeTaskInstance, name))
        for name in TASK_INSTANCE_OWN_READS:
            if hasattr(RuntimeTaskInstance, name):
                object.__setattr__(ti, name, types.MethodType(getattr(RuntimeTaskInstance, name), ti))
        self.run.xcoms.fallback = _pull_with_the_sdk


def _pull_with_the_sdk(dag_id: str, run_id: str, task_id: str, key: str) -> Any:
    """``xcom_pull`` of what the request did not carry, as Airflow 3's task instance pulls it when
    no ``map_indexes`` are given: every map index of that task, one value for an unmapped task."""
    from airflow.sdk.execution_time.xcom import XCom

    return _as_pulled(XCom.get_all(run_id=run_id, key=key, task_id=task_id, dag_id=dag_id))


def _as_pulled(values: Any) -> Any:
    """What Airflow 3's ``xcom_pull`` without ``map_indexes`` returns of a task's values: ``None``
    for none found, the value of an unmapped task, the list of a mapped one's."""
    if values is None:
        return None
    values = list(values)
    return values[0] if len(values) == 1 else values
