"""``python -m airflow_isolation.runtime.warm --socket PATH``: a warm runtime for one environment build.

A cold target pays interpreter start and the Airflow import (~1.2 s on Airflow 2.10) for every
task. This process pays them once: it imports the runtime, Airflow when the environment has it,
runs one throwaway task (``warm.rehearsal``) and imports the environment's ``preload`` list,
freezes the heap for copy-on-write, then hands each task, on a Unix socket, to a child
(``warm.child``) it forked ahead of the task (a spare, so the task does not wait for the fork). It
holds no request, secret or context; see ``airflow_isolation.core.warm_protocol`` for what it is told.

Single-threaded on purpose: it forks, and a fork taken while another thread holds a lock (stdio,
logging, the allocator) would hand that lock, held forever, to the task. Connections of another
user are refused (``SO_PEERCRED``); the socket also sits in a 0700 folder and is 0600 itself.
It exits after ``--idle`` seconds without a task, and a child whose host connection drops before
it ends is killed with its process group, as the worker's death kills a cold target. It is a child
subreaper (``process.descendants``): what a task child killed outright leaves is re-parented to it,
and every child of its own that is not a task child is killed on sight.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import selectors
import signal
import socket
import struct
import sys
import time
from typing import Dict, List, Optional, Sequence

from airflow_isolation.core import procfs
from airflow_isolation.core.warm_protocol import (
    CHANNEL_DESCRIPTOR,
    KEEPS_TREE,
    PID_NAMESPACE_WORD,
    START_DESCRIPTORS,
    WarmProtocolError,
    WarmRelease,
    WarmReply,
    WarmStart,
    descriptors_of,
    receive_host_message,
    send,
)
from airflow_isolation.runtime.process.descendants import become_subreaper, kill_strays
from airflow_isolation.runtime.warm.child import run_child, wait_as_spare
from airflow_isolation.runtime.warm.rehearsal import rehearse

_PEERCRED = struct.Struct("3i")
_HANDSHAKE_SECONDS = 5.0


def _log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    print(f"{stamp} [airflow-isolation warm {os.getpid()}] {message}", file=sys.stderr, flush=True)


def _import(name: str, quiet: bool = False) -> bool:
    try:
        importlib.import_module(name)
    except Exception as exc:
        if not quiet:
            _log(f"preload of {name} failed ({type(exc).__name__}: {exc}); tasks import it themselves")
        return False
    return True


_STANDARD_PYTHON = "airflow.providers.standard.operators.python"
_RUNTIME_MODULES = (
    "entrypoint",
    "task.runner",
    "task.context",
    "task.task_instance",
    "facets.write_back",
    "task.callables",
)


def preload(modules: Sequence[str]) -> None:
    """Import what every task would, then freeze the heap so children share it copy-on-write."""
    for name in _RUNTIME_MODULES:
        _import(f"airflow_isolation.runtime.{name}")
    from airflow_isolation.runtime.task import airflow_compat

    info = airflow_compat.detect()
    if info is not None:
        airflow_compat.configure_environment()
        _import("airflow")
        _import("airflow_isolation.runtime.task.secrets_backend")
        for name in airflow_compat.modules_every_task_imports(info):
            _import(name, quiet=True)
        standard = _import(_STANDARD_PYTHON, quiet=True)
        python_module = _STANDARD_PYTHON if standard else "airflow.operators.python"
        rehearse(f"{python_module}.PythonOperator", _log)
    else:
        rehearse(None, _log)
    for name in modules:
        _import(name)
    gc.collect()
    gc.freeze()


class _Child:
    def __init__(self, pid: int, conn: socket.socket) -> None:
        self.pid = pid
        self.conn: Optional[socket.socket] = conn
        self.returncode: Optional[int] = None
        self.released = False


class _Spare:
    """A child forked ahead of the next task (``child.wait_as_spare``) and its channel."""

    def __init__(self, pid: int, channel: socket.socket) -> None:
        self.pid = pid
        self.channel = channel


class WarmServer:
    """The serving loop. ``listen_fd``: a socket the host bound and listens on, for a warm runtime
    in a sandbox (``workspace.sandbox``), which cannot see the host's socket folder; the host then
    also removes the socket file."""

    def __init__(self, path: str, idle_seconds: float, listen_fd: Optional[int] = None) -> None:
        self.path = path
        self.idle_seconds = idle_seconds
        self.selector = selectors.DefaultSelector()
        self.inode: Optional[int] = None
        if listen_fd is not None:
            self.listener = socket.socket(fileno=listen_fd)
        else:
            old_umask = os.umask(0o177)
            try:
                self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.listener.bind(path)
            finally:
                os.umask(old_umask)
            self.inode = os.stat(path).st_ino
        self.listener.listen(128)
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_read, False)
        os.set_blocking(self.wake_write, False)
        self.children: Dict[int, _Child] = {}
        self.by_conn: Dict[socket.socket, _Child] = {}
        self.stopping = False
        self.keeps_tree = False
        self.spare: Optional[_Spare] = None
        self.last_activity = time.monotonic()

    def serve(self) -> None:
        signal.set_wakeup_fd(self.wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._stop)
        self.keeps_tree = become_subreaper()
        self.selector.register(self.listener, selectors.EVENT_READ, "listener")
        self.selector.register(self.wake_read, selectors.EVENT_READ, "wake")
        try:
            while not self.stopping or self.children:
                if self.stopping:
                    self._stop_listening()
                elif self.spare is None:
                    self._fork_spare()
                timeout = None if self.children else self._idle_left()
                if timeout is not None and timeout <= 0:
                    _log(f"idle for {self.idle_seconds:.0f} s: exiting")
                    break
                for key, _ in self.selector.select(timeout):
                    if key.data == "listener":
                        self._accept()
                    elif key.data == "wake":
                        with contextlib.suppress(BlockingIOError):
                            while os.read(self.wake_read, 512):
                                continue
                    else:
                        self._host_message(self.by_conn[key.fileobj])  # type: ignore[index]
                self._collect_exited()
                self._kill_strays()
        finally:
            if self.spare is not None:
                self.spare.channel.close()  # it ends on the closed channel
            if self.listener.fileno() >= 0:
                self._remove_socket()

    def _kill_strays(self) -> None:
        keep = [*self.children, *([self.spare.pid] if self.spare is not None else [])]
        killed = kill_strays(keep)
        if killed:
            _log(f"killed process(es) a task child left when it was killed: {killed}")

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _stop_listening(self) -> None:
        """Once told to stop: take no new task, but let the running ones end (in a sandbox, this
        process ending ends every process in it)."""
        if self.listener.fileno() < 0:
            return
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(self.listener)
        self._remove_socket()
        if self.spare is not None:
            self.spare.channel.close()
            self.spare = None

    def _idle_left(self) -> float:
        return self.idle_seconds - (time.monotonic() - self.last_activity)

    def _remove_socket(self) -> None:
        """Remove the socket unless a newer warm runtime has already taken its place."""
        with contextlib.suppress(OSError):
            if self.inode is not None and os.stat(self.path).st_ino == self.inode:
                os.unlink(self.path)
        self.listener.close()

    def _accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        self.last_activity = time.monotonic()
        _, uid, _ = _PEERCRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))
        if uid != os.getuid():
            _log(f"refused a connection from uid {uid}: a warm runtime serves only uid {os.getuid()}")
            conn.close()
            return
        fds: List[int] = []
        try:
            conn.settimeout(_HANDSHAKE_SECONDS)
            message, fds = receive_host_message(conn)
            if message is None and not fds:  # a bare close: someone checking that it listens
                conn.close()
                return
            if not isinstance(message, WarmStart) or len(fds) != descriptors_of(message):
                raise WarmProtocolError(
                    f"expected a start with its descriptors ({', '.join(START_DESCRIPTORS)}, and "
                    f"{CHANNEL_DESCRIPTOR} when it says so), got {type(message).__name__} with {len(fds)}"
                )
            self._fork(conn, message, fds)
        except (OSError, WarmProtocolError) as exc:
            _log(f"dropped a connection: {exc}")
            with contextlib.suppress(OSError):
                send(conn, WarmReply(kind="refused", reason=str(exc)))
            conn.close()
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _server_fds(self, *extra: socket.socket) -> List[int]:
        sockets = [self.listener, *extra, *self.by_conn]
        if self.spare is not None:
            sockets.append(self.spare.channel)
        return [s.fileno() for s in sockets] + [self.wake_read, self.wake_write, self.selector.fileno()]

    def _fork_spare(self) -> None:
        """Fork the next task's child ahead, from the serving loop (no task's message in any frame
        it inherits), so that task does not wait for the fork: ~5 ms for a runtime with Airflow."""
        ours, theirs = socket.socketpair()
        sys.stdout.flush()
        sys.stderr.flush()
        server_fds = self._server_fds(ours)
        try:
            pid = os.fork()
        except OSError as exc:
            _log(f"could not fork a spare child ({exc}); the next task is forked when it comes")
            ours.close()
            theirs.close()
            return
        if pid == 0:
            wait_as_spare(theirs, server_fds)
        theirs.close()
        self.spare = _Spare(pid, ours)

    def _hand_to_spare(self, start: WarmStart, fds: List[int]) -> Optional[int]:
        """The spare's PID once it has the task; ``None`` when there is none, or it died."""
        spare, self.spare = self.spare, None
        if spare is None:
            return None
        try:
            send(spare.channel, start, fds)
        except OSError:
            return None  # its zombie is reaped as a stray
        finally:
            spare.channel.close()
        return spare.pid

    @property
    def _started_words(self) -> str:
        """The ``started`` reply's guarantees, and where its PIDs are numbered (``PID_NAMESPACE_WORD``)."""
        words = [KEEPS_TREE] if self.keeps_tree else []
        namespace = procfs.pid_namespace()
        if namespace:
            words.append(PID_NAMESPACE_WORD + namespace)
        return " ".join(words)

    def _fork(self, conn: socket.socket, start: WarmStart, fds: List[int]) -> None:
        pid = self._hand_to_spare(start, fds)
        if pid is None:
            sys.stdout.flush()
            sys.stderr.flush()
            server_fds = self._server_fds(conn)
            pid = os.fork()
            if pid == 0:
                run_child(start, fds, server_fds)
        child = _Child(pid, conn)
        self.children[pid] = child
        self.by_conn[conn] = child
        send(conn, WarmReply(kind="started", pid=pid, reason=self._started_words))
        self.selector.register(conn, selectors.EVENT_READ, "host")

    def _host_message(self, child: _Child) -> None:
        assert child.conn is not None
        try:
            message, fds = receive_host_message(child.conn)
            for fd in fds:
                os.close(fd)
        except (OSError, WarmProtocolError):
            message = None
        if message is not None and not isinstance(message, WarmRelease):
            return
        self._forget_connection(child)
        child.released = True
        if child.returncode is None:  # the host went away while the task ran: stop it, as cold
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
        else:
            self._reap(child)

    def _forget_connection(self, child: _Child) -> None:
        if child.conn is None:
            return
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(child.conn)
        self.by_conn.pop(child.conn, None)
        child.conn.close()
        child.conn = None

    def _collect_exited(self) -> None:
        for child in list(self.children.values()):
            if child.returncode is not None:
                continue
            try:
                info = os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                info = None
                child.returncode = -signal.SIGKILL
            if info is not None:
                killed = info.si_code in (os.CLD_KILLED, os.CLD_DUMPED)
                child.returncode = -info.si_status if killed else info.si_status
            if child.returncode is None:
                continue
            self.last_activity = time.monotonic()
            self._kill_strays()  # what it left came to this process as it exited: before the host hears
            if child.released or child.conn is None:
                self._reap(child)
                continue
            try:
                send(child.conn, WarmReply(kind="exited", pid=child.pid, returncode=child.returncode))
            except OSError:
                self._forget_connection(child)
                self._reap(child)

    def _reap(self, child: _Child) -> None:
        """Kill what is left of the child's group while its PID is still reserved, then reap it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child.pid, 0)
        self._forget_connection(child)
        self.children.pop(child.pid, None)


def _parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m airflow_isolation.runtime.warm", description=__doc__)
    parser.add_argument("--socket", required=True, help="the Unix socket to listen on")
    parser.add_argument("--idle", type=float, default=600.0, help="exit after this many idle seconds")
    parser.add_argument("--preload", action="append", default=[], help="a module to import up front")
    parser.add_argument("--ready-fd", type=int, help="write one byte here once listening, then close it")
    parser.add_argument(
        "--listen-fd", type=int, help="serve this listening socket (the host bound it at --socket)"
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parse_args(argv)
    started = time.perf_counter()
    preload(args.preload)
    server = WarmServer(args.socket, args.idle, args.listen_fd)
    _log(
        f"listening on {args.socket} after {time.perf_counter() - started:.2f} s of imports "
        f"(Python {sys.version.split()[0]}, preload {args.preload or 'none'})"
    )
    if args.ready_fd is not None:
        with contextlib.suppress(OSError):
            os.write(args.ready_fd, b"1")
            os.close(args.ready_fd)
    server.serve()
    return 0
