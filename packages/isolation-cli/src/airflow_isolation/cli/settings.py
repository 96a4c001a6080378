"""Where environments and builds live, resolved the same way for every command.

Precedence is explicit option, then the variables the operator also reads (so the CLI and the
Airflow host agree without extra configuration), then a default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from airflow_isolation.core.environment import ENVIRONMENTS_PATH_VAR, default_build_path

DEFAULT_ENVIRONMENTS_PATH = Path("environments")


@dataclass(frozen=True)
class Settings:
    """Resolved locations plus where the environments path came from, for messages."""

    environments_path: Path
    build_path: Path
    environments_from_option: bool

    @property
    def path_args(self) -> str:
        """Arguments to repeat in a suggested follow-up command so it finds the same folder."""
        return f" -p {self.environments_path}" if self.environments_from_option else ""

    def describe_environments_source(self) -> str:
        if self.environments_from_option:
            return "--path"
        if os.environ.get(ENVIRONMENTS_PATH_VAR):
            return f"${ENVIRONMENTS_PATH_VAR}"
        return f"default ./{DEFAULT_ENVIRONMENTS_PATH}"


def resolve_settings(path: Path | None = None, build_path: Path | None = None) -> Settings:
    if path is not None:
        environments = path
    elif os.environ.get(ENVIRONMENTS_PATH_VAR):
        environments = Path(os.environ[ENVIRONMENTS_PATH_VAR])
    else:
        environments = DEFAULT_ENVIRONMENTS_PATH
    build = build_path if build_path is not None else default_build_path()
    return Settings(
        environments_path=environments.expanduser().absolute(),
        build_path=build.expanduser().absolute(),
        environments_from_option=path is not None,
    )
