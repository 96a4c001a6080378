"""One ``flock`` helper for every cross-process exclusion on the host: builds of one environment, the
wheel server, a warm runtime's start, the Docker backend's standby containers.

``flock`` rather than a PID file: the kernel releases it when its holder dies, so a crashed build or
worker never leaves a file someone has to remove by hand.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Optional


@contextmanager
def held_flock(
    path: Path,
    mode: int = 0o600,
    *,
    wait: bool = True,
    while_waiting: Optional[Callable[[], AbstractContextManager[object]]] = None,
) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` (created with ``mode`` if missing); yield whether held.

    ``wait=False`` yields ``False`` at once when another process holds it. With ``wait``, the context
    ``while_waiting()`` gives is held while blocked, so a caller can show what it waits for.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, mode)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                yield False
                return
            with while_waiting() if while_waiting is not None else nullcontext():
                fcntl.flock(fd, fcntl.LOCK_EX)
        yield True
    finally:
        os.close(fd)
