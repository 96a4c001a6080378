"""Environment definitions and build manifests: the contract between CLI and operator.

An environment is a folder ``<environments_path>/<name>/`` holding ``environment.toml``. The CLI
builds it into ``<build_path>/venvs/<name>/<content-hash>/`` and then atomically writes
``<build_path>/venvs/<name>/current.json``; the operator only ever reads that manifest, so it never
sees a half-built venv and needs neither the CLI nor uv at run time. Builds live outside the
environments folder so a DAG processor scanning the DAGs folder never walks into a venv.

Image builds follow the same rule: the CLI writes ``<build_path>/images/<name>/current.json``
(:class:`ImageManifest`) after the image exists (and updates it after a push); the Docker backend
reads it to find the image. Where the runtime lives in the image and where the request and result
files go is part of the launch protocol (``airflow_isolation.core.launch``).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import List, Optional, Type, TypeVar

import msgspec

from airflow_isolation.core.errors import IsolationError

DEFINITION_FILE = "environment.toml"
MANIFEST_FILE = "current.json"
ENVIRONMENTS_PATH_VAR = "AIRFLOW__ISOLATION__ENVIRONMENTS_PATH"
BUILD_PATH_VAR = "AIRFLOW__ISOLATION__BUILD_PATH"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
M = TypeVar("M", bound=msgspec.Struct)


class IsolationEnvironmentError(IsolationError):
    """A missing, malformed or unbuilt environment."""


class EnvironmentDefinition(msgspec.Struct, forbid_unknown_fields=True):
    """``environment.toml``. Unknown keys are refused: a typo must not be silently ignored."""

    python: str = "3.11"
    requirements: List[str] = []
    packages: List[str] = []
    base_image: Optional[str] = None
    description: str = ""
    preload: List[str] = []
    """Modules the venv backend's warm runtime imports once, so tasks start with them imported."""
    constraints: Optional[str] = None
    """A constraints file (relative to this definition's folder) or URL the lock is resolved under
    (``uv pip compile -c``), e.g. Airflow's own constraints for its version and Python."""


IMAGE_REPOSITORY_PREFIX = "airflow-isolation"
IMAGE_TAG_LENGTH = 24
LABEL_PREFIX = "io.airflow-isolation."
"""Docker labels: images carry ``environment``/``content-hash``; containers also carry ``managed``,
``host``, ``owner-pid`` and the task identity so a sweep can find orphans."""
RUNTIME_SCHEMA_LABEL = LABEL_PREFIX + "runtime-schema"
"""An image's ``ImageManifest.runtime_schema``, for a host that has only the image to go by."""


class BuildManifest(msgspec.Struct):
    """What the CLI built last for an environment, as the operator needs it."""

    name: str
    content_hash: str
    definition_digest: str
    venv_path: str
    python_version: str
    runtime_version: str
    built_at: str
    runtime_schema: str = ""

    @property
    def interpreter(self) -> Path:
        return Path(self.venv_path) / "bin" / "python"


class ImageManifest(msgspec.Struct):
    """The image the CLI built (and possibly pushed) for an environment.

    ``image`` is the local reference ``airflow-isolation/<name>:<tag>``; ``pushed`` lists the
    registry references it was pushed under, which a worker without the local image pulls.
    """

    name: str
    content_hash: str
    definition_digest: str
    image: str
    image_id: str
    base_image: str
    base_image_id: str
    python_version: str
    runtime_version: str
    platform: str
    built_at: str
    pushed: List[str] = []
    runtime_schema: str = ""

    @property
    def tag(self) -> str:
        return image_tag(self.content_hash)


def image_repository(name: str) -> str:
    return f"{IMAGE_REPOSITORY_PREFIX}/{validate_name(name)}"


def image_tag(content_hash: str) -> str:
    return content_hash[:IMAGE_TAG_LENGTH]


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise IsolationEnvironmentError(
            f"environment name {name!r} is invalid: use 1-63 lowercase letters, digits, '.', '_' "
            "or '-', starting with a letter or digit (e.g. 'pandas1')"
        )
    return name


def default_build_path() -> Path:
    explicit = os.environ.get(BUILD_PATH_VAR)
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "airflow-isolation"


def definition_path(environments_path: Path, name: str) -> Path:
    return Path(environments_path) / validate_name(name) / DEFINITION_FILE


