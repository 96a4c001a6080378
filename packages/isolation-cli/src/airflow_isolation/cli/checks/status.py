"""The build state of each environment, derived only from files (no uv, no Docker, no resolution).

This is what ``env list`` and ``doctor`` report. It compares the definition with the manifests,
like the operator does, so "built" here means the operator will accept the venv or the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_isolation.cli.checks.runtime_schema import rebuild_command, schema_lag
from airflow_isolation.cli.settings import Settings
from airflow_isolation.workspace.environment import (
    BuildManifest,
    EnvironmentDefinition,
    ImageManifest,
    IsolationEnvironmentError,
    definition_digest,
    list_environment_names,
    load_definition,
    read_image_manifest,
    read_manifest,
)

BUILT = "built"
OUTDATED = "outdated"
NOT_BUILT = "not built"
BROKEN = "broken"
INVALID = "invalid"


@dataclass(frozen=True)
class ImageStatus:
    """The image side of an environment: its manifest (if any) and the verdict."""

    state: str
    manifest: ImageManifest | None = None
    problem: str = ""

    @property
    def registries(self) -> list[str]:
        """Where the image was pushed, one entry per registry (a human tag is not a new place)."""
        if self.manifest is None:
            return []
        return list(dict.fromkeys(reference.split("/", 1)[0] for reference in self.manifest.pushed))

    @property
    def label(self) -> str:
        manifest = self.manifest
        if self.state == BUILT and manifest is not None:
            return f"built {manifest.tag[:12]}"
        if self.state == OUTDATED:
            return "outdated (definition changed)"
        if self.state == BROKEN:
            return "broken (rebuild with --force)"
        return NOT_BUILT

    def as_json(self) -> dict[str, Any]:
        manifest = self.manifest
        return {
            "state": self.state,
            "label": self.label,
            "image": manifest.image if manifest else None,
            "image_id": manifest.image_id if manifest else None,
            "tag": manifest.tag if manifest else None,
            "content_hash": manifest.content_hash if manifest else None,
            "pushed": list(manifest.pushed) if manifest else [],
            "base_image": manifest.base_image if manifest else None,
            "platform": manifest.platform if manifest else None,
            "python_version": manifest.python_version if manifest else None,
            "built_at": manifest.built_at if manifest else None,
            "runtime_schema": manifest.runtime_schema if manifest else None,
            "problem": self.problem or None,
        }


@dataclass(frozen=True)
class EnvironmentStatus:
    """One environment's definition (if it parses), its manifests (if any) and the verdicts."""

    name: str
    state: str
    definition: EnvironmentDefinition | None = None
    manifest: BuildManifest | None = None
    problem: str = ""
    image: ImageStatus = ImageStatus(NOT_BUILT)

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

    def schema_lags(self, path_args: str = "") -> list[str]:
        """Per current build (venv, image), what its runtime lacks of this host's schema, and the fix."""
        builds = (
            ("venv", self.state, self.manifest, False),
            ("image", self.image.state, self.image.manifest, True),
        )
        return [
            f"{kind} {lag}; rebuild with `{rebuild_command(self.name, image, path_args)}`"
            for kind, state, manifest, image in builds
            if state == BUILT and manifest is not None and (lag := schema_lag(manifest.runtime_schema))
        ]

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
            "runtime_schema": manifest.runtime_schema if manifest else None,
            "problem": self.problem or None,
            "image": self.image.as_json(),
        }


def environment_status(settings: Settings, name: str) -> EnvironmentStatus:
    try:
        definition = load_definition(settings.environments_path, name)
    except IsolationEnvironmentError as exc:
        return EnvironmentStatus(name, INVALID, problem=str(exc))
    digest = definition_digest(settings.environments_path, name)
    image = image_status(settings, name, digest)
    try:
        manifest = read_manifest(settings.build_path, name)
    except IsolationEnvironmentError as exc:
        return EnvironmentStatus(name, BROKEN, definition, problem=str(exc), image=image)
    if manifest is None:
        return EnvironmentStatus(name, NOT_BUILT, definition, image=image)
    if manifest.definition_digest != digest:
        return EnvironmentStatus(name, OUTDATED, definition, manifest, image=image)
    if not Path(manifest.interpreter).is_file():
        return EnvironmentStatus(
            name, BROKEN, definition, manifest, f"{manifest.interpreter} is missing", image=image
        )
    return EnvironmentStatus(name, BUILT, definition, manifest, image=image)


def image_status(settings: Settings, name: str, digest: str) -> ImageStatus:
    """From the image manifest alone: whether the image is present is the engine's business
    (``doctor`` asks it); ``env list`` must work where Docker is not installed."""
    try:
        manifest = read_image_manifest(settings.build_path, name)
    except IsolationEnvironmentError as exc:
        return ImageStatus(BROKEN, problem=str(exc))
    if manifest is None:
        return ImageStatus(NOT_BUILT)
    if manifest.definition_digest != digest:
        return ImageStatus(OUTDATED, manifest)
    return ImageStatus(BUILT, manifest)


def all_statuses(settings: Settings) -> list[EnvironmentStatus]:
    return [environment_status(settings, name) for name in list_environment_names(settings.environments_path)]
