"""What the Docker backend and a standby container's runtime say to each other.

A standby container is created and started before any task wants it, runs
``launch.standby_runtime_command`` (the runtime, Airflow and the environment's ``preload`` already
imported) and waits on its stdin, which only the Docker engine's ``attach`` reaches. It holds no
request and no secret until a task claims it: the host then copies the request in (``put_archive``,
as for a cold container), attaches, and writes one ``StandbyStart`` line with the request's digest,
the one thing a cold container gets in its configuration. The request and the secrets in it never
appear in the container's command, environment or labels.

The standby runtime answers with ``StandbyReport`` lines behind ``REPORT_PREFIX`` on its stdout, the
stream the task writes to, so a report comes after all the output before it (the engine does not
keep the order between stdout and stderr): ``started`` once it has taken the task (a container
that ends before saying so never ran it, so the host may start the task cold), ``ended`` with the
exit code and whether the out-of-memory killer struck, once the task's processes are gone. It
then waits until its stdin closes (the host lets go of the attach once it has copied the result
out; or the worker is gone) and exits; the engine removes the container (``AutoRemove``), and the
host waits for that. Each report carries the host's ``nonce``, which the task is not handed (its
process has a copy only in memory inherited from the runtime), so no text a task prints is taken
for a report by accident.
"""

from __future__ import annotations

from typing import Literal, Optional

import msgspec

REPORT_PREFIX = "airflow-isolation-standby-report "
"""Starts every ``StandbyReport`` line on the standby runtime's stdout."""


class StandbyStart(msgspec.Struct, forbid_unknown_fields=True):
    """Run the task at ``launch.IMAGE_REQUEST_FILE``, whose SHA-256 is ``digest``."""

    digest: str
    nonce: str


class StandbyReport(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["started", "ended"]
    nonce: str
    returncode: int = 0
    """As the engine reports a container's exit: the exit code, or 128 + the signal that ended it."""
    oom_killed: bool = False


_start_decoder = msgspec.json.Decoder(StandbyStart)
_report_decoder = msgspec.json.Decoder(StandbyReport)


def start_line(start: StandbyStart) -> bytes:
    return msgspec.json.encode(start) + b"\n"


def parse_start(line: bytes) -> StandbyStart:
    """Raises ``msgspec.DecodeError`` for anything but one ``StandbyStart``."""
    return _start_decoder.decode(line.strip())


def report_line(report: StandbyReport) -> str:
    return REPORT_PREFIX + msgspec.json.encode(report).decode() + "\n"


def parse_report(line: str, nonce: str) -> Optional[StandbyReport]:
    """The report on ``line`` for the run with ``nonce``; ``None`` when the line is anything else."""
    if not line.startswith(REPORT_PREFIX):
        return None
    try:
        report = _report_decoder.decode(line[len(REPORT_PREFIX) :])
    except msgspec.DecodeError:
        return None
    return report if report.nonce == nonce else None
