"""The contract every backend fulfils: run one encoded request, stream logs, return the result."""

from __future__ import annotations

import abc
import collections
import dataclasses
from typing import Any, Callable, Deque, Dict, List, Optional

from airflow_isolation.core.integrity import REQUEST_DIGEST_ENV, request_digest

LogSink = Callable[[str], None]
TAIL_LINES = 40
RUNTIME_MODULE = "airflow_isolation.runtime"
"""Run as ``<python> -m RUNTIME_MODULE --request FILE --result FILE`` in every backend."""


def integrity_env(request: bytes) -> Dict[str, str]:
    """The request's SHA-256 for the runtime to check the delivered file against.

    Every backend sets it where the file's own transport cannot reach (process environment,
    container config, immutable pod spec) and after the user's ``env``, so it cannot be overridden.
    It is not a secret: see ``airflow_isolation.core.integrity``.
    """
    return {REQUEST_DIGEST_ENV: request_digest(request)}


@dataclasses.dataclass(frozen=True)
class TaskIdentity:
    """Which task instance a run belongs to: backends label what they create with it, so a later
    try (or an operator running a sweep) can find what a dead worker left behind."""

    dag_id: str
    task_id: str
    run_id: str
    map_index: int = -1
    try_number: int = 1

    @classmethod
    def from_context(cls, context: Dict[str, Any]) -> TaskIdentity:
        ti = context["ti"]
        map_index = getattr(ti, "map_index", None)
        try_number = getattr(ti, "try_number", None)
        return cls(
            dag_id=str(ti.dag_id),
            task_id=str(ti.task_id),
            run_id=str(context.get("run_id") or ti.run_id),
            map_index=-1 if map_index is None else int(map_index),
            try_number=1 if try_number is None else int(try_number),
        )


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


@dataclasses.dataclass
class RunOutcome:
    """What came back: the encoded result (None when the target died before writing it).

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
    def run(self, request: bytes, job: BackendJob, log: LogSink) -> RunOutcome:
        """Run the request to completion; must clean up everything it created, even on error."""

    def resume(self, method: str, event: Any, job: BackendJob, log: LogSink) -> RunOutcome:
        """Continue a run that deferred to the triggerer (only backends that defer implement it)."""
        raise NotImplementedError(f"the {self.name} backend never defers, so it cannot resume")

    @abc.abstractmethod
    def kill(self) -> None:
        """Stop a run in progress (``on_kill``); safe to call when nothing runs, or from another
        thread or a signal handler while ``run`` is blocked."""
