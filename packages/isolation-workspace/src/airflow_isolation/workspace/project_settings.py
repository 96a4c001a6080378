"""``isolation.toml``: the project settings the CLI and the operator both honour.

``isolationctl init`` writes it at a project's root. The CLI finds it from the working directory
upwards; a worker finds it through ``AIRFLOW__ISOLATION__SETTINGS_FILE`` (Airflow configuration
``[isolation]`` options still win on the host, as Airflow users expect). Relative paths in the
file are relative to the file, so the project can move.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import msgspec

from airflow_isolation.core.errors import IsolationError
from airflow_isolation.workspace.settings_table import DEFAULT_BACKEND

SETTINGS_FILE = "isolation.toml"
SETTINGS_FILE_VAR = "AIRFLOW__ISOLATION__SETTINGS_FILE"
BACKENDS = ("venv", "docker", "kubernetes")


class SettingsError(IsolationError):
    """A missing or malformed settings file."""


class ProjectSettings(msgspec.Struct, forbid_unknown_fields=True):
    """Unknown keys are refused so a misspelt setting is reported, not ignored. Keys that are also
    ``[isolation]`` options (``in_project_file`` in the settings table) share their defaults."""

    default_backend: str = DEFAULT_BACKEND.default
    registry: Optional[str] = None
    base_image: Optional[str] = None
    environments_path: Optional[str] = None
    build_path: Optional[str] = None
    source: Optional[str] = None

    def resolve(self, value: Optional[str]) -> Optional[Path]:
        """A path setting made absolute relative to the settings file."""
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_absolute() and self.source:
            path = Path(self.source).parent / path
        return path


def find_settings_file(start: Optional[Path] = None) -> Optional[Path]:
    explicit = os.environ.get(SETTINGS_FILE_VAR)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise SettingsError(
                f"${SETTINGS_FILE_VAR}={explicit} does not exist: point it at your project's "
                f"{SETTINGS_FILE} (create one with `isolationctl init`) or unset it"
            )
        return path
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        candidate = folder / SETTINGS_FILE
        if candidate.is_file():
            return candidate
    return None


def load_settings(path: Optional[Path]) -> ProjectSettings:
    if path is None:
        return ProjectSettings()
    try:
        settings = msgspec.toml.decode(Path(path).read_bytes(), type=ProjectSettings)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
        raise SettingsError(
            f"{path} is not a valid {SETTINGS_FILE}: {exc}. Allowed keys: "
            f"{', '.join(f for f in ProjectSettings.__struct_fields__ if f != 'source')}."
        ) from exc
    if settings.default_backend not in BACKENDS:
        raise SettingsError(
            f"{path}: default_backend = {settings.default_backend!r} is not a backend; use one of "
            f"{', '.join(BACKENDS)}"
        )
    return msgspec.structs.replace(settings, source=str(Path(path).absolute()))
