"""Reading the request: one file, stdin, or a file delivered in parts.

Kubernetes caps a Secret at 1 MiB, so the Kubernetes backend projects a larger request as
``<file>.part-0001-of-0003`` … next to where ``--request`` points. The parts are joined in order
only when the set is complete; a missing part is a bad request, never a silently shorter one.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_PART = re.compile(r"\.part-(\d{4})-of-(\d{4})$")


def read_request(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    target = Path(path)
    if target.exists():
        return target.read_bytes()
    parts = sorted(target.parent.glob(f"{target.name}.part-*-of-*")) if target.parent.is_dir() else []
    if not parts:
        return target.read_bytes()  # the usual FileNotFoundError, naming the path
    numbered = {}
    totals = set()
    for part in parts:
        match = _PART.search(part.name)
        if match is None:
            continue
        numbered[int(match.group(1))] = part
        totals.add(int(match.group(2)))
    expected = set(range(1, max(totals) + 1)) if len(totals) == 1 else set()
    if not expected or set(numbered) != expected:
        raise OSError(
            f"the request {path} arrived in parts, but the set is incomplete or mixed "
            f"(found {sorted(p.name for p in parts)}): the host must send every part of one request"
        )
    return b"".join(numbered[index].read_bytes() for index in sorted(numbered))
