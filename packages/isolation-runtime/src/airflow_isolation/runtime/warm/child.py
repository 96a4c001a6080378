"""What a warm runtime's child does between ``fork`` and the task: become a cold target.

After this the child is what ``<python> -m airflow_isolation.runtime`` would be: it leads a new
session and process group, reads nothing on stdin, writes stdout and stderr straight into the
host's pipe (unbuffered, as ``PYTHONUNBUFFERED`` makes a cold target), runs in its own working
folder with the host's environment for the target (the allowlist, the run marker, the request
digest) and its address-space limit, then calls the same entrypoint and ends the same way. It
holds none of the warm runtime's sockets, so it cannot see other tasks. Its request and result are
the descriptors the host sent (``core.warm_protocol``), never paths; it is not dumpable, so another
task of the same warm runtime (the same uid, in the same sandbox) can read neither its memory nor
its descriptors nor its environment through ``/proc``, nor trace it.

The child's parent is the warm runtime, not the worker, so ``PR_SET_PDEATHSIG`` cannot tie it to
the worker. The warm runtime kills the child's group when the worker's connection drops; should
the warm runtime be gone too, the host also sends the read end of a pipe whose write end only the
worker holds, and its closing sends SIGIO (default action: terminate) to the child's group. A warm
runtime that dies alone leaves the child running on to the end of its task.

What the task forks without exec carries the warm runtime's exec-time environment, not the run
marker the host looks for, so the child keeps its whole tree itself (``process.descendants``): it is a
child subreaper, and stops every descendant before it exits, however the task ended.
"""

from __future__ import annotations

import fcntl
import io
import os
import resource
import shutil
import signal
import socket
import sys
import tempfile
import traceback
from typing import Iterable, List, NoReturn, Optional

from airflow_isolation.core.launch import (
    CHANNEL_FD_ENV,
    REQUEST_DIGEST_ENV,
    descriptor_path,
    runtime_arguments,
)
from airflow_isolation.core.prctl import PR_SET_DUMPABLE, PRCTL
from airflow_isolation.core.warm_protocol import WarmStart, descriptors_of, receive_host_message
from airflow_isolation.runtime.process import lifeline as lifeline_ends
from airflow_isolation.runtime.process.descendants import become_subreaper, stop_descendants

EXIT_NOT_CLAIMED = 75
"""Someone else owns the run (the host gave up on the warm path and started it cold)."""
EXIT_SETUP_FAILED = 70


def _close_all(fds: Iterable[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            continue


def _claim(fd: int) -> bool:
    """Hold the claim's lock while the claim file is still empty (``WarmStart``); the lock is held
    until this process exits."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return os.fstat(fd).st_size == 0


def _not_dumpable() -> None:
    if PRCTL is not None:
        PRCTL(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _working_folder(cwd: str) -> str:
    """``cwd``, or a private folder of this task (``WarmStart.cwd``); return the one to remove."""
    if cwd:
        os.chdir(cwd)
        return ""
    folder = tempfile.mkdtemp(prefix="airflow-isolation-task-")
    os.chdir(folder)
    return folder


def _stdio(out_fd: int) -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    _close_all({devnull, out_fd} - {0, 1, 2})
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - fd 0 stays open
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding=encoding, write_through=True)
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False), encoding=encoding, errors="backslashreplace", write_through=True
    )
    for name in ("stdin", "stdout", "stderr"):  # what Python's own -u start-up would have made
        setattr(sys, f"__{name}__", getattr(sys, name))


def _address_space(limit: Optional[int]) -> None:
    if limit is None:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _signals() -> None:
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def prepare(server_fds: Iterable[int]) -> None:
    """What a child does before its task is known: lead a session and group of its own, keep its
    tree (``process.descendants``), reset the warm runtime's signals, close its descriptors."""
    os.setsid()
    become_subreaper()
    _signals()
    _close_all(server_fds)


def run_child(start: WarmStart, fds: List[int], server_fds: Iterable[int]) -> NoReturn:
    """Never returns: the child ends with ``os._exit`` whatever happens."""
    try:
        prepare(server_fds)
    except BaseException:
        _fail(EXIT_SETUP_FAILED)
    run_task(start, fds)


def wait_as_spare(channel: socket.socket, server_fds: Iterable[int]) -> NoReturn:
    """A child forked ahead of its task, so a task does not wait for the fork: prepared, it waits on
    ``channel`` for the host's start message and descriptors, which the warm runtime passes on
    unread. It ends without a task when the warm runtime closes the channel (or dies)."""
    try:
        prepare(server_fds)
        message, fds = receive_host_message(channel)
        channel.close()
    except BaseException:
        _fail(EXIT_SETUP_FAILED)
    if not isinstance(message, WarmStart) or len(fds) != descriptors_of(message):
        os._exit(0)
    run_task(message, fds)


def _fail(code: int, folder: str = "") -> NoReturn:
    try:
        traceback.print_exc()
        sys.stderr.flush()
        stop_descendants()
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        os._exit(code if code != 0 else EXIT_SETUP_FAILED)


def run_task(start: WarmStart, fds: List[int]) -> NoReturn:
    """Become the cold target of ``start`` (a prepared child) and run it; end with ``os._exit``.

    ``fds`` are the start's descriptors (``core.warm_protocol.START_DESCRIPTORS``, then the channel
    when the start says one comes)."""
    out_fd, lifeline, request_fd, result_fd, claim_fd, *channel = fds
    code, folder = EXIT_SETUP_FAILED, ""
    try:
        _not_dumpable()
        for fd in (lifeline, request_fd, result_fd, claim_fd):
            os.set_inheritable(fd, False)
        if not _claim(claim_fd):
            os._exit(EXIT_NOT_CLAIMED)
        _stdio(out_fd)
        os.environ.clear()
        os.environ.update(start.env)
        os.environ[REQUEST_DIGEST_ENV] = start.digest
        if channel:
            os.environ[CHANNEL_FD_ENV] = str(channel[0])
        tempfile.tempdir = None  # it caches the temp folder of the warm runtime's environment
        folder = _working_folder(start.cwd)
        _address_space(start.memory_limit)
        request, result = descriptor_path(request_fd), descriptor_path(result_fd)
        sys.argv = [sys.argv[0], *runtime_arguments(request, result)]
        lifeline_ends.die_with_worker(lifeline)
        from airflow_isolation.runtime.entrypoint import run_files

        code = run_files(request, result)
        stop_descendants()
        _end(claim_fd, code, folder)
    except BaseException:
        _fail(code, folder)


def _end(claim_fd: int, code: int, folder: str) -> NoReturn:
    """Tell the host the task has ended (its exit code in the claim file, ``WarmStart``), close the
    output, exit.

    Exiting a fork of an interpreter with Airflow loaded takes milliseconds of kernel time (its
    whole address space is unmapped); the host need not wait for that, only for this point.
    """
    from airflow_isolation.runtime.process.exit import flush_output

    flush_output()
    if folder:
        os.chdir("/")
        shutil.rmtree(folder, ignore_errors=True)
    os.pwrite(claim_fd, str(code).encode(), 0)
    for fd in (1, 2):
        os.close(fd)
    os._exit(code)
