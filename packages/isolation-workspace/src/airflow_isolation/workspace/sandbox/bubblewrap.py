"""The ``bwrap`` command line of a sandbox: the fixed part, then the profile's.

The order matters to bubblewrap, which applies its options one after the other: the private
``/tmp`` comes before anything bound below it (a venv or run folder in the temp directory), and
what must stay hidden is covered last. Everything the sandbox is told is in its command line, never
in its environment, and nothing in it is secret: the environment (``environment``) is passed as the
process's own, and the request travels in the run folder or by descriptor.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from airflow_isolation.workspace.locations import airflow_config_file, airflow_home
from airflow_isolation.workspace.sandbox.profile import SANDBOX_HOME, SandboxProfile

NAMESPACES = (
    "--unshare-user",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--disable-userns",
)
"""Its own user (mapped to the worker's uid), PID, IPC, UTS and cgroup namespaces; no further user
namespace inside (a kernel's user-namespace code is where its escapes are found)."""

DIE_WITH_PARENT = "--die-with-parent"
"""A task's sandbox ends with the worker process that started it. A warm runtime's does not: the
task that happened to start it ends long before the other tasks it serves, and the runtime ends
itself when idle (``runtime.warm``)."""

SYSTEM_TREES = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
"""Bound read-only (or recreated as the symbolic links they are on merged-/usr systems)."""

_RESOLVER_FILES = ("/etc/resolv.conf", "/etc/hosts")
"""Often links into ``/run``, which is not bound: their targets are, so names still resolve."""


def interpreter_links(venv: Path) -> List[Tuple[str, str]]:
    """The symbolic links from the venv's ``bin/python`` to the real interpreter, as ``(target,
    link)``: the links outside the venv are made again in the sandbox (a venv's interpreter is a
    link to its base Python, often through a folder of links such as pyenv's or uv's)."""
    links: List[Tuple[str, str]] = []
    path = str(venv / "bin" / "python")
    for _ in range(40):  # the kernel's own limit on a chain of links
        if not os.path.islink(path):
            break
        target = os.readlink(path)
        links.append((target, path))
        path = os.path.normpath(os.path.join(os.path.dirname(path), target))
    return links


def base_prefix(venv: Path) -> Optional[Path]:
    """The installation the venv's interpreter comes from: the folder above the real
    interpreter's ``bin``."""
    real = Path(os.path.realpath(venv / "bin" / "python"))
    return real.parent.parent if real.exists() else None


def _system(args: List[str]) -> None:
    for tree in SYSTEM_TREES:
        if os.path.islink(tree):
            args += ["--symlink", os.readlink(tree), tree]
        elif os.path.isdir(tree):
            args += ["--ro-bind", tree, tree]
    for name in _RESOLVER_FILES:
        if os.path.islink(name):
            target = os.path.realpath(name)
            if not target.startswith("/etc/") and os.path.exists(target):
                args += ["--ro-bind", target, target]


def _under(path: str, trees: Sequence[str]) -> bool:
    return any(path == tree or path.startswith(tree.rstrip("/") + "/") for tree in trees)


def worker_paths() -> List[str]:
    """The worker's own paths a bound tree may hold (``AIRFLOW_CONFIG`` under ``/etc``)."""
    return [str(airflow_home()), str(airflow_config_file())]


def sandbox_command(
    profile: SandboxProfile,
    venv: Path,
    *,
    bwrap: str = "bwrap",
    writable: Sequence[Path] = (),
    hide: Optional[Sequence[str]] = None,
    chdir: str = SANDBOX_HOME,
    info_fd: Optional[int] = None,
    die_with_parent: bool = True,
) -> List[str]:
    """``bwrap ... --``: what goes in front of the target's command.

    ``writable``: the run folder (bound read-write at its own path). ``hide``: the worker's paths
    that must not be seen should they lie in a bound tree (default :func:`worker_paths`): covered
    by an empty folder or file. ``info_fd``: where bubblewrap writes the
    host PID of the sandbox's first process, as JSON. ``die_with_parent``: see :data:`DIE_WITH_PARENT`.
    """
    args = [bwrap, *NAMESPACES, *([DIE_WITH_PARENT] if die_with_parent else [])]
    if not profile.network:
        args.append("--unshare-net")
    _system(args)
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", SANDBOX_HOME]
    bound = [tree for tree in SYSTEM_TREES if os.path.isdir(tree) and not os.path.islink(tree)]
    prefix = base_prefix(venv)
    if prefix is not None and not _under(str(prefix), bound):
        args += ["--ro-bind", str(prefix), str(prefix)]
        bound.append(str(prefix))
    args += ["--ro-bind", str(venv), str(venv)]
    bound.append(str(venv))
    for target, link in interpreter_links(venv):
        if not _under(link, bound):
            args += ["--symlink", target, link]
    airflow_home = venv / "airflow-home"
    if airflow_home.is_dir():
        args += ["--tmpfs", str(airflow_home)]  # Airflow writes its default config there
    for folder in writable:
        args += ["--bind", str(folder), str(folder)]
    for mount in profile.mounts:
        args += ["--ro-bind" if mount.read_only else "--bind", mount.source, mount.target]
    for path in worker_paths() if hide is None else hide:
        resolved = os.path.realpath(path)
        if not _under(resolved, bound):
            continue
        if os.path.isdir(resolved):
            args += ["--tmpfs", resolved]
        elif os.path.exists(resolved):
            args += ["--ro-bind", os.devnull, resolved]
    args += ["--chdir", chdir]
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    return [*args, "--"]


def signal_exit_code(code: int) -> int:
    """A sandboxed target's exit code as ``subprocess`` reports an unsandboxed one: bubblewrap
    exits with 128 + the signal that ended its command, ``subprocess`` says minus the signal."""
    number = code - 128
    if 0 < number < signal.NSIG:
        return -number
    return code
