"""The build state of each environment, derived only from files (no uv, no resolution).

This is what ``env list`` and ``doctor`` report. It compares the definition with the manifest,
like the operator does, so "built" here means the operator will accept the venv.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_isolation.cli.settings import Settings
from airflow_isolation.core.environment import (
    BuildManifest,
    EnvironmentDefinition,
    EnvironmentError_,
    definition_digest,
    list_environment_names,
    load_definition,
    read_manifest,
)

BUILT = "built"
OUTDATED = "outdated"
NOT_BUILT = "not built"
BROKEN = "broken"
INVALID = "invalid"


@dataclass(frozen=True)
class EnvironmentStatus:
    """One environment's definition (if it parses), its manifest (if any) and the verdict."""

    name: str
    state: str
    definition: EnvironmentDefinition | None = None
    manifest: BuildManifest | None = None
    problem: str = ""

    @property
    def label(self) -> str:
        if self.state == BUILT and self.manifest is not None:
            return f"built {self.manifest.content_hash[:12]}"
        if self.state == OUTDATED:
            return "outdated (definition changed)"
        if self.state == BROKEN:
            return "broken (rebuild with --force)"
        if self.state == INVALID:
            return "invalid definition"
        return NOT_BUILT

    def as_json(self) -> dict[str, Any]:
        definition = self.definition
        manifest = self.manifest
        return {
            "name": self.name,
            "python": definition.python if definition else None,
            "requirements": list(definition.requirements) if definition else None,
            "description": definition.description if definition else None,
            "state": self.state,
            "label": self.label,
            "content_hash": manifest.content_hash if manifest else None,
            "venv_path": manifest.venv_path if manifest else None,
            "python_version": manifest.python_version if manifest else None,
            "built_at": manifest.built_at if manifest else None,
            "problem": self.problem or None,
        }


def environment_status(settings: Settings, name: str) -> EnvironmentStatus:
    try:
        definition = load_definition(settings.environments_path, name)
    except EnvironmentError_ as exc:
        return EnvironmentStatus(name, INVALID, problem=str(exc))
    try:
        manifest = read_manifest(settings.build_path, name)
    except EnvironmentError_ as exc:
        return EnvironmentStatus(name, BROKEN, definition, problem=str(exc))
    if manifest is None:
        return EnvironmentStatus(name, NOT_BUILT, definition)
    if manifest.definition_digest != definition_digest(settings.environments_path, name):
        return EnvironmentStatus(name, OUTDATED, definition, manifest)
    if not Path(manifest.interpreter).is_file():
        return EnvironmentStatus(name, BROKEN, definition, manifest, f"{manifest.interpreter} is missing")
    return EnvironmentStatus(name, BUILT, definition, manifest)


def all_statuses(settings: Settings) -> list[EnvironmentStatus]:
    return [environment_status(settings, name) for name in list_environment_names(settings.environments_path)]
