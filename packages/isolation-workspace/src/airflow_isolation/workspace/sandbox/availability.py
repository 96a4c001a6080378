"""Whether this worker can have the sandbox, and if not, why, in words that name the fix.

Tried for real, once per process: ``bwrap`` with the sandbox's namespaces runs ``true``. What it
says when it cannot is the reason: unprivileged user namespaces turned off by the kernel
(``kernel.unprivileged_userns_clone = 0``, ``user.max_user_namespaces = 0``, an AppArmor policy),
or forbidden by the worker's own container (Docker's and containerd's default seccomp profiles
refuse ``unshare`` of a user namespace, and their masked ``/proc`` paths refuse a new ``/proc``
mount), or no ``bwrap`` at all.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass
from typing import Optional

from airflow_isolation.workspace.sandbox.bubblewrap import NAMESPACES

_PROBE_SECONDS = 10.0

INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; RHEL/Fedora: dnf install bubblewrap)"
)
NAMESPACE_HINT = (
    "allow unprivileged user namespaces on this machine (sysctl kernel.unprivileged_userns_clone=1 "
    "and user.max_user_namespaces > 0), or, for a worker in a container, let it create them and "
    "mount its own /proc (Docker: --security-opt seccomp=unconfined --security-opt "
    "systempaths=unconfined; Kubernetes: procMount Unmasked and a seccomp profile that allows them) — see "
    "the docs' venv backend page, 'Where the sandbox holds'"
)


@dataclass(frozen=True)
class Availability:
    usable: bool
    reason: str
    """Why not (with the fix), or what is used (``bubblewrap 0.8.0 at /usr/bin/bwrap``)."""
    bwrap: Optional[str] = None


def _version(bwrap: str) -> str:
    try:
        proc = subprocess.run(
            [bwrap, "--version"], capture_output=True, text=True, timeout=_PROBE_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "bubblewrap"
    return proc.stdout.strip() or "bubblewrap"


@functools.cache
def availability(bwrap: Optional[str] = None) -> Availability:
    """Whether ``bwrap`` (default: the one on ``PATH``) can build the sandbox here."""
    found = bwrap or shutil.which("bwrap")
    if found is None:
        return Availability(False, f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}")
    command = [found, *NAMESPACES, "--ro-bind", "/", "/", "--proc", "/proc", "--", "true"]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=_PROBE_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Availability(False, f"{found} could not be run ({exc}): {INSTALL_HINT}", found)
    if proc.returncode != 0:
        said = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
        if "unrecognized option" in said or "Unknown option" in said:
            return Availability(
                False, f"{found} is too old ({said}): bubblewrap 0.8 or later is needed", found
            )
        return Availability(
            False, f"bubblewrap cannot create the sandbox's namespaces here ({said}): {NAMESPACE_HINT}", found
        )
    return Availability(True, f"{_version(found)} at {found}", found)
