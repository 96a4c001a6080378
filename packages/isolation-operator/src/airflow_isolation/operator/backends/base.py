"""The contract every backend fulfils: run one encoded request, stream logs, return the result.

How a backend starts the runtime (command line, environment, paths in images) is the launch
protocol, ``airflow_isolation.core.launch``; whose a run is, ``ownership``.
"""

from __future__ import annotations

import abc
import collections
import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Deque, List, Optional

from airflow_isolation.operator.backends.ownership import TaskIdentity

if TYPE_CHECKING:
    from airflow_isolation.operator.channel import HostChannel

LogSink = Callable[[str], None]
TAIL_LINES = 40


@dataclasses.dataclass(frozen=True)
class BackendJob:
    """Everything a backend needs besides the request bytes.

    ``options`` is what the backend's options parser made of the task's ``backend_options`` at DAG
    parse time (``None`` when the backend takes none). ``context`` is the Airflow task context, for
    backends that run another operator (the Kubernetes backend runs a KubernetesPodOperator).
    """

    environment: str
    identity: TaskIdentity
    options: Any = None
    context: Any = None
    channel: Optional[HostChannel] = None
    """The run's channel back to the host, for a backend that hands it to its target
    (``backends.opens_channel``)."""


@dataclasses.dataclass
class TargetExit:
    """How the target process, container or pod exited, and what it left: the encoded result
    (None when it died before writing it). How the *task* ended is the result's business.

    ``detail`` is the backend's own account of how the target ended when it knows more than the
    exit code says (a container killed by the out-of-memory killer, a run stopped by ``on_kill``);
    it replaces the generic description of the exit code in the error.
    """

    result: Optional[bytes]
    exit_code: int
    tail: List[str]
    where: str
    detail: Optional[str] = None
    result_format: str = "msgpack"
    """``"json"`` when the result came through a JSON-only channel (the KPO xcom sidecar)."""
    memory_hint: Optional[str] = None
    """The memory limit the backend set and how to raise it, added to a ``MemoryError``."""


class LogTail:
    """Forwards each line to the task log and keeps the last ones for crash reports."""

    def __init__(self, sink: LogSink):
        self._sink = sink
        self.lines: Deque[str] = collections.deque(maxlen=TAIL_LINES)

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        self._sink(line)


class IsolationBackend(abc.ABC):
    name: str

    @abc.abstractmethod
    def run(self, request: bytes, job: BackendJob, log: LogSink) -> TargetExit:
        """Run the request to completion; must clean up everything it created, even on error."""

    def resume(self, method: str, event: Any, job: BackendJob, log: LogSink) -> TargetExit:
        """Continue a run that deferred to the triggerer (only backends that defer implement it).
        ``method`` is the one the backend deferred with, or "" when the resume lost it."""
        raise NotImplementedError(f"the {self.name} backend never defers, so it cannot resume")

    @abc.abstractmethod
    def kill(self) -> None:
        """Stop a run in progress (``on_kill``); safe to call when nothing runs, or from another
        thread or a signal handler while ``run`` is blocked."""
