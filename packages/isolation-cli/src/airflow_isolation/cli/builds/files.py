"""File primitives every build relies on: a per-environment lock and atomic replacement.

A reader (the operator, ``env list``) must see the old or the new manifest, never half of one, and
two builds of one environment must never interleave; both hold across processes and survive a
crash (the lock dies with its process, a temp file never replaces the real one).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from airflow_isolation.cli.ui import Steps
from airflow_isolation.workspace.flock import held_flock


@contextmanager
def exclusive_lock(path: Path, steps: Steps) -> Iterator[None]:
    """Serialise builds of one environment across processes; released when the process dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with held_flock(
        path, 0o644, while_waiting=lambda: steps.step(f"waiting for another build holding {path}")
    ):
        yield


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one rename, after the bytes are on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_json_atomic(path: Path, value: object) -> None:
    """``value`` (a msgspec Struct) as indented JSON, atomically: manifests are read by humans too."""
    write_atomic(path, msgspec.json.format(msgspec.json.encode(value)) + b"\n")
