"""The venv backend's per-run folder, and removing the ones a dead worker left behind.

The folder holds the request (connection passwords and variables included) and the result. The
backend removes it when the run ends, whatever the ending; only a worker killed outright leaves it,
and then the target is gone too (``venv.child``), but not what the target started. The folder's
name carries the creating process's PID and start time, so every venv run first sweeps up after
processes that no longer exist: it stops the processes of their runs (the folder's name is the run's
``venv.reap`` marker) and removes their folders, without touching those of other live workers on the
same machine (a recycled PID does not pass for its former owner: the start time differs). A
folder lent to another user for the run (``run_as_user``) is taken back first.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable, List, Optional

from airflow_isolation.operator.backends.ownership import Owner, process_alive
from airflow_isolation.operator.backends.venv.impersonation import (
    Impersonation,
    ImpersonationError,
    impersonation,
)
from airflow_isolation.operator.backends.venv.reap import stop_run_processes

PREFIX = "airflow-isolation-"
_OWNED = re.compile(rf"^{re.escape(PREFIX)}(\d+)-(\d*)-")


def claim_path(workdir: Path) -> Path:
    """Where a warm child claims the run (``venv.warm``): a hidden file beside the folder, not in it,
    so the task sees in its working folder exactly what a cold start shows it."""
    return workdir.with_name(f".{workdir.name}.warm-claim")


def lent_path(workdir: Path) -> Path:
    """Beside a folder handed to another user for the run (``venv.impersonation``): the user's
    name, in a file the worker owns, so a sweep after a killed worker knows whose it is and takes it
    back before removing it."""
    return workdir.with_name(f".{workdir.name}.run-as-user")


def lend_workdir(workdir: Path, user: Impersonation) -> None:
    marker = lent_path(workdir)
    marker.write_text(user.user)
    user.hand_over(workdir)


def remove_workdir(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
    claim_path(workdir).unlink(missing_ok=True)
    lent_path(workdir).unlink(missing_ok=True)


def _take_back(path: Path) -> bool:
    """A swept folder another user holds: taken back when this worker lent it (its marker)."""
    marker = lent_path(path)
    try:
        if marker.stat().st_uid != os.getuid():
            return False
        impersonation(marker.read_text().strip()).take_back(path)
    except (OSError, ImpersonationError):
        return False
    return True


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
        if process_alive(int(match.group(1)), match.group(2)):
            continue
        if path.stat().st_uid != os.getuid() and not _take_back(path):
            continue
        stop_run_processes(path.name, report)
        remove_workdir(path)
        if not path.exists():
            removed.append(path)
            if report is not None:
                report(f"removed {path}, left by worker process {match.group(1)}, which is gone")
    return removed
