"""Finding and removing the standby containers (Docker backend) a test session's tasks left waiting.

Standby containers exit after ``[isolation] warm_runtime_idle_seconds`` on their own; a test session
removes the ones of its build path (their ``standby-scope`` label names its claim folder) at its end, so
none outlives it, and checks that none it leaves is claimed or dead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List

from airflow_isolation.operator.backends.docker import labels, standby


def claim_folder(build_path: Path) -> Path:
    return Path(build_path) / f"docker-standby-{os.getuid()}"


def standby_containers(client: Any, build_path: Path) -> List[Dict[str, Any]]:
    """Every standby container whose claims are made under ``build_path``, from the engine's list."""
    scope = standby.scope(claim_folder(build_path))
    return list(client.api.containers(all=True, filters={"label": [f"{labels.STANDBY_SCOPE}={scope}"]}))


def remove_standby_containers(client: Any, build_path: Path) -> List[str]:
    """Remove them; return what was wrong with any (claimed, or not running), for the caller to
    assert on."""
    problems = []
    folder = claim_folder(build_path)
    for container in standby_containers(client, build_path):
        if container["State"] != "running":
            problems.append(f"{container['Names']} was left {container['State']}")
        if (folder / f"{container['Id']}.claim").exists():
            problems.append(f"{container['Names']} was left claimed")
        client.api.remove_container(container["Id"], force=True)
    return problems
