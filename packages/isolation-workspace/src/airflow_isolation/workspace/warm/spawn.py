"""Connecting to a build's warm runtime, and starting it when none listens.

It is started detached, in a session of its own, with the cold target's environment
(``workspace.sandbox.task_environment``: the allowlist, no run marker, no request digest), under a
flock beside its socket so concurrent starts make one; it says it is ready on a pipe, and logs
beside its socket (``<socket>.log``). A sandboxed one (``workspace.sandbox``) runs in a ``bwrap``
of its profile, which sees nothing of the socket folder: the host binds the socket and hands the
runtime the listening descriptor.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, Mapping, Optional, Sequence

from airflow_isolation.core import launch
from airflow_isolation.workspace.environment import BuildManifest
from airflow_isolation.workspace.flock import held_flock
from airflow_isolation.workspace.sandbox import (
    SANDBOX_HOME,
    SandboxProfile,
    sandbox_command,
    task_environment,
)
from airflow_isolation.workspace.warm.command import server_command
from airflow_isolation.workspace.warm.errors import WarmUnavailable
from airflow_isolation.workspace.warm.paths import socket_path
from airflow_isolation.workspace.warm.processes import WarmProcess, running

START_TIMEOUT_SECONDS = 120.0
"""Imports of Airflow and a preload list (pandas…) on a busy machine; a task waits for it once."""


def server_environment(
    manifest: BuildManifest, base: Optional[Mapping[str, str]] = None, sandboxed: bool = False
) -> Dict[str, str]:
    """The warm runtime's environment: the cold target's (``workspace.sandbox.task_environment``),
    without what a task adds (each child gets its task's own)."""
    airflow_home = launch.venv_airflow_home(manifest.venv_path)
    Path(airflow_home).mkdir(exist_ok=True)
    return task_environment(
        os.environ if base is None else base, manifest.venv_path, airflow_home,
        home=SANDBOX_HOME if sandboxed else None,
    )  # fmt: skip


def variant(sandbox: Optional[SandboxProfile]) -> str:
    """The socket name's variant of a warm runtime started in ``sandbox`` (``paths.socket_name``)."""
    return "" if sandbox is None else f"sandbox-{sandbox.key}"


def _listener(path: Path) -> socket.socket:
    """The socket a sandboxed warm runtime serves, bound here: 0600, in its 0700 folder."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old_umask)
    listener.listen(128)
    return listener


def connect(path: Path) -> Optional[socket.socket]:
    """A connection to the warm runtime at ``path``; ``None`` when none listens there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        return None
    return sock


def _spawn(
    manifest: BuildManifest,
    path: Path,
    preload: Sequence[str],
    idle: float,
    *,
    sandbox: Optional[SandboxProfile],
    bwrap: str,
) -> None:
    log_path = path.with_suffix(".log")
    env = server_environment(manifest, sandboxed=sandbox is not None)
    ready_read, ready_write = os.pipe()
    listener = _listener(path) if sandbox is not None else None
    fds = (ready_write,) if listener is None else (ready_write, listener.fileno())
    command = server_command(
        str(manifest.interpreter), path, idle, ready_write, preload,
        listen_fd=None if listener is None else listener.fileno(),
    )  # fmt: skip
    if sandbox is not None:
        venv = Path(manifest.venv_path)
        command = [*sandbox_command(sandbox, venv, bwrap=bwrap, die_with_parent=False), *command]
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd, env=env,
            cwd=env.get("AIRFLOW_HOME") or "/", start_new_session=True, pass_fds=fds,
        )  # fmt: skip
    finally:
        os.close(ready_write)
        os.close(log_fd)
        if listener is not None:
            listener.close()
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        ready = b""
        while not ready and process.poll() is None and time.monotonic() < deadline:
            readable, _, _ = select.select([ready_read], [], [], 0.5)
            if readable:
                ready = os.read(ready_read, 1)
                if not ready:
                    break
    finally:
        os.close(ready_read)
    if not ready:
        try:  # it closed its end of the pipe (it is exiting: its code says why) or overran the start
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        raise WarmUnavailable(f"the warm runtime did not start (exit {code}): see {log_path}")


def connect_or_start(
    manifest: BuildManifest,
    build_path: Path,
    preload: Callable[[], Sequence[str]],
    idle: float,
    *,
    sandbox: Optional[SandboxProfile] = None,
    bwrap: str = "bwrap",
) -> socket.socket:
    """A connection to the build's warm runtime (in ``sandbox``, when given), starting it when
    there is none; ``preload`` (the definition's list, read only then) names the modules it
    imports up front."""
    path = socket_path(manifest, build_path, variant(sandbox))
    sock = connect(path)
    if sock is not None:
        return sock
    with held_flock(path.with_suffix(".lock")):
        sock = connect(path)
        if sock is not None:
            return sock
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a warm runtime that crashed left it
        _spawn(manifest, path, preload(), idle, sandbox=sandbox, bwrap=bwrap)
    sock = connect(path)
    if sock is None:
        raise WarmUnavailable(f"the warm runtime started but {path} refuses connections")
    return sock


def start(
    manifest: BuildManifest,
    build_path: Path,
    preload: Callable[[], Sequence[str]],
    idle: float,
    *,
    sandbox: Optional[SandboxProfile] = None,
    bwrap: str = "bwrap",
) -> WarmProcess:
    """Make sure the build's warm runtime (in ``sandbox``, when given) runs ahead of its first
    task; return it."""
    connect_or_start(
        manifest, build_path, preload, idle, sandbox=sandbox, bwrap=bwrap
    ).close()  # a bare close: a probe
    for process in running(manifest, variant(sandbox)):
        return process
    raise WarmUnavailable(f"the warm runtime of {manifest.venv_path} started, then exited at once")
