"""A lock file held across processes, shared by the CLI's builds and the operator's warm runtimes.

``flock`` rather than a PID file: the kernel releases it when its holder dies, so a crashed build
or worker never leaves a lock someone has to remove by hand.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def held_lock(path: Path, mode: int = 0o600) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created with ``mode`` if missing), waiting for it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
