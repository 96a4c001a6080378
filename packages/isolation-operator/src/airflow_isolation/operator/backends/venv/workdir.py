"""The venv backend's per-run folder, and removing the ones a dead worker left behind.

The folder holds the request (connection passwords and variables included) and the result. The
backend removes it when the run ends, whatever the ending; only a worker killed outright leaves it,
and then the target is gone too (``venv.child``), but not what the target started. The folder's
name carries the creating process's PID and start time, so every venv run first sweeps up after
processes that no longer exist: it stops the processes of their runs (the folder's name is the run's
``venv.reap`` marker) and removes their folders, without touching those of other live workers on the
same machine (a recycled PID does not pass for its former owner: the start time differs).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable, List, Optional

from airflow_isolation.operator.backends.ownership import Owner, process_alive
from airflow_isolation.operator.backends.venv.reap import stop_run_processes

PREFIX = "airflow-isolation-"
_OWNED = re.compile(rf"^{re.escape(PREFIX)}(\d+)-(\d*)-")


def claim_path(workdir: Path) -> Path:
    """Where a warm child claims the run (``venv.warm``): a hidden file beside the folder, not in it,
    so the task sees in its working folder exactly what a cold start shows it."""
    return workdir.with_name(f".{workdir.name}.warm-claim")


def remove_workdir(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
    claim_path(workdir).unlink(missing_ok=True)


def make_workdir() -> Path:
    """A new 0700 folder in the temp directory named after this process."""
    owner = Owner.current()
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{owner.pid}-{owner.started}-"))


def sweep_workdirs(report: Optional[Callable[[str], None]] = None, root: Optional[Path] = None) -> List[Path]:
    """Stop the runs of worker processes that are gone and remove their folders; return the folders."""
    removed: List[Path] = []
    folder = Path(root or tempfile.gettempdir())
    try:
        candidates = list(folder.glob(f"{PREFIX}*"))
    except OSError:
        return removed
    for path in candidates:
        match = _OWNED.match(path.name)
        if match is None or not path.is_dir():
            continue
        if path.stat().st_uid != os.getuid() or process_alive(int(match.group(1)), match.group(2)):
            continue
        stop_run_processes(path.name, report)
        remove_workdir(path)
        if not path.exists():
            removed.append(path)
            if report is not None:
                report(f"removed {path}, left by worker process {match.group(1)}, which is gone")
    return removed
