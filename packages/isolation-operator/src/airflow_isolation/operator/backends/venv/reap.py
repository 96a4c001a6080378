"""Stopping every process a venv run started, wherever it went.

A container or a pod ends everything in it; a venv target's children do not end with it. A task
often starts processes that leave the target's process group: Airflow's ``SubprocessHook`` (behind
the BashOperator) calls ``setsid``, daemons double-fork, and when the target dies first (SIGKILL,
or with its worker) the rest are re-parented away from it. What they keep is the environment, so
the backend gives each run's target a variable naming the run (``RUN_ENV``) and, when the run ends
or a later run sweeps up after a dead worker, stops every process of this user that carries it:
SIGTERM, a short grace, then SIGKILL.

Linux only (``/proc``); elsewhere nothing is found. A process started with a cleared environment
(``env -i``, a BashOperator given ``env=`` without ``append_env``) escapes the marker, but while it
stays in the target's process group the group kill still reaches it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional

from airflow_isolation.core import procfs

RUN_ENV = "AIRFLOW_ISOLATION_RUN"
_GRACE_SECONDS = 2.0
_ROUNDS = 5  # a process may start another while we stop it; each round catches what appeared


def run_environment(run_id: str) -> Dict[str, str]:
    """What the target's environment gets, so its processes can be found later."""
    return {RUN_ENV: run_id}


def processes_of(run_id: str, proc: Path = procfs.PROC) -> List[int]:
    """PIDs of this user's processes whose environment names the run (this process never)."""
    marker = f"{RUN_ENV}={run_id}".encode()
    me, uid = os.getpid(), os.getuid()
    return [
        pid
        for pid in procfs.pids(proc)
        if pid != me and procfs.owner_uid(pid, proc) == uid and marker in procfs.environ(pid, proc)
    ]


def stop_when_target_exits(target: int, run_id: str, report: Optional[Callable[[str], None]] = None) -> None:
    """Wait for the target to exit, then stop what it left: its process group and its run's processes.

    Until they are stopped the backend would not see the end of the target's output (they hold
    its stdout). The target is waited for without reaping it, so its PID, which is also its process
    group's ID, cannot be given to another process before the group is signalled; a target
    someone else already reaped is not group-signalled (its PID may be anyone's by now).
    """
    try:
        os.waitid(os.P_PID, target, os.WEXITED | os.WNOWAIT)
        unreaped = True
    except ChildProcessError:
        unreaped = False
    stop_run_processes(run_id, report)
    if unreaped:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(target, signal.SIGKILL)  # what cleared its environment but stayed in the group


def _signal_all(pids: Iterable[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            continue


def _command(pid: int, proc: Path) -> str:
    return " ".join(procfs.cmdline(pid, proc)).strip()[:120] or "?"


def stop_run_processes(
    run_id: str, report: Optional[Callable[[str], None]] = None, proc: Path = procfs.PROC
) -> List[int]:
    """Stop every process of the run still alive; return the PIDs that were found."""
    stopped: List[int] = []
    for _ in range(_ROUNDS):
        pids = [pid for pid in processes_of(run_id, proc) if pid not in stopped]
        if not pids:
            break
        if report is not None:
            listed = ", ".join(f"{pid} ({_command(pid, proc)})" for pid in pids)
            report(f"stopping process(es) the task left running: {listed}")
        _signal_all(pids, signal.SIGTERM)
        deadline = time.monotonic() + _GRACE_SECONDS
        while time.monotonic() < deadline and processes_of(run_id, proc):
            time.sleep(0.05)
        _signal_all(processes_of(run_id, proc), signal.SIGKILL)
        stopped.extend(pids)
    return stopped
