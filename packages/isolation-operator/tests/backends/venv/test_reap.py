"""Finding and stopping a venv run's processes by the marker in their environment (real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Dict, Iterator, List

import pytest
from host_worker import alive, wait_until_gone

from airflow_isolation.operator.backends.venv.reap import (
    RUN_ENV,
    processes_of,
    run_environment,
    stop_run_processes,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux-only")

_IGNORES_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
    "time.sleep(300)"
)


@pytest.fixture
def started() -> Iterator[List[subprocess.Popen[bytes]]]:
    processes: List[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.kill()
        process.wait()


def _start(started: List[subprocess.Popen[bytes]], env: Dict[str, str], *argv: str) -> int:
    process = subprocess.Popen(
        list(argv) or ["sleep", "300"],
        env={**os.environ, **env},
        start_new_session=True,
        stdout=subprocess.PIPE,
    )
    started.append(process)
    if argv:
        assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    return process.pid


def test_finds_only_the_processes_of_the_run(started: List[subprocess.Popen[bytes]]) -> None:
    mine = _start(started, run_environment("run-a"))
    other = _start(started, run_environment("run-b"))
    prefix = _start(started, {RUN_ENV: "run-a-longer"})
    unmarked = _start(started, {})
    assert processes_of("run-a") == [mine]
    assert sorted(processes_of("run-b")) == [other]
    assert prefix not in processes_of("run-a") and unmarked not in processes_of("run-a")


def test_stops_them_with_sigkill_after_sigterm_is_ignored(started: List[subprocess.Popen[bytes]]) -> None:
    polite = _start(started, run_environment("run-c"))
    stubborn = _start(started, run_environment("run-c"), sys.executable, "-c", _IGNORES_SIGTERM)
    bystander = _start(started, run_environment("run-d"))
    reports: List[str] = []
    assert sorted(stop_run_processes("run-c", reports.append)) == sorted([polite, stubborn])
    for process in started[:2]:
        process.wait(10)
    assert started[0].returncode == -15 and started[1].returncode == -9
    assert alive(bystander)
    assert len(reports) == 1 and f"{polite} (sleep 300)" in reports[0], reports
    assert stop_run_processes("run-c") == []
    started[2].kill()
    started[2].wait()
    assert wait_until_gone(bystander)
