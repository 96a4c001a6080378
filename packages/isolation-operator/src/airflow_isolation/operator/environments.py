"""Where environment definitions and builds live on the host, from Airflow configuration.

``[isolation] environments_path`` (env ``AIRFLOW__ISOLATION__ENVIRONMENTS_PATH``), else the
project's ``isolation.toml`` (see ``settings``), defaults to ``$AIRFLOW_HOME/environments``;
``[isolation] build_path`` likewise defaults to the CLI's cache folder. The CLI reads the same
variables and file and resolves through ``airflow_isolation.workspace.locations``, so both sides
agree without importing each other.
"""

from __future__ import annotations

import os
from pathlib import Path

from airflow_isolation.operator import compat, settings
from airflow_isolation.workspace import environment as env_contract
from airflow_isolation.workspace.locations import (
    BUILD_KEY,
    ENVIRONMENTS_KEY,
    Fallback,
    Located,
    Source,
    default_build,
    locate,
)


def environments_path() -> Path:
    return _locate(ENVIRONMENTS_KEY, Fallback("default $AIRFLOW_HOME/environments", _home_environments)).path


def build_path() -> Path:
    return _locate(BUILD_KEY, default_build()).path


def _home_environments() -> Path:
    airflow_home = os.environ.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
    return Path(airflow_home) / "environments"


def _locate(key: str, fallback: Fallback) -> Located:
    """``[isolation] <key>`` from Airflow's configuration, else the same key of isolation.toml."""
    configured = Source(f"Airflow configuration [isolation] {key}", compat.get_conf("isolation", key))
    return locate(key, [configured], settings.project_settings, fallback)


def check_defined(name: str) -> None:
    """Parse-time check: the definition exists and is valid (building happens elsewhere)."""
    env_contract.load_definition(environments_path(), name)


def resolve_venv(name: str) -> env_contract.BuildManifest:
    return env_contract.resolve_venv(environments_path(), build_path(), name)


def resolve_image(name: str) -> env_contract.ImageManifest:
    return env_contract.resolve_image(environments_path(), build_path(), name)
