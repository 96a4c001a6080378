"""Where environments and builds live, resolved the same way for every command.

Precedence is explicit option, then the variables the operator also reads (so the CLI and the
Airflow host agree without extra configuration), then the project's ``isolation.toml`` (found from
the working directory upwards, or through ``AIRFLOW__ISOLATION__SETTINGS_FILE``), then a default.
The resolution itself is ``airflow_isolation.workspace.locations``, shared with the operator.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from airflow_isolation.workspace.environment import BUILD_PATH_VAR, ENVIRONMENTS_PATH_VAR
from airflow_isolation.workspace.locations import Fallback, Source, environment_variable, resolve_locations
from airflow_isolation.workspace.project_settings import ProjectSettings, find_settings_file, load_settings

DEFAULT_ENVIRONMENTS_PATH = Path("environments")
DEFAULT_ENVIRONMENTS_ORIGIN = f"default ./{DEFAULT_ENVIRONMENTS_PATH}"


@dataclass(frozen=True)
class Settings:
    """Resolved locations plus where the environments path came from, for messages."""

    environments_path: Path
    build_path: Path
    environments_from_option: bool
    project: ProjectSettings = field(default_factory=ProjectSettings)
    environments_origin: str = DEFAULT_ENVIRONMENTS_ORIGIN

    @property
    def settings_file(self) -> Path | None:
        return Path(self.project.source) if self.project.source else None

    @property
    def path_args(self) -> str:
        """Arguments to repeat in a suggested follow-up command so it finds the same folder."""
        return f" -p {self.environments_path}" if self.environments_from_option else ""

    def describe_environments_source(self) -> str:
        return self.environments_origin


def resolve_settings(path: Path | None = None, build_path: Path | None = None) -> Settings:
    project = load_settings(find_settings_file())
    locations = resolve_locations(
        environments=[Source("--path", path), environment_variable(ENVIRONMENTS_PATH_VAR)],
        build=[Source("--build-path", build_path), environment_variable(BUILD_PATH_VAR)],
        project=project,
        default_environments=Fallback(DEFAULT_ENVIRONMENTS_ORIGIN, lambda: DEFAULT_ENVIRONMENTS_PATH),
    )
    return Settings(
        environments_path=_absolute(locations.environments.path),
        build_path=_absolute(locations.build.path),
        environments_from_option=path is not None,
        project=project,
        environments_origin=locations.environments.origin,
    )


def _absolute(path: Path) -> Path:
    """Absolute and without ``..`` (paths from isolation.toml are joined to its folder)."""
    return Path(os.path.normpath(path.expanduser().absolute()))
