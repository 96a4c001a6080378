"""A standby container's runtime on its own: its protocol, and how it ends when no task comes.

Running a task needs the container's paths (``/isolation``) and its init as parent, so that part
is tested against a real engine in the operator's ``tests/real/backends/docker/test_standby.py``.
"""

from __future__ import annotations

import subprocess
import sys
import time

from airflow_isolation.core import launch
from airflow_isolation.core.standby_protocol import (
    StandbyReport,
    StandbyStart,
    parse_report,
    parse_start,
    report_line,
    start_line,
)
from airflow_isolation.runtime.standby import container


def _standby(*arguments: str) -> subprocess.Popen[bytes]:
    command = launch.standby_runtime_command(sys.executable, 30)[:3] + list(arguments)
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_the_start_line_and_reports_round_trip() -> None:
    start = StandbyStart(digest="abc", nonce="n1")
    line = start_line(start)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert parse_start(line) == start
    report = StandbyReport(kind="ended", nonce="n1", returncode=137, oom_killed=True)
    assert parse_report(report_line(report).rstrip("\n"), "n1") == report


def test_a_report_of_another_run_or_any_other_line_is_not_a_report() -> None:
    line = report_line(StandbyReport(kind="started", nonce="n1")).rstrip("\n")
    assert parse_report(line, "n2") is None
    assert parse_report("a task printing something", "n1") is None
    assert parse_report(line[:-3], "n1") is None


def test_the_command_names_the_idle_time_and_the_preload_list() -> None:
    command = launch.standby_runtime_command("/py", 600.0, ["pandas", "numpy"])
    assert command == ["/py", "-m", launch.STANDBY_RUNTIME_MODULE, "--idle", "600", "--preload", "pandas",
                       "--preload", "numpy"]  # fmt: skip


def test_it_exits_when_no_task_comes_within_the_idle_time() -> None:
    """Its stdin stays open (``communicate`` would close it, which ends the wait too)."""
    started = time.monotonic()
    process = _standby("--idle", "1")
    try:
        assert process.wait(timeout=120) == 0
        assert time.monotonic() - started >= 1
        assert process.stderr is not None
        err = process.stderr.read()
        assert b"ready after" in err and b"no task came" in err
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.kill()
        process.wait()


def test_it_exits_when_its_stdin_closes_before_a_task() -> None:
    process = _standby("--idle", "300")
    _, err = process.communicate(b"", timeout=120)
    assert process.returncode == 0 and b"no task came" in err


def test_it_refuses_a_start_line_it_cannot_read() -> None:
    process = _standby("--idle", "300")
    _, err = process.communicate(b"not json\n", timeout=120)
    assert process.returncode == launch.EXIT_BAD_REQUEST
    assert b"not a start line" in err


def test_outside_a_container_it_would_stop_only_the_task_group() -> None:
    assert not container._in_own_container()
