"""``backend_options={"run_as_user": "etl"}``: the venv target as another Unix user, by ``sudo``.

Airflow's own impersonation (``run_as_user``) runs a task's whole process with ``sudo -E -H -u``;
this runs only the target so, for deployments where the worker's uid must not be shared at all:
the target then cannot signal, trace or read the files of any process of the worker's user, sandbox
or not. It follows Airflow's convention and needs what Airflow's needs: ``sudo`` on the worker and
a worker user allowed to run commands as that user without a password (``airflow ALL=(ALL)
NOPASSWD: ALL``, or narrower: ``(etl) NOPASSWD: ALL`` plus ``chown``). A worker running as root
needs nothing more.

What changes around the target, and why:

* ``sudo -n -E -u USER -- env PATH=...``: ``-E`` keeps the allowlisted environment (a ``NOPASSWD:
  ALL`` rule implies the ``SETENV`` it needs), ``env`` puts back the venv's ``PATH``, which
  ``secure_path`` replaces.
* The run folder is handed to the user for the run and taken back after it (``chown``, as Airflow
  does with the config file of an impersonated task), so the target reads its request and writes
  its result there, and the worker reads the result and removes the folder.
* ``sudo`` is setuid, which clears the kernel's parent-death signal, and it closes every
  descriptor above 2: the target's stdin is the worker's lifeline instead (``ISOLATION_LIFELINE_FD``
  = 0, the runtime's ``process.lifeline``), so a killed worker still takes its target along.
* A worker that is not root cannot signal a process of another user (nor ``sudo``'s, root's):
  signals go through ``sudo -n -u USER kill``, as Airflow's ``reap_process_group`` does.

Warm starts do not apply: a warm runtime runs as the worker's user, so such tasks start cold and
say so in their log.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Sequence

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*\$?$")
_SUDO_SECONDS = 30.0
SUDOERS_HINT = (
    "allow the worker's user to run commands as {user} without a password, as Airflow's own "
    "run_as_user needs (sudoers: `airflow ALL=(ALL) NOPASSWD: ALL`, or `airflow ALL=({user}) "
    "NOPASSWD: ALL` plus `airflow ALL=(root) NOPASSWD: /usr/bin/chown`)"
)


class ImpersonationError(RuntimeError):
    """``run_as_user`` cannot be honoured on this worker; the message names the fix."""


def check_user_name(name: str) -> str:
    """At parse time: a name ``sudo -u`` takes as one user (whether it exists is the worker's)."""
    if not _NAME.match(name):
        raise ValueError(
            f"run_as_user={name!r} is not a Unix user name: use the name of a user of the worker, e.g. 'etl'"
        )
    return name


@dataclass(frozen=True)
class Impersonation:
    user: str
    uid: int
    gid: int
    home: str
    """The user's home: ``HOME`` of an unsandboxed target, as ``sudo -H`` sets it for Airflow."""
    sudo: str
    """The absolute path of ``sudo``, found on the worker's ``PATH``, not the target's."""

    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def command(self, command: Sequence[str], path: str) -> List[str]:
        return [self.sudo, "-n", "-E", "-u", self.user, "--", "/usr/bin/env", f"PATH={path}", *command]

    def hand_over(self, folder: Path) -> None:
        """``folder`` and what is in it, owned by the user for the run."""
        self._chown(folder, self.uid, self.gid)

    def take_back(self, folder: Path) -> None:
        """``folder`` owned by the worker's user again, to read the result and remove it."""
        self._chown(folder, os.getuid(), os.getgid())

    def _chown(self, folder: Path, uid: int, gid: int) -> None:
        if self._as_root:
            for root, dirs, files in os.walk(folder):
                for name in [*dirs, *files]:
                    os.lchown(os.path.join(root, name), uid, gid)
            os.lchown(folder, uid, gid)
            return
        self._sudo(["chown", "-R", f"{uid}:{gid}", str(folder)], as_user="root")

    def signal(self, pids: Iterable[int], sig: int) -> None:
        """Send ``sig`` to the user's processes ``pids`` (a negative PID is a process group)."""
        targets = list(pids)
        if not targets:
            return
        if self._as_root:
            for pid in targets:
                try:
                    os.killpg(-pid, sig) if pid < 0 else os.kill(pid, sig)
                except ProcessLookupError:
                    continue
            return
        self._sudo(["kill", f"-{int(sig)}", "--", *map(str, targets)], as_user=self.user, check=False)

    def _sudo(self, args: List[str], *, as_user: str, check: bool = True) -> None:
        proc = subprocess.run(
            [self.sudo, "-n", "-u", as_user, "--", *args],
            capture_output=True,
            text=True,
            timeout=_SUDO_SECONDS,
            check=False,
        )
        if check and proc.returncode != 0:
            said = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
            raise ImpersonationError(
                f"run_as_user={self.user!r}: `sudo -n -u {as_user} {args[0]}` failed ({said}): "
                + SUDOERS_HINT.format(user=self.user)
            )


def impersonation(user: str) -> Impersonation:
    """The worker's way to run a target as ``user``, checked now so the task fails before it runs
    with what to fix, rather than with whatever ``sudo`` says in the middle of it."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise ImpersonationError(
            f"run_as_user={user!r} is not a user on this worker ({os.uname().nodename}): create it "
            "(useradd), or run the task where it exists"
        ) from None
    sudo = shutil.which("sudo")
    if sudo is None:
        raise ImpersonationError(
            f"run_as_user={user!r} needs sudo on this worker, as Airflow's own run_as_user does: "
            "install it (apt-get install sudo)"
        )
    found = Impersonation(user, entry.pw_uid, entry.pw_gid, entry.pw_dir, sudo)
    if os.geteuid() != 0:
        found._sudo(["true"], as_user=user)
    return found
