"""Where environments and builds live, resolved the same way for every command.

Precedence is explicit option, then the variables the operator also reads (so the CLI and the
Airflow host agree without extra configuration), then the project's ``isolation.toml`` (found from
the working directory upwards, or through ``AIRFLOW__ISOLATION__SETTINGS_FILE``), then a default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from airflow_isolation.core.environment import BUILD_PATH_VAR, ENVIRONMENTS_PATH_VAR, default_build_path
from airflow_isolation.core.project_settings import ProjectSettings, find_settings_file, load_settings

DEFAULT_ENVIRONMENTS_PATH = Path("environments")


@dataclass(frozen=True)
class Settings:
    """Resolved locations plus where the environments path came from, for messages."""

    environments_path: Path
    build_path: Path
    environments_from_option: bool
    project: ProjectSettings = field(default_factory=ProjectSettings)

    @property
    def settings_file(self) -> Path | None:
        return Path(self.project.source) if self.project.source else None

    @property
    def path_args(self) -> str:
        """Arguments to repeat in a suggested follow-up command so it finds the same folder."""
        return f" -p {self.environments_path}" if self.environments_from_option else ""

    def describe_environments_source(self) -> str:
        if self.environments_from_option:
            return "--path"
        if os.environ.get(ENVIRONMENTS_PATH_VAR):
            return f"${ENVIRONMENTS_PATH_VAR}"
        if self.project.environments_path is not None:
            return f"environments_path in {self.settings_file}"
        return f"default ./{DEFAULT_ENVIRONMENTS_PATH}"


def resolve_settings(path: Path | None = None, build_path: Path | None = None) -> Settings:
    project = load_settings(find_settings_file())
    if path is not None:
        environments = path
    elif os.environ.get(ENVIRONMENTS_PATH_VAR):
        environments = Path(os.environ[ENVIRONMENTS_PATH_VAR])
    else:
        environments = project.resolve(project.environments_path) or DEFAULT_ENVIRONMENTS_PATH
    if build_path is not None:
        build = build_path
    elif os.environ.get(BUILD_PATH_VAR):
        build = Path(os.environ[BUILD_PATH_VAR])
    else:
        build = project.resolve(project.build_path) or default_build_path()
    return Settings(
        environments_path=_absolute(environments),
        build_path=_absolute(build),
        environments_from_option=path is not None,
        project=project,
    )


def _absolute(path: Path) -> Path:
    """Absolute and without ``..`` (paths from isolation.toml are joined to its folder)."""
    return Path(os.path.normpath(path.expanduser().absolute()))
