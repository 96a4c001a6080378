"""Connecting to a build's warm runtime, and starting it when none listens.

It is started detached, in a session of its own, with the cold target's environment
(``core.launch.target_environment``: no ``AIRFLOW_*``, no run marker, no request digest), under a
flock beside its socket so concurrent starts make one; it says it is ready on a pipe, and logs
beside its socket (``<socket>.log``).
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
from airflow_isolation.workspace.warm.command import server_command
from airflow_isolation.workspace.warm.errors import WarmUnavailable
from airflow_isolation.workspace.warm.paths import socket_path
from airflow_isolation.workspace.warm.processes import WarmProcess, running

START_TIMEOUT_SECONDS = 120.0
"""Imports of Airflow and a preload list (pandas…) on a busy machine; a task waits for it once."""


def server_environment(manifest: BuildManifest, base: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The warm runtime's environment: the cold target's (``core.launch.target_environment``)."""
    airflow_home = launch.venv_airflow_home(manifest.venv_path)
    Path(airflow_home).mkdir(exist_ok=True)
    return launch.target_environment(os.environ if base is None else base, manifest.venv_path, airflow_home)


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
    env: Dict[str, str],
    preload: Sequence[str],
    idle: float,
) -> None:
    log_path = path.with_suffix(".log")
    ready_read, ready_write = os.pipe()
    command = server_command(str(manifest.interpreter), path, idle, ready_write, preload)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd, env=env,
            cwd=env.get("AIRFLOW_HOME") or "/", start_new_session=True, pass_fds=(ready_write,),
        )  # fmt: skip
    finally:
        os.close(ready_write)
        os.close(log_fd)
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
    manifest: BuildManifest, build_path: Path, preload: Callable[[], Sequence[str]], idle: float
) -> socket.socket:
    """A connection to the build's warm runtime, starting it when there is none; ``preload`` (the
    definition's list, read only then) names the modules it imports up front."""
    path = socket_path(manifest, build_path)
    sock = connect(path)
    if sock is not None:
        return sock
    with held_flock(path.with_suffix(".lock")):
        sock = connect(path)
        if sock is not None:
            return sock
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a warm runtime that crashed left it
        _spawn(manifest, path, server_environment(manifest), preload(), idle)
    sock = connect(path)
    if sock is None:
        raise WarmUnavailable(f"the warm runtime started but {path} refuses connections")
    return sock


def start(
    manifest: BuildManifest, build_path: Path, preload: Callable[[], Sequence[str]], idle: float
) -> WarmProcess:
    """Make sure the build's warm runtime runs (ahead of its first task); return it."""
    connect_or_start(manifest, build_path, preload, idle).close()  # it takes a bare close as a probe
    for process in running(manifest):
        return process
    raise WarmUnavailable(f"the warm runtime of {manifest.venv_path} started, then exited at once")
