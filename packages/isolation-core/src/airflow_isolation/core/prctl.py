"""Linux ``prctl(2)``, looked up once, for the process settings a launch relies on.

The venv backend's cold target asks for ``PR_SET_PDEATHSIG`` (it dies with its worker); a warm
runtime and its children ask for ``PR_SET_CHILD_SUBREAPER`` (every process a task starts stays
below them); a warm child clears ``PR_SET_DUMPABLE`` (tasks of one warm runtime cannot read each
other through ``/proc`` or trace each other). Looked up at import, not in the process that
needs it: the first runs between ``fork`` and ``exec`` of a possibly threaded worker, the
others in each forked child, where a lookup would cost time on every task. ``None`` off Linux.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any, Optional

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


def _lookup() -> Optional[Any]:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    function.restype = ctypes.c_int
    return function


PRCTL: Optional[Any] = _lookup()
"""``prctl(option, arg2, arg3, arg4, arg5) -> int`` (0 on success), or ``None`` off Linux."""
