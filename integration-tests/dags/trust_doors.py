"""The doors an isolated task must find closed (DESIGN.md §8), tried from inside the target.

Plain Python, no Airflow: it runs in every environment of the trust probe DAG, shipped with the
task as a module of the DAGs folder. ``open_doors`` returns what it could reach, door by door; an
empty dict means every door was closed.
"""

from __future__ import annotations

import os
import socket
from typing import Dict, Mapping, Optional

MAX_PROCESSES = 4096


def _environments_holding(secret: str) -> Dict[str, str]:
    """Processes (this one included) whose environment or command line holds ``secret``."""
    found: Dict[str, str] = {}
    if secret in "\0".join(f"{k}={v}" for k, v in os.environ.items()):
        found["own environment"] = "the secret is in os.environ"
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()][:MAX_PROCESSES]
    except OSError:
        return found
    for pid in pids:
        if int(pid) == os.getpid():
            continue
        for part in ("environ", "cmdline"):
            try:
                with open(f"/proc/{pid}/{part}", "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
            if secret.encode() in data:
                found[f"process {pid} {part}"] = f"/proc/{pid}/{part} holds the secret"
    return found


def _reachable(path: str) -> Optional[str]:
    """How ``path`` can be reached: read (a file), listed (a folder), connected (a socket)."""
    try:
        if os.path.isdir(path):
            return f"listed {path}: {sorted(os.listdir(path))[:5]}"
        if path.endswith(".sock") or path.endswith("docker.sock"):
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(2)
                sock.connect(path)
            return f"connected to {path}"
        with open(path, "rb") as handle:
            return f"read {len(handle.read(64))} bytes of {path}"
    except OSError:
        return None


def _loopback(port: int) -> Optional[str]:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return f"connected to 127.0.0.1:{port}"
    except OSError:
        return None


def open_doors(secret: str, paths: Mapping[str, str], loopback_port: Optional[int] = None) -> Dict[str, str]:
    """Every door of ``paths`` (door name → a path of the worker) and of the process table the
    task could open, with what it found behind it; ``loopback_port`` is tried when given."""
    found = _environments_holding(secret)
    for door, path in paths.items():
        if path:
            reached = _reachable(path)
            if reached is not None:
                found[door] = reached
    if loopback_port:
        reached = _loopback(loopback_port)
        if reached is not None:
            found["network"] = reached
    return found


def probe(secret: str, paths: Mapping[str, str], loopback_port: Optional[int] = None) -> Dict[str, str]:
    """The task: fail naming every open door, else return the (empty) findings. A callable travels
    as its own source: what it uses of this module it imports, so the module travels too."""
    from trust_doors import open_doors

    found = open_doors(secret, paths, loopback_port)
    if found:
        raise RuntimeError("open doors: " + "; ".join(f"{door}: {what}" for door, what in found.items()))
    return found
