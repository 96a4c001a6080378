"""Where environment definitions and builds live on the host, from Airflow configuration.

``[isolation] environments_path`` / ``build_path`` from Airflow's configuration, else the project's
``isolation.toml`` named by ``AIRFLOW__ISOLATION__SETTINGS_FILE`` (see ``settings``), else the shared
defaults. The order and the defaults are ``airflow_isolation.workspace.locations``, which the CLI
resolves through too, so both sides agree without importing each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

from airflow_isolation.operator import airflow_compat
from airflow_isolation.operator.config import settings
from airflow_isolation.workspace import environment as env_contract
from airflow_isolation.workspace.locations import (
    Locations,
    Source,
    airflow_config_origin,
    resolve_locations,
)


def locations() -> Locations:
    return resolve_locations(airflow_config=_airflow_config, project=settings.project_settings)


def environments_path() -> Path:
    return locations().environments.path


def build_path() -> Path:
    return locations().build.path


def _airflow_config(key: str) -> List[Source]:
    return [Source(airflow_config_origin(key), airflow_compat.get_conf("isolation", key))]


def check_defined(name: str) -> None:
    """Parse-time check: the definition exists and is valid (building happens elsewhere)."""
    env_contract.load_definition(environments_path(), name)


def resolve_venv(name: str) -> env_contract.BuildManifest:
    return env_contract.resolve_venv(environments_path(), build_path(), name)


def resolve_image(name: str) -> env_contract.ImageManifest:
    return env_contract.resolve_image(environments_path(), build_path(), name)
