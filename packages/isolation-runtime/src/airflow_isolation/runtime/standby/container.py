"""``python -m airflow_isolation.runtime.standby --idle SECONDS [--preload MODULE]...``: a standby container.

The Docker backend keeps one started container per image and container options waiting with this
process in it, so a task skips the container's start and the runtime's imports. It imports what a
warm runtime does (``warm.server.preload``: the runtime, Airflow when the image has it, a rehearsal task,
the environment's ``preload`` list), then waits on stdin for one ``StandbyStart`` line
(``airflow_isolation.core.standby_protocol``); after ``--idle`` seconds without one, or when stdin
closes, it exits and the engine removes the container.

The task runs in a forked child that becomes a cold target (``warm.child.run_child``: its own
session, the container's environment plus the request's digest, stdout and stderr into the
container's stdout). This process stays to report how the child ended (the exit code as the engine
would report it, and whether the out-of-memory killer struck), forwards the engine's SIGTERM (``docker
stop``: on_kill, execution_timeout) to the child's group, stops everything else the task left in the
container, as a cold container's end does, and kills the task if stdin closes first: the worker
holding the attach connection is gone. It holds no request or secret before the task is claimed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import signal
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

import msgspec

from airflow_isolation.core import launch, procfs
from airflow_isolation.core.standby_protocol import StandbyReport, StandbyStart, parse_start, report_line
from airflow_isolation.core.warm_protocol import WarmStart
from airflow_isolation.runtime.warm.child import run_child
from airflow_isolation.runtime.warm.server import preload

_MAX_START_LINE = 1 << 16
_INIT_NAMES = ("docker-init", "tini", "tini-static")
_OOM_EVENTS = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")


def _log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    print(f"{stamp} [airflow-isolation pool {os.getpid()}] {message}", file=sys.stderr, flush=True)


def _report(report: StandbyReport) -> None:
    sys.stdout.write(report_line(report))
    sys.stdout.flush()


def read_start(deadline: float) -> Optional[bytes]:
    """The start line, or ``None`` when stdin closes or the deadline passes first."""
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or len(data) > _MAX_START_LINE:
            return None
        readable, _, _ = select.select([0], [], [], left)
        if not readable:
            return None
        chunk = os.read(0, 4096)
        if not chunk:
            return None
        data += chunk
    return data.split(b"\n", 1)[0]


def oom_kills() -> Optional[int]:
    """The container's out-of-memory kills so far (cgroup v2 ``memory.events``, v1 ``oom_control``)."""
    for path in _OOM_EVENTS:
        try:
            with open(path, encoding="ascii") as handle:
                for line in handle:
                    name, _, value = line.partition(" ")
                    if name == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            continue
    return None


def _in_own_container() -> bool:
    """Whether this process is the child of the container's init, so every other process in its PID
    namespace belongs to the task (never true for a process outside a container)."""
    if os.getppid() != 1:
        return False
    init = procfs.cmdline(1)
    return bool(init) and os.path.basename(init[0]) in _INIT_NAMES


def stop_leftovers(child: int) -> None:
    """What a cold container's end does: every process the task left is killed."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child, signal.SIGKILL)
    if not _in_own_container():
        return
    for pid in procfs.pids():
        if pid not in (1, os.getpid()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _task_files() -> List[int]:
    """The child's request, result and claim descriptors (``core.warm_protocol``): the request the
    host copied in, the result where the host copies it out from, and a claim nobody contends for
    (the container holds this one task only)."""
    request = os.open(launch.IMAGE_REQUEST_FILE, os.O_RDONLY)
    result = os.open(launch.IMAGE_RESULT_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    claim, claim_path = tempfile.mkstemp(prefix=".claim-")
    os.unlink(claim_path)
    return [request, result, claim]


def _drop_empty_result() -> None:
    """A child that died before its result leaves the empty file it was given: no file then, as a
    cold container leaves, so the host tells a crash from a result."""
    with contextlib.suppress(OSError):
        if os.path.getsize(launch.IMAGE_RESULT_FILE) == 0:
            os.unlink(launch.IMAGE_RESULT_FILE)


def _engine_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


class _Task:
    """The forked child running the task, watched together with stdin."""

    def __init__(self, start: StandbyStart, env: Dict[str, str], cwd: str) -> None:
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_write, False)
        life_read, self.lifeline = os.pipe()
        message = WarmStart(digest=start.digest, env=env, cwd=cwd)
        files = _task_files()
        signal.set_wakeup_fd(self.wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        sys.stdout.flush()
        sys.stderr.flush()
        self.pid = os.fork()
        if self.pid == 0:
            server_fds = [self.wake_read, self.wake_write, self.lifeline]
            run_child(message, [os.dup(1), life_read, *files], server_fds)
        for fd in (life_read, *files):
            os.close(fd)
        self.stopped = False
        """Whether the engine asked the container to stop (``docker stop``): on_kill or a timeout."""
        signal.signal(signal.SIGTERM, self._forward)

    def _forward(self, signum: int, frame: object) -> None:
        self.stopped = True
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def wait_for_exit(self) -> None:
        """Until the child has exited, left unreaped so its PID stays its group's; if stdin closes
        first (the worker is gone) the child is killed."""
        watched: List[int] = [0, self.wake_read]
        while True:
            if os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return
            readable, _, _ = select.select(watched, [], [])
            if self.wake_read in readable:
                with contextlib.suppress(BlockingIOError):
                    os.read(self.wake_read, 512)
            if 0 in readable and not os.read(0, 4096):
                watched.remove(0)
                _log("stdin closed while the task ran (the worker is gone): killing the task")
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)


def _wait_for_host() -> None:
    """Until stdin closes: the host lets go of the attach once it has copied the result out."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(OSError):
        while os.read(0, 4096):
            continue


def _parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {launch.STANDBY_RUNTIME_MODULE}", description=__doc__)
    parser.add_argument(launch.IDLE_OPTION, type=float, required=True, help="exit after this many seconds")
    parser.add_argument(launch.PRELOAD_OPTION, action="append", default=[], help="a module to import")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parse_args(argv)
    deadline = time.monotonic() + args.idle
    env, cwd = dict(os.environ), os.getcwd()
    started = time.perf_counter()
    preload(args.preload)
    _log(f"ready after {time.perf_counter() - started:.2f} s of imports (preload {args.preload or 'none'})")
    line = read_start(deadline)
    if line is None:
        _log("no task came: exiting")
        return 0
    try:
        start = parse_start(line)
    except msgspec.DecodeError as exc:
        _log(f"not a start line ({exc}): exiting without running anything")
        return launch.EXIT_BAD_REQUEST
    _report(StandbyReport(kind="started", nonce=start.nonce))
    before = oom_kills()
    task = _Task(start, env, cwd)
    task.wait_for_exit()
    stop_leftovers(task.pid)
    _, status = os.waitpid(task.pid, 0)
    _drop_empty_result()
    after = oom_kills()
    code = _engine_code(status)
    oom = before is not None and after is not None and after > before
    _report(StandbyReport(kind="ended", nonce=start.nonce, returncode=code, oom_killed=oom))
    if not task.stopped:  # a stop ends the container as soon as the task is gone, as a cold one
        _wait_for_host()
    return code
