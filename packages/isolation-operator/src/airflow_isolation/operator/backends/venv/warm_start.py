"""Finding, and on first use starting, the warm runtime of one environment build for this user.

One warm runtime per worker machine, user and build: its socket is named after the uid and a
digest of the build's folder, content hash and build time, so a rebuild gets a new one (the old one idles out)
and nothing is ever shared between users or builds. The socket lives in a 0700 folder of this user
(``$XDG_RUNTIME_DIR/airflow-isolation-warm``, else ``<build_path>/warm-<uid>``, else one in the
temp directory when those paths are too long for a Unix socket), the runtime refuses other uids on top
of that. It is started detached, in a session of its own, with the cold target's environment (no
``AIRFLOW_*``, no run marker, no request digest), under a lock so concurrent tasks start one.

Settings: ``warm_settings`` (``[isolation] warm_runtime``, ``warm_runtime_idle_seconds``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import select
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from airflow_isolation.core import launch
from airflow_isolation.workspace.environment import BuildManifest
from airflow_isolation.workspace.locking import held_lock
from airflow_isolation.operator.backends.warm_settings import (  # noqa: F401 - venv's users import them here
    DEFAULT_IDLE_SECONDS,
    idle_seconds,
    private_folder,
    warm_enabled,
)

WARM_MODULE = launch.WARM_RUNTIME_MODULE
START_TIMEOUT_SECONDS = 120.0
"""Imports of Airflow and a preload list (pandas…) on a busy machine; a task waits for it once."""
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes with the NUL


class WarmUnavailable(Exception):
    """The warm runtime cannot take this task; the task starts cold."""


def build_key(manifest: BuildManifest) -> str:
    """Per uid and build: a rebuild, even a forced one into the same folder, gets a new runtime."""
    build = f"{manifest.venv_path}\0{manifest.content_hash}\0{manifest.built_at}"
    digest = hashlib.sha256(build.encode()).hexdigest()
    return f"{os.getuid()}-{digest[:20]}"


def socket_folder(build_path: Path) -> Path:
    candidates: List[Path] = []
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        candidates.append(Path(runtime_dir) / "airflow-isolation-warm")
    candidates.append(Path(build_path) / f"warm-{os.getuid()}")  # a build path may serve several users
    candidates.append(Path(tempfile.gettempdir()) / f"airflow-isolation-warm-{os.getuid()}")
    for folder in candidates:
        if len(str(folder)) + 40 <= _MAX_SOCKET_PATH:
            return private_folder(folder)
    return private_folder(Path("/tmp") / f"airflow-isolation-warm-{os.getuid()}")


def _connect(path: Path) -> Optional[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        return None
    return sock


def _spawn(
    manifest: BuildManifest, path: Path, log_path: Path, env: Dict[str, str], preload: Sequence[str]
) -> None:
    ready_read, ready_write = os.pipe()
    command = [str(manifest.interpreter), "-m", WARM_MODULE, "--socket", str(path),
               "--idle", str(idle_seconds()), "--ready-fd", str(ready_write)]  # fmt: skip
    for module in preload:
        command += ["--preload", module]
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
        if process.poll() is None:
            process.kill()
        raise WarmUnavailable(f"the warm runtime did not start (exit {process.poll()}): see {log_path}")


def connect_or_start(
    manifest: BuildManifest, build_path: Path, env: Dict[str, str], preload: Sequence[str]
) -> socket.socket:
    """A connection to the build's warm runtime, starting it when there is none."""
    folder = socket_folder(build_path)
    key = build_key(manifest)
    path = folder / f"{key}.sock"
    sock = _connect(path)
    if sock is not None:
        return sock
    with held_lock(folder / f"{key}.lock"):
        sock = _connect(path)
        if sock is not None:
            return sock
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a warm runtime that crashed left it
        _spawn(manifest, path, folder / f"{key}.log", env, preload)
    sock = _connect(path)
    if sock is None:
        raise WarmUnavailable(f"the warm runtime started but {path} refuses connections")
    return sock


def warm_runtime_processes() -> List[Tuple[int, List[str]]]:
    """PID and command line of every warm runtime of this user on the machine (Linux ``/proc``)."""
    found: List[Tuple[int, List[str]]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != os.getuid():
                continue
            argv = [part.decode(errors="replace") for part in (entry / "cmdline").read_bytes().split(b"\0")]
        except OSError:
            continue
        if WARM_MODULE in argv:
            found.append((int(entry.name), argv))
    return found