def load_definition(environments_path: Path, name: str) -> EnvironmentDefinition:
    path = definition_path(environments_path, name)
    if not path.is_file():
        known = list_environment_names(environments_path)
        raise IsolationEnvironmentError(
            f"environment {name!r} not found: {path} does not exist (known environments in "
            f"{environments_path}: {', '.join(known) or 'none'}). Create it with "
            f"`isolationctl env create {name}` or set {ENVIRONMENTS_PATH_VAR} to the folder "
            "that holds your environments."
        )
    try:
        return msgspec.toml.decode(path.read_bytes(), type=EnvironmentDefinition)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
        raise IsolationEnvironmentError(
            f"{path} is not a valid environment definition: {exc}. Allowed keys: "
            f"{', '.join(EnvironmentDefinition.__struct_fields__)}."
        ) from exc


def definition_digest(environments_path: Path, name: str) -> str:
    return hashlib.sha256(definition_path(environments_path, name).read_bytes()).hexdigest()


def list_environment_names(environments_path: Path) -> List[str]:
    root = Path(environments_path)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / DEFINITION_FILE).is_file())


def manifest_path(build_path: Path, name: str) -> Path:
    return Path(build_path) / "venvs" / validate_name(name) / MANIFEST_FILE


def read_manifest(build_path: Path, name: str) -> Optional[BuildManifest]:
    return _read_json(
        manifest_path(build_path, name), BuildManifest, f"isolationctl env build {name} --force"
    )


def _read_json(path: Path, kind: Type[M], rebuild: str) -> Optional[M]:
    if not path.is_file():
        return None
    try:
        return msgspec.json.decode(path.read_bytes(), type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
        raise IsolationEnvironmentError(
            f"build manifest {path} is unreadable ({exc}); rebuild with `{rebuild}`"
        ) from exc


def _refuse_outdated(environments_path: Path, name: str, built: str, digest: str, fix: str) -> None:
    if digest != definition_digest(environments_path, name):
        raise IsolationEnvironmentError(
            f"environment {name!r} changed since it was built ({definition_path(environments_path, name)} "
            f"differs from the {built}): {fix}"
        )


def resolve_venv(environments_path: Path, build_path: Path, name: str) -> BuildManifest:
    """The built venv of ``name``, refusing one that is missing or older than its definition."""
    load_definition(environments_path, name)
    manifest = read_manifest(build_path, name)
    build = f"isolationctl env build {name} --target venv"
    fix = f"run `{build}`"
    if manifest is None:
        raise IsolationEnvironmentError(
            f"environment {name!r} has not been built as a venv under {build_path}: {fix} on this "
            f"machine (or set {BUILD_PATH_VAR} to where it was built)"
        )
    built = f"build {manifest.content_hash[:12]}"
    _refuse_outdated(environments_path, name, built, manifest.definition_digest, fix)
    if not manifest.interpreter.is_file():
        raise IsolationEnvironmentError(
            f"environment {name!r}: the built interpreter {manifest.interpreter} is gone: "
            f"run `{build} --force`"
        )
    return manifest


def image_manifest_path(build_path: Path, name: str) -> Path:
    return Path(build_path) / "images" / validate_name(name) / MANIFEST_FILE


def read_image_manifest(build_path: Path, name: str) -> Optional[ImageManifest]:
    rebuild = f"isolationctl env build {name} --target image --force"
    return _read_json(image_manifest_path(build_path, name), ImageManifest, rebuild)


def resolve_image(environments_path: Path, build_path: Path, name: str) -> ImageManifest:
    """The built image of ``name``, refusing one that is missing or older than its definition."""
    load_definition(environments_path, name)
    manifest = read_image_manifest(build_path, name)
    fix = f"run `isolationctl env build {name} --target image`"
    if manifest is None:
        raise IsolationEnvironmentError(
            f"environment {name!r} has not been built as an image under {build_path}: {fix} (and "
            f"`isolationctl env push {name} --registry HOST:PORT` for other workers), set "
            f"{BUILD_PATH_VAR} to where it was built, or pass an explicit image"
        )
    _refuse_outdated(environments_path, name, f"image {manifest.image}", manifest.definition_digest, fix)
    return manifest
