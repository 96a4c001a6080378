"""Finding and stopping the warm runtimes of the venv environments a test session built."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import List

from airflow_isolation.workspace.warm import warm_runtime_processes


def warm_runtimes(under: Path) -> List[int]:
    """PIDs of the warm runtimes whose interpreter or socket lies under ``under``."""
    return [
        process.pid
        for process in warm_runtime_processes()
        if str(under) in process.interpreter or str(under) in str(process.socket)
    ]


def stop_warm_runtimes(under: Path, timeout: float = 10) -> None:
    pids = warm_runtimes(under)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid in warm_runtimes(under) for pid in pids):
        time.sleep(0.05)
