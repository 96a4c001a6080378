"""Keeping hold of every process a warm task forks, and stopping them when the task ends.

The venv backend finds a run's leftovers by a marker in their environment as ``/proc/<pid>/environ``
shows it: the environment of the last ``exec``. A cold target is exec'd with the marker, so all it
forks carries it. A warm child is forked from the warm runtime, which was exec'd without it: what
the task forks without exec and moves out of its process group (``setsid``, a double fork) shows
neither the marker nor the group, and would outlive the task, holding its output pipe open.

So the warm child becomes a *child subreaper* (Linux ``PR_SET_CHILD_SUBREAPER``): whatever is
orphaned below it is re-parented to it instead of to init, and everything the task started stays
its descendant, found by following ``/proc/<pid>/task/<tid>/children``. Before it exits, however the
task ended, the child stops them (SIGTERM, a grace, SIGKILL). The warm runtime is a subreaper too:
a child killed outright (SIGKILL after the timeout's grace, the out-of-memory killer) hands its
orphans to it, and it kills every child of its own that is not a task child.

Elsewhere than on Linux these functions find nothing and change nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import Iterable, List, Set

from airflow_isolation.core import procfs
from airflow_isolation.core.prctl import PR_SET_CHILD_SUBREAPER, PRCTL

GRACE_SECONDS = 2.0
_ROUNDS = 5  # a process may fork while it is being stopped; each round catches what appeared


def become_subreaper() -> bool:
    """Make orphans of this process's tree re-parent to it; whether that took effect."""
    return PRCTL is not None and bool(PRCTL(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)


def descendants(pid: int) -> List[int]:
    """Every process below ``pid``, parents before their children."""
    found: List[int] = []
    seen: Set[int] = {pid}
    queue = [pid]
    while queue:
        for child in procfs.children(queue.pop(0)):
            if child not in seen:
                seen.add(child)
                found.append(child)
                queue.append(child)
    return found


def _living(pids: Iterable[int]) -> List[int]:
    """Those not yet ended: neither gone nor a zombie waiting to be reaped."""
    return [pid for pid in pids if procfs.state(pid) not in ("", "Z", "X")]


def _signal_all(pids: Iterable[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def reap_children(pids: Iterable[int]) -> None:
    """Collect those of ``pids`` that are this process's ended children, without blocking."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


def stop_descendants(grace: float = GRACE_SECONDS) -> List[int]:
    """Stop every process below this one: SIGTERM, up to ``grace`` seconds, then SIGKILL; return them.

    Nothing to stop costs one read of this process's ``children`` file.
    """
    me = os.getpid()
    stopped: List[int] = []
    for _ in range(_ROUNDS):
        pids = _living(descendants(me))
        if not pids:
            break
        _signal_all(pids, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while _living(pids) and time.monotonic() < deadline:
            reap_children(procfs.children(me))
            time.sleep(0.02)
        _signal_all(_living(descendants(me)), signal.SIGKILL)
        stopped.extend(pids)
    deadline = time.monotonic() + grace
    while _living(stopped) and time.monotonic() < deadline:  # SIGKILL takes a moment to end one
        time.sleep(0.005)
    reap_children(procfs.children(me))
    return stopped


def kill_strays(keep: Iterable[int], grace: float = GRACE_SECONDS) -> List[int]:
    """SIGKILL every child of this process not in ``keep``, with all below it; reap those ended.

    For the warm runtime: its own children are its task children, and what a killed task child
    left, re-parented to it. It waits (up to ``grace``) for them to end, so a host told about the
    task child's exit afterwards finds nothing of the task alive. Returns the PIDs signalled.
    """
    me = os.getpid()
    kept = set(keep)
    strays = [pid for pid in procfs.children(me) if pid not in kept]
    if not strays:
        return []
    victims = _living(pid for stray in strays for pid in (stray, *descendants(stray)))
    _signal_all(victims, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while _living(victims) and time.monotonic() < deadline:
        time.sleep(0.005)
    reap_children(strays)
    return victims
