"""Running a venv task in a child forked by the build's warm runtime, with the cold path's guarantees.

The host prepares everything as for a cold start (the 0600 request file in the run folder, the
target environment with the run marker, the digest) and sends the warm runtime the task's
descriptors: its output pipe, a lifeline, and the request, result and claim files it opened
(``airflow_isolation.core.warm_protocol``), so the task reads its request without any path a
task could open. The child writes straight into the pipe, so logs stream as they do cold; it leads
its own process group, which ``WarmTarget.kill`` signals as ``VenvBackend.kill`` does; the warm
runtime keeps it unreaped until the host has stopped what it left, so its PID stays the group's.
A sandboxed task's warm runtime runs in a sandbox of the task's profile (``workspace.sandbox``).

Whatever goes wrong before a child exists raises ``WarmUnavailable`` and the backend starts the
task cold. Once the start message is sent, a child may exist: the host then only starts cold after
winning the run's claim, which a warm child takes before it reads the request, so a task is never
run twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import socket
import threading
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from airflow_isolation.core import procfs
from airflow_isolation.core.warm_protocol import (
    CLAIM_TAKEN_COLD,
    KEEPS_TREE,
    WarmProtocolError,
    WarmRelease,
    WarmReply,
    WarmStart,
    receive_reply,
    send,
)
from airflow_isolation.operator.backends.base import LogSink, LogTail
from airflow_isolation.operator.backends.venv.reap import stop_run_processes
from airflow_isolation.operator.backends.venv.workdir import claim_path
from airflow_isolation.operator.channel import HostChannel
from airflow_isolation.operator.config.settings import idle_seconds
from airflow_isolation.workspace.environment import BuildManifest
from airflow_isolation.workspace.sandbox import SandboxProfile
from airflow_isolation.workspace.warm import WarmUnavailable, connect_or_start

_HANDSHAKE_SECONDS = 10.0
_UNKNOWN_EXIT = -int(signal.SIGKILL)


class WarmLost(Exception):
    """A warm child took the task but cannot be followed: the run fails, and is never rerun cold."""


class WarmTarget:
    """A task running in a warm child: wait for it, signal its group, release it.

    From the start a reaper thread waits for the child to exit and then stops what the run left
    (its run marker's processes, then its group), as ``venv_reap.stop_when_target_exits`` does for
    a cold target, whether or not the output is ever read. A warm runtime that keeps the child's
    tree (``KEEPS_TREE``) has stopped all of it before it reports the exit, so the search for the
    marker, a read of every process's environment on the machine, is left out then; it stays for
    runtimes that predate it and for a warm runtime that died.
    """

    def __init__(
        self,
        conn: socket.socket,
        pid: int,
        *,
        output: int,
        lifeline: int,
        run_id: str,
        log: LogSink,
        keeps_tree: bool = False,
        claim: Optional[Path] = None,
    ):
        self.conn = conn
        self.pid = pid
        self.claim = claim
        self.ended = False
        """The child said it has ended (``WarmStart.claim``); the kernel may still be tearing it down."""
        self.keeps_tree = keeps_tree
        """The warm runtime stops everything below the child itself (``core.warm_protocol.KEEPS_TREE``)."""
        self.output: Optional[int] = output
        """The read end of the child's stdout/stderr pipe, until ``follow`` takes it."""
        self.returncode: Optional[int] = None
        self.server_holds = False
        """Whether the warm runtime keeps the exited child unreaped (so its PID is still its own)."""
        self._lifeline = lifeline
        self._exited = threading.Event()
        try:
            self._pidfd: Optional[int] = os.pidfd_open(pid)
        except (OSError, AttributeError):
            self._pidfd = None
        self.reaper = threading.Thread(
            target=self._reap, args=(run_id, log), name=f"isolation-warm-reap-{pid}"
        )
        self.reaper.daemon = True
        self.reaper.start()

    def _reap(self, run_id: str, log: LogSink) -> None:
        self.wait_for_exit()
        if not ((self.server_holds or self.ended) and self.keeps_tree):  # else nothing is left to find
            stop_run_processes(run_id, log)
        if self.server_holds:
            self.signal_group(signal.SIGKILL)  # what cleared its environment but stayed in the group

    def wait_for_exit(self) -> None:
        """Block until the child has exited: the warm runtime says so, or, if it is gone, the kernel."""
        try:
            self.conn.settimeout(None)
            reply = receive_reply(self.conn)
        except (OSError, WarmProtocolError):
            reply = None
        if reply is not None and reply.kind == "exited":
            self.returncode, self.server_holds = reply.returncode, True
        elif self._pidfd is not None and not self.ended:
            select.select([self._pidfd], [], [])
        self._exited.set()

    def end_if_announced(self) -> bool:
        """At the end of the child's output: whether it wrote its exit code into the claim file,
        which it does once everything below it is stopped, just before it exits. Then the wait for
        its exit (the kernel unmapping a copy of an interpreter with Airflow: milliseconds) is cut
        short; ``release`` makes the warm runtime kill the group and reap the child."""
        if self.claim is None or not self.keeps_tree:
            return False
        try:
            self.returncode = int(self.claim.read_text())
        except (OSError, ValueError):
            return False
        self.ended = True
        with contextlib.suppress(OSError):
            self.conn.shutdown(socket.SHUT_RD)  # the reaper stops waiting for the "exited" reply
        return True

    def wait(self, timeout: Optional[float]) -> bool:
        return self._exited.wait(timeout)

    def signal_group(self, sig: signal.Signals) -> bool:
        if self._exited.is_set() and not self.server_holds:
            return False
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def kill(self, grace: float) -> None:
        if self._exited.is_set():
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
            if not self.signal_group(sig) or self.wait(wait):
                return

    def release(self) -> None:
        """Let the warm runtime reap the child, once what it left is stopped; close everything."""
        self.reaper.join()
        with contextlib.suppress(OSError):
            send(self.conn, WarmRelease())
        self.conn.close()
        for fd in (self._lifeline, self._pidfd, self.output):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)


