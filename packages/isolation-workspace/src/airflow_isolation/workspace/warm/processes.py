"""The warm runtimes of this user on the machine: finding them by their command line, stopping them.

Linux ``/proc`` (read through ``core.procfs``); elsewhere none is found.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

from airflow_isolation.core import procfs
from airflow_isolation.workspace.environment import BuildManifest
from airflow_isolation.workspace.flock import held_flock
from airflow_isolation.workspace.warm.command import socket_of
from airflow_isolation.workspace.warm.paths import build_key, socket_name


@dataclass(frozen=True)
class WarmProcess:
    """A running warm runtime of this user."""

    pid: int
    interpreter: str
    socket: Path
    rss_bytes: Optional[int]

    @property
    def rss_text(self) -> str:
        return "RSS unknown" if self.rss_bytes is None else f"RSS {self.rss_bytes / 2**20:.0f} MiB"


def warm_runtime_processes() -> List[WarmProcess]:
    """Every warm runtime of this user on the machine; not the children it forked, which show its
    command line too, nor the ``bwrap`` processes of a sandboxed one, whose command lines end in
    it (the runtime itself is the one to signal: it lets its running tasks end)."""
    found: List[WarmProcess] = []
    uid = os.getuid()
    for pid in procfs.pids():
        if procfs.owner_uid(pid) != uid:
            continue
        argv = procfs.cmdline(pid)
        if argv and os.path.basename(argv[0]) == "bwrap":
            continue
        socket = socket_of(argv)
        if socket is not None:
            found.append(WarmProcess(pid, argv[0], socket, procfs.rss_bytes(pid)))
    pids = {process.pid for process in found}
    return [process for process in found if procfs.parent(process.pid) not in pids]


def running(manifest: BuildManifest, variant: Optional[str] = None) -> List[WarmProcess]:
    """The warm runtimes of this build (whatever socket folder they were started with): every
    variant (``paths.socket_name``), or only ``variant``."""
    key = build_key(manifest)
    return [
        process
        for process in warm_runtime_processes()
        if (process.socket.name == socket_name(manifest, variant) if variant is not None
            else process.socket.name == f"{key}.sock" or process.socket.name.startswith(f"{key}-"))
    ]  # fmt: skip


def _wait_gone(pid: int, timeout: float) -> bool:
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    except (OSError, AttributeError):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if procfs.owner_uid(pid) is None:
                return True
            time.sleep(0.05)
        return False
    try:
        readable, _, _ = select.select([pidfd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(pidfd)


def _remove_socket(path: Path) -> None:
    """A sandboxed warm runtime cannot remove its socket (the host bound it; its folder is not in
    the sandbox): remove it unless another runtime listens there now, under the lock its start
    takes (``spawn.connect_or_start``)."""
    if not path.exists():
        return
    with held_flock(path.with_suffix(".lock")):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        finally:
            probe.close()


def stop(processes: Sequence[WarmProcess], timeout: float = 10.0) -> List[WarmProcess]:
    """SIGTERM each (it ends its loop and removes its socket), SIGKILL those still there after
    ``timeout``; return those that were running. A task child running keeps running to its end."""
    stopped: List[WarmProcess] = []
    for process in processes:
        try:
            os.kill(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        stopped.append(process)
    for process in stopped:
        if not _wait_gone(process.pid, timeout):
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            _wait_gone(process.pid, timeout)
        _remove_socket(process.socket)
    return stopped
