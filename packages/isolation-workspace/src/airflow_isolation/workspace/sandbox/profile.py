"""What one sandbox looks like beyond the fixed part: the paths a task mounts and its network.

Tasks whose profiles are equal can share a warm runtime (one sandbox per build and profile, see
``workspace.warm.paths``); the profile's ``key`` names it.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass
from typing import Tuple

SANDBOX_HOME = "/tmp/home"
"""``HOME`` in the sandbox: inside its private ``/tmp``."""

_HIDDEN_TARGETS = ("/", "/proc", "/dev", "/tmp", "/usr", "/etc")


@dataclass(frozen=True)
class BindMount:
    """A path of the worker made visible in the sandbox, as the docker backend's ``mounts``."""

    source: str
    target: str
    read_only: bool = True

    def __post_init__(self) -> None:
        for what, path in (("source", self.source), ("target", self.target)):
            if not posixpath.isabs(path):
                raise ValueError(f"mount {what} {path!r} must be an absolute path")
        if posixpath.normpath(self.target) in _HIDDEN_TARGETS:
            raise ValueError(
                f"mount target {self.target!r} would hide what the sandbox needs there: mount "
                "somewhere below it instead, e.g. /data"
            )


@dataclass(frozen=True)
class SandboxProfile:
    network: bool = True
    """``False``: a network namespace of its own, with only a loopback device nobody else is on."""
    mounts: Tuple[BindMount, ...] = ()

    @property
    def key(self) -> str:
        """A short name of this profile, the same for equal profiles on every worker."""
        text = repr((self.network, [(m.source, m.target, m.read_only) for m in self.mounts]))
        return hashlib.sha256(text.encode()).hexdigest()[:12]