def _worker_pid(reply: WarmReply, *, sandboxed: bool) -> Optional[int]:
    """The started child's PID on the worker, which ``kill`` signals: a sandboxed runtime numbers
    its children in its own PID namespace (``core.warm_protocol.PID_NAMESPACE_WORD``)."""
    namespace = reply.pid_namespace
    if not namespace:
        return None if sandboxed else reply.pid
    if namespace == procfs.pid_namespace():
        return reply.pid
    return procfs.in_namespace(namespace, reply.pid)


def _claim(workdir: Path) -> bool:
    """Take the run's claim for a cold start (``core.warm_protocol.WarmStart``): ``False`` when a
    warm child holds it, or held it."""
    try:
        fd = os.open(claim_path(workdir), os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    try:
        if os.fstat(fd).st_size:
            return False
        os.write(fd, CLAIM_TAKEN_COLD)
        return True
    finally:
        os.close(fd)


def _task_files(request_file: Path, result_file: Path, claim: Path) -> List[int]:
    """The request (read), an empty result (write) and an empty claim (read/write), opened here."""
    opened: List[int] = []
    try:
        opened.append(os.open(request_file, os.O_RDONLY | os.O_CLOEXEC))
        for path, mode in ((result_file, os.O_WRONLY), (claim, os.O_RDWR)):
            opened.append(os.open(path, mode | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    except OSError:
        for fd in opened:
            os.close(fd)
        raise
    return opened


def start(
    *,
    manifest: BuildManifest,
    build_path: Path,
    preload: Callable[[], Sequence[str]],
    request_file: Path,
    result_file: Path,
    env: Dict[str, str],
    digest: str,
    memory_limit: Optional[int],
    log: LogSink,
    sandbox: Optional[SandboxProfile] = None,
    bwrap: str = "bwrap",
    channel: Optional[HostChannel] = None,
) -> WarmTarget:
    """Start the task in a warm child (of the warm runtime in ``sandbox``, when given).

    Raises ``WarmUnavailable`` when no child can have started, so the task may start cold.
    """
    try:
        conn = connect_or_start(manifest, build_path, preload, idle_seconds(), sandbox=sandbox, bwrap=bwrap)
    except WarmUnavailable:
        raise
    except Exception as exc:
        raise WarmUnavailable(f"{type(exc).__name__}: {exc}") from exc
    workdir = request_file.parent
    try:
        files = _task_files(request_file, result_file, claim_path(workdir))
    except OSError as exc:
        conn.close()
        raise WarmUnavailable(f"the run's files could not be opened ({exc})") from exc
    out_read, out_write = os.pipe()
    life_read, life_write = os.pipe()
    channel_fds = [channel.open()] if channel is not None else []
    message = WarmStart(
        digest=digest, env=env, cwd="" if sandbox is not None else str(workdir), memory_limit=memory_limit,
        channel=bool(channel_fds),
    )  # fmt: skip
    reply = None
    try:
        conn.settimeout(_HANDSHAKE_SECONDS)
        send(conn, message, [out_write, life_read, *files, *channel_fds])
        os.close(out_write)
        out_write = -1
        if channel is not None:
            channel.handed_over()
        reply = receive_reply(conn)
    except (OSError, WarmProtocolError):
        reply = None
    finally:
        for fd in (out_write, life_read, *files):
            if fd >= 0:
                os.close(fd)
    pid: Optional[int] = None
    if reply is not None and reply.kind == "started":
        pid = _worker_pid(reply, sandboxed=sandbox is not None)
        if pid is None:
            reply = WarmReply(
                kind="refused",
                reason="its child is not among the worker's processes (a sandboxed runtime that does "
                "not say its PID namespace: rebuild the environment with this release)",
            )
    if reply is not None and reply.kind == "started" and pid is not None:
        return WarmTarget(
            conn, pid, output=out_read, lifeline=life_write, run_id=workdir.name, log=log,
            keeps_tree=reply.says(KEEPS_TREE), claim=claim_path(workdir),
        )  # fmt: skip
    conn.close()
    if _claim(workdir):
        os.close(out_read)
        os.close(life_write)
        reason = reply.reason if reply is not None else "no answer"
        raise WarmUnavailable(f"the warm runtime did not start the task ({reason})")
    os.close(life_write)  # a child claimed the run but cannot be followed: the lifeline stops it
    os.close(out_read)
    raise WarmLost(
        "the warm runtime stopped answering after its child had taken the task, so the child was "
        "stopped and the task is not run again here: retry the task (it will start cold or warm anew)"
    )


def follow(target: WarmTarget, result_file: Path, tail: LogTail, log: LogSink) -> int:
    """Stream the child's output until its group closes the pipe; return its exit code once its
    leftovers are stopped."""
    assert target.output is not None
    output, target.output = open(target.output, errors="replace"), None  # noqa: SIM115 - closed below
    with output:
        for line in output:
            tail(line.rstrip("\n"))
    target.end_if_announced()
    target.reaper.join()
    if target.returncode is not None:
        return target.returncode
    log("[airflow-isolation] the warm runtime ended while the task ran: the result file decides how it went")
    written = result_file.exists() and result_file.stat().st_size > 0  # the host created it empty
    return 0 if written else _UNKNOWN_EXIT
