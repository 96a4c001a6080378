"""Where the warm runtime of an environment build listens, and starting, finding and stopping it.

One warm runtime (``python -m airflow_isolation.runtime.warm``, see ``core.warm_protocol``) per
machine, user and build: its socket is named after the uid and a digest of the build's folder,
content hash and build time, so a rebuild gets a new one (the old one idles out) and nothing is
ever shared between users or builds. The socket lives in a 0700 folder of this user
(``$XDG_RUNTIME_DIR/airflow-isolation-warm``, else ``<build_path>/warm-<uid>``, else one in the
temp directory when those paths are too long for a Unix socket); the runtime refuses other uids on
top of that. It is started detached, in a session of its own, with the cold target's environment
(no ``AIRFLOW_*``, no run marker, no request digest), under a lock so concurrent starts make one.

The venv backend starts it on a task's first use; ``isolationctl env warm`` starts it ahead of the
first task, ``env warm --stop`` stops it and ``isolationctl doctor`` shows it: one implementation,
here, so both agree on the socket. How long it waits for a task before it exits is
``[isolation] warm_runtime_idle_seconds`` (``workspace.settings_table``), read by each caller.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence

from airflow_isolation.core import launch
from airflow_isolation.workspace.environment import BuildManifest
from airflow_isolation.workspace.flock import held_flock

WARM_MODULE = launch.WARM_RUNTIME_MODULE
START_TIMEOUT_SECONDS = 120.0
"""Imports of Airflow and a preload list (pandas…) on a busy machine; a task waits for it once."""
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes with the NUL
_SOCKET_OPTION = "--socket"
_PROC = Path("/proc")


class WarmUnavailable(Exception):
    """The warm runtime cannot take a task; the task starts cold."""


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


def build_key(manifest: BuildManifest) -> str:
    """Per uid and build: a rebuild, even a forced one into the same folder, gets a new runtime."""
    build = f"{manifest.venv_path}\0{manifest.content_hash}\0{manifest.built_at}"
    digest = hashlib.sha256(build.encode()).hexdigest()
    return f"{os.getuid()}-{digest[:20]}"


def private_folder(path: Path) -> Path:
    """``path`` as a 0700 folder of this uid, made if missing; refuses one another uid owns."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise WarmUnavailable(f"{path} is not a folder of uid {os.getuid()}: remove it or fix its owner")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


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


def socket_path(manifest: BuildManifest, build_path: Path) -> Path:
    return socket_folder(build_path) / f"{build_key(manifest)}.sock"


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
    command = [str(manifest.interpreter), "-m", WARM_MODULE, _SOCKET_OPTION, str(path),
               "--idle", str(idle), "--ready-fd", str(ready_write)]  # fmt: skip
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


def _argv(pid: int) -> List[str]:
    raw = (_PROC / str(pid) / "cmdline").read_bytes()
    return [part.decode(errors="replace") for part in raw.split(b"\0")]


def _rss_bytes(pid: int) -> Optional[int]:
    try:
        for line in (_PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _parent(pid: int) -> int:
    try:
        return int((_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def warm_runtime_processes() -> List[WarmProcess]:
    """Every warm runtime of this user on the machine (Linux ``/proc``; elsewhere none); not the
    children it forked, which show its command line too."""
    found: List[WarmProcess] = []
    try:
        entries = list(_PROC.iterdir())
    except OSError:
        return found
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != os.getuid():
                continue
            argv = _argv(int(entry.name))
        except OSError:
            continue
        if WARM_MODULE not in argv or _SOCKET_OPTION not in argv[:-1]:
            continue
        path = Path(argv[argv.index(_SOCKET_OPTION) + 1])
        found.append(WarmProcess(int(entry.name), argv[0], path, _rss_bytes(int(entry.name))))
    pids = {process.pid for process in found}
    return [process for process in found if _parent(process.pid) not in pids]


def running(manifest: BuildManifest) -> List[WarmProcess]:
    """The warm runtimes of this build (whatever socket folder they were started with)."""
    name = f"{build_key(manifest)}.sock"
    return [process for process in warm_runtime_processes() if process.socket.name == name]


def _wait_gone(pid: int, timeout: float) -> bool:
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    except (OSError, AttributeError):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not (_PROC / str(pid)).exists():
                return True
            time.sleep(0.05)
        return False
    try:
        readable, _, _ = select.select([pidfd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(pidfd)


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
    return stopped
