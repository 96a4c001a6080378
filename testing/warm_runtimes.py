"""Finding and stopping the warm runtimes of the venv environments a test session built."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import List

from airflow_isolation.operator.backends.venv.warm_start import warm_runtime_processes


def warm_runtimes(under: Path) -> List[int]:
    """PIDs of the warm runtimes whose interpreter or socket lies under ``under``."""
    return [pid for pid, argv in warm_runtime_processes() if any(str(under) in part for part in argv)]


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
