"""The contract every backend fulfils: run one encoded request, stream logs, return the result."""

from __future__ import annotations

import abc
import collections
import dataclasses
from typing import Callable, Deque, List, Optional

LogSink = Callable[[str], None]
TAIL_LINES = 40


@dataclasses.dataclass
class RunOutcome:
    """What came back: the encoded result (None when the target died before writing it)."""

    result: Optional[bytes]
    exit_code: int
    tail: List[str]
    where: str


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
    def run(self, request: bytes, environment: str, log: LogSink) -> RunOutcome:
        """Run the request to completion; must clean up everything it created, even on error."""

    @abc.abstractmethod
    def kill(self) -> None:
        """Stop a run in progress (``on_kill``); safe to call when nothing runs."""
