"""Where environments and builds live, resolved the same way for every command.

Precedence is explicit option, then Airflow's ``[isolation]`` configuration as the operator reads
it (``AIRFLOW__ISOLATION__*`` variables, then ``airflow.cfg``), then the project's
``isolation.toml`` (found from the working directory upwards, or through
``AIRFLOW__ISOLATION__SETTINGS_FILE``), then the operator's defaults. The order and the defaults are
``airflow_isolation.workspace.locations``, shared with the operator.

Any other ``[isolation]`` option is an :class:`~airflow_isolation.workspace.settings_table.Option`
of the settings table, read by :func:`read` from the same two places a worker's Airflow reads it
(without importing Airflow), with the option's type and default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from airflow_isolation.workspace.locations import (
    BUILD_KEY,
    DEFAULTS,
    ENVIRONMENTS_KEY,
    Source,
    airflow_config_sources,
    resolve_locations,
)
from airflow_isolation.workspace.project_settings import (
    SETTINGS_FILE_VAR,
    ProjectSettings,
    find_settings_file,
    load_settings,
)
from airflow_isolation.workspace.settings_table import Option

T = TypeVar("T")

DEFAULT_ENVIRONMENTS_ORIGIN = DEFAULTS[ENVIRONMENTS_KEY].origin


@dataclass(frozen=True)
class Settings:
    """Resolved locations plus where each path came from, for messages."""

    environments_path: Path
    build_path: Path
    environments_from_option: bool
    project: ProjectSettings = field(default_factory=ProjectSettings)
    environments_origin: str = DEFAULT_ENVIRONMENTS_ORIGIN
    build_origin: str = DEFAULTS[BUILD_KEY].origin

    @property
    def settings_file(self) -> Path | None:
        return Path(self.project.source) if self.project.source else None

    @property
    def settings_file_hidden_from_workers(self) -> bool:
        """The CLI found ``isolation.toml`` from the working directory, which a worker never does:
        it reads one only through ``AIRFLOW__ISOLATION__SETTINGS_FILE``."""
        return self.settings_file is not None and not os.environ.get(SETTINGS_FILE_VAR)

    @property
    def path_args(self) -> str:
        """Arguments to repeat in a suggested follow-up command so it finds the same folder."""
        return f" -p {self.environments_path}" if self.environments_from_option else ""

    def describe_environments_source(self) -> str:
        return self.environments_origin


def resolve_settings(path: Path | None = None, build_path: Path | None = None) -> Settings:
    project = load_settings(find_settings_file())
    locations = resolve_locations(
        environments_option=Source("--path", path),
        build_option=Source("--build-path", build_path),
        airflow_config=airflow_config_sources,
        project=lambda: project,
    )
    return Settings(
        environments_path=_absolute(locations.environments.path),
        build_path=_absolute(locations.build.path),
        environments_from_option=path is not None,
        project=project,
        environments_origin=locations.environments.origin,
        build_origin=locations.build.origin,
    )


def _absolute(path: Path) -> Path:
    """Absolute and without ``..`` (paths from isolation.toml are joined to its folder)."""
    return Path(os.path.normpath(path.expanduser().absolute()))


def raw(option: Option[Any]) -> str | None:
    """The option's text as a worker's Airflow would find it: its variable, then ``airflow.cfg``."""
    for source in airflow_config_sources(option.name):
        if source.value:
            return str(source.value)
    return None


def read(option: Option[T]) -> T:
    """The option as a worker's Airflow configuration sets it, typed, else its default."""
    return option.value(raw(option))
