"""Reading the request: one file, stdin, a descriptor, or a file delivered in parts.

Kubernetes caps a Secret at 1 MiB, so the Kubernetes backend projects a larger request as parts
named by ``launch.part_name`` (``<file>.part-0001-of-0003`` …) next to where the request option
points. The parts are joined in order only when the set is complete; a missing part is a bad
request, never a silently shorter one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from airflow_isolation.core.launch import STDIN, descriptor_of, parse_part_name, part_pattern


def read_descriptor(fd: int) -> bytes:
    """Everything ``fd`` holds from its start; it is closed afterwards, so nothing the task starts
    inherits it."""
    chunks: list[bytes] = []
    try:
        offset = 0
        while True:
            chunk = os.pread(fd, 1 << 20, offset)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            offset += len(chunk)
    finally:
        os.close(fd)


def read_request(path: str) -> bytes:
    if path == STDIN:
        return sys.stdin.buffer.read()
    fd = descriptor_of(path)
    if fd is not None:
        return read_descriptor(fd)
    target = Path(path)
    if target.exists():
        return target.read_bytes()
    parts = sorted(target.parent.glob(part_pattern(target.name))) if target.parent.is_dir() else []
    if not parts:
        return target.read_bytes()  # the usual FileNotFoundError, naming the path
    numbered = {}
    totals = set()
    for part in parts:
        parsed = parse_part_name(part.name)
        if parsed is None:
            continue
        numbered[parsed[0]] = part
        totals.add(parsed[1])
    expected = set(range(1, max(totals) + 1)) if len(totals) == 1 else set()
    if not expected or set(numbered) != expected:
        raise OSError(
            f"the request {path} arrived in parts, but the set is incomplete or mixed "
            f"(found {sorted(p.name for p in parts)}): the host must send every part of one request"
        )
    return b"".join(numbered[index].read_bytes() for index in sorted(numbered))
