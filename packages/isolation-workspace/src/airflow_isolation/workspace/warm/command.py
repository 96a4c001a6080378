"""The warm runtime's command line: built to start one, read back to find one.

A warm runtime is found by its command line alone (``processes``), so what ``server_command``
writes and what ``socket_of`` reads are kept side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

from airflow_isolation.core import launch

WARM_MODULE = launch.WARM_RUNTIME_MODULE
SOCKET_OPTION = "--socket"


def server_command(
    interpreter: str,
    socket: Path,
    idle: float,
    ready_fd: int,
    preload: Sequence[str],
    *,
    listen_fd: Optional[int] = None,
) -> List[str]:
    """``<interpreter> -m airflow_isolation.runtime.warm --socket PATH --idle S --ready-fd N
    [--listen-fd N] [--preload MODULE]...``; with ``--listen-fd`` the socket at ``PATH`` is bound
    by the host, and the runtime serves the descriptor."""
    command = [interpreter, "-m", WARM_MODULE, SOCKET_OPTION, str(socket),
               "--idle", str(idle), "--ready-fd", str(ready_fd)]  # fmt: skip
    if listen_fd is not None:
        command += ["--listen-fd", str(listen_fd)]
    for module in preload:
        command += ["--preload", module]
    return command


def socket_of(argv: Sequence[str]) -> Optional[Path]:
    """The socket a warm runtime with this command line listens on; ``None`` for any other process
    (its forked children show the same command line: ``processes`` tells them apart)."""
    if WARM_MODULE not in argv or SOCKET_OPTION not in argv[:-1]:
        return None
    return Path(argv[list(argv).index(SOCKET_OPTION) + 1])
