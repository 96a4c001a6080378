"""Where environment definitions and builds live on the host, from Airflow configuration.

``[isolation] environments_path`` (env ``AIRFLOW__ISOLATION__ENVIRONMENTS_PATH``), else the
project's ``isolation.toml`` (see ``settings``), defaults to ``$AIRFLOW_HOME/environments``;
``[isolation] build_path`` likewise defaults to the CLI's cache folder. The CLI reads the same
variables and file, so both sides agree without importing each other.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from airflow_isolation.core import environment as env_contract
from airflow_isolation.operator import compat, settings


def environments_path() -> Path:
    configured = _configured_path("environments_path")
    if configured is not None:
        return configured
    airflow_home = os.environ.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
    return Path(airflow_home) / "environments"


def build_path() -> Path:
    configured = _configured_path("build_path")
    return configured if configured is not None else env_contract.default_build_path()


def _configured_path(key: str) -> Optional[Path]:
    """``[isolation] <key>`` from Airflow's configuration, else the same key of isolation.toml."""
    configured = compat.get_conf("isolation", key)
    if configured:
        return Path(configured)
    project = settings.project_settings()
    return project.resolve(getattr(project, key)) if project is not None else None


def check_defined(name: str) -> None:
    """Parse-time check: the definition exists and is valid (building happens elsewhere)."""
    env_contract.load_definition(environments_path(), name)


def resolve_venv(name: str) -> env_contract.BuildManifest:
    return env_contract.resolve_venv(environments_path(), build_path(), name)


def resolve_image(name: str) -> env_contract.ImageManifest:
    return env_contract.resolve_image(environments_path(), build_path(), name)
