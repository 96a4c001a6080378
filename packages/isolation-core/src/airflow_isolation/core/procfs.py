"""Reading Linux ``/proc``, once for every package.

Both sides of a launch look at processes: the host finds what a venv run left (by a marker in
``/proc/<pid>/environ``), tells a live owner from a dead one (its start time), finds warm runtimes;
the target stops its task's descendants (``/proc/<pid>/task/<tid>/children``) and, alone in its
container, every other process. The parsing rules (a command name may hold spaces and parentheses,
a process may vanish between two reads, another user's files are unreadable) live here, so no
caller gets them wrong. Every function returns an empty answer off Linux or for a vanished process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional

PROC = Path("/proc")


def pids(proc: Path = PROC) -> List[int]:
    """Every process ID visible in this PID namespace."""
    try:
        names = os.listdir(proc)
    except OSError:
        return []
    return [int(name) for name in names if name.isdigit()]


def _stat_fields(pid: int, proc: Path) -> List[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name (field 3 onwards)."""
    try:
        text = (proc / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return text.rpartition(")")[2].split()


def state(pid: int, proc: Path = PROC) -> str:
    """The process's state letter (field 3: ``R``, ``S``, ``Z`` for a zombie…); ``""`` when gone."""
    fields = _stat_fields(pid, proc)
    return fields[0] if fields else ""


def parent(pid: int, proc: Path = PROC) -> Optional[int]:
    fields = _stat_fields(pid, proc)
    return int(fields[1]) if len(fields) > 1 else None


def start_time(pid: int, proc: Path = PROC) -> str:
    """Start time in clock ticks since boot (field 22), which tells a process from a later one
    given the same PID; ``""`` when unknown."""
    fields = _stat_fields(pid, proc)
    return fields[19] if len(fields) > 19 else ""


def environ(pid: int, proc: Path = PROC) -> List[bytes]:
    """``NAME=value`` entries of the process's initial environment; empty when unreadable."""
    try:
        return (proc / str(pid) / "environ").read_bytes().split(b"\0")
    except OSError:
        return []


def cmdline(pid: int, proc: Path = PROC) -> List[str]:
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def owner_uid(pid: int, proc: Path = PROC) -> Optional[int]:
    try:
        return (proc / str(pid)).stat().st_uid
    except OSError:
        return None


def rss_bytes(pid: int, proc: Path = PROC) -> Optional[int]:
    """Resident memory from ``/proc/<pid>/status`` (``VmRSS``)."""
    try:
        lines = (proc / str(pid) / "status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


def pid_namespace(proc: Path = PROC) -> str:
    """This process's PID namespace (``pid:[4026531836]``); ``""`` when unknown."""
    try:
        return os.readlink(proc / "self" / "ns" / "pid")
    except OSError:
        return ""


def inner_pid(pid: int, proc: Path = PROC) -> Optional[int]:
    """The PID process ``pid`` has in its own, innermost PID namespace (``NSpid``: a sandboxed
    process is known by another number inside); ``None`` for a vanished process."""
    try:
        text = (proc / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    return pid


def in_namespace(namespace: str, inner: int, proc: Path = PROC) -> Optional[int]:
    """The PID here of the process known as ``inner`` in PID namespace ``namespace``
    (``pid:[…]``, see ``pid_namespace``), or None."""
    for pid in pids(proc):
        try:
            if os.readlink(proc / str(pid) / "ns" / "pid") != namespace:
                continue
        except OSError:
            continue
        if inner_pid(pid, proc) == inner:
            return pid
    return None


def children(pid: int, proc: Path = PROC) -> List[int]:
    """Direct children of ``pid``, zombies included: from ``task/*/children`` where the kernel has
    those files, else by scanning every process's parent."""
    found: List[int] = []
    task_dir = proc / str(pid) / "task"
    try:
        tids = os.listdir(task_dir)
    except OSError:
        return []
    for tid in tids:
        try:
            text = (task_dir / tid / "children").read_text()
        except FileNotFoundError:
            if (task_dir / tid).exists():
                return [child for child, up in parents(proc).items() if up == pid]
            continue
        except OSError:
            continue
        found.extend(int(part) for part in text.split())
    return found


def parents(proc: Path = PROC) -> Dict[int, int]:
    """PID to parent PID of every visible process."""
    found: Dict[int, int] = {}
    for pid in pids(proc):
        up = parent(pid, proc)
        if up is not None:
            found[pid] = up
    return found
